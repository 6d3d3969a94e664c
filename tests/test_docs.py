"""The README and docs/: rendered by `make docs` from the results files, and true to the repo."""

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def _render():
    spec = importlib.util.spec_from_file_location("render", ROOT / "docs" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_page_is_what_make_docs_renders(page):
    assert _render().render(page) == page.read_text(), (
        f"{page.relative_to(ROOT)} differs from what `make docs` renders: run `make docs` "
        "(edit the prose around the <!-- docs: ... --> blocks, never inside them)"
    )


def test_every_results_file_says_what_measured_it_where_and_when():
    files = sorted((ROOT / "docs" / "results").glob("*.json"))
    assert files
    known = _render().COMMANDS
    for path in files:
        doc = json.loads(path.read_text())
        assert path.stem in known, f"{path.name}: no command in docs/render.py's COMMANDS"
        assert doc["figures"], path.name
        assert doc["command"].startswith("python "), path.name
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", doc["date"]), path.name
        assert doc["machine"]["cpu"] and doc["machine"]["cores"] >= 1, path.name
        assert isinstance(doc["machine"]["quiet"], bool), path.name
        assert re.fullmatch(r"[0-9a-f]{40}", doc["commit"]), path.name


def test_the_readme_is_a_front_page_in_a_newcomers_order():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == [
        "Quick start",
        "The learning path",
        "Results at a glance",
        "Using the package",
        "Differences from the originals",
        "Further reading",
        "Layout",
        "Credits and licence",
    ]
    for gif in ("docs/lunar_lander.gif", "docs/rocket_lander.gif"):
        assert f'src="{gif}"' in text and (ROOT / gif).is_file()


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for a page's headings."""
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository_or_go_to_public_pages(page):
    text = page.read_text()
    for link in _links(text):
        if link.startswith("https://"):
            continue
        assert "://" not in link and not link.startswith("/"), link
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.is_relative_to(ROOT) and path.exists(), f"{page.name}: {link}"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path.read_text()), f"{page.name}: {link}"


def test_the_readme_names_the_python_the_commands_and_the_files_that_exist():
    text = README.read_text()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = map(int, re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires).groups())
    versions = [f"3.{minor}" for minor in range(low, high)]
    assert f"Python {', '.join(versions[:-1])} or {versions[-1]}" in text
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"(?:^|`)make ([a-z][\w-]*)", text, re.M):
        assert target in targets, f"make {target}"
    for command in ("make install", "make train", "make test", "jupyter lab notebooks/"):
        assert command in text
    # `make install` installs the pinned `jupyter`, which brings JupyterLab.
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("jupyter==") for d in dependencies)
    for name in re.findall(r"`([\w./-]+\.(?:py|toml|yml|ipynb|md|gif|json))`", text):
        if name.startswith(("runs/", ".venv/")):
            continue
        found = (ROOT / name).exists() or (ROOT / "dqn_tf" / name).exists()
        assert found, f"the README names {name}, which is not in the repository"


def _prose(text: str) -> str:
    """A page without its rendered blocks (those come from the package and the results)."""
    return re.sub(r"<!-- docs: .*? -->.*?<!-- /docs -->", "", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_originals_are_called_by_their_names(page):
    prose = _prose(page.read_text())
    for wrong in re.findall(r"seed 00[02]|\bthe seeds\b|\bseeds'", prose):
        pytest.fail(f"{page.name} says {wrong!r}: say 'the book chapter' or 'the Keras notebook'")
