"""environment.yml (conda) and pyproject.toml (pip) describe the same pinned environment."""

import re
import tomllib
from pathlib import Path

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


def test_readme_preset_table_matches_the_code():
    from dqn_tf.presets import preset_table

    readme = (ROOT / "README.md").read_text()
    assert preset_table() in readme, "regenerate with: python -m dqn_tf presets --markdown"
    for command in ("make install", "make test", "make train"):
        assert command in readme
