"""environment.yml (conda) and pyproject.toml (pip) describe the same pinned environment."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.fullmatch(r"\s*(?:-\s*)?([A-Za-z0-9_.\-]+(?:\[[a-z0-9,]+\])?)==([^\s]+)\s*", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["test"])
    assert len(wanted) == len(project["dependencies"]) + len(
        project["optional-dependencies"]["test"]
    ), "every dependency in pyproject.toml is pinned with =="
    yml = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- python=3\.11\s*$", yml, re.M), "conda env uses python 3.11"
    assert _pins(yml.splitlines()) == wanted
    assert project["requires-python"].startswith(">=3.11")


def test_required_packages_are_listed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[\[=<>]", d)[0].lower() for d in project["dependencies"]}
    # the mission's packages, and tensorboard (TF 2.21 no longer brings it)
    assert {"tensorflow", "gymnasium", "numpy", "matplotlib", "jupyter", "imageio"} <= names
    assert "tensorboard" in names
    assert "gymnasium[box2d]==1.4.0" in project["dependencies"]


def test_docs_preset_table_matches_the_code():
    from dqn_tf.presets import preset_table

    page = (ROOT / "docs" / "presets.md").read_text()
    assert preset_table() in page, "regenerate with: make docs"
    readme = (ROOT / "README.md").read_text()
    for command in ("make install", "make test", "make train"):
        assert command in readme


def _supported_python() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^SUPPORTED_PYTHON := (.+)$", makefile, re.M).group(1).split()


def test_makefile_and_pyproject_name_the_same_python_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    low, high = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", project["requires-python"]).groups()
    assert _supported_python() == [f"3.{minor}" for minor in range(int(low), int(high))]


@pytest.mark.parametrize(
    ("python", "says"),
    [("3.10.4", "is Python 3.10.4"), ("", "is not a Python that runs")],
)
def test_make_install_with_another_python_stops_at_once_with_one_line(tmp_path, python, says):
    fake = tmp_path / "python3"
    fake.write_text(f"#!/bin/sh\necho {python}\n" if python else "#!/bin/sh\nexit 127\n")
    fake.chmod(0o755)
    # As a user types it, not as a make inside `make test` (which would announce folders).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "install", f"PYTHON={fake}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert f"{fake} {says}; dqn_tf is tested with Python" in line
    assert " ".join(_supported_python()) in line and "PYTHON=" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["python3"]  # no .venv made


def test_licence_and_the_rocketlander_notice_travel_with_the_code():
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    port = (ROOT / "dqn_tf" / "envs" / "rocket_lander.py").read_text()
    for text in (licence, port):
        assert "Copyright (c) 2021 Sven Niederberger" in text
        assert "https://github.com/EmbersArc/gym-rocketlander" in text
        assert "The above copyright notice and this permission notice shall be included" in (
            " ".join(text.split())
        )
    readme = (ROOT / "README.md").read_text()
    credits = readme[readme.index("## Credits and licence") :]
    for name in ("TensorFlow Deep Learning Projects", "Sven Niederberger", "LICENSE"):
        assert name in credits
