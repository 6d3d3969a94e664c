"""The two notebooks: executed top to bottom in quick mode, and checked for their structure.

Each notebook is copied into a temporary ``notebooks/`` folder and run there, so its run
folders (``../runs/notebooks/...``) land in the temporary folder and the committed notebooks
never receive outputs.
"""

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["lunar_lander", "rocket_lander"]
KERNEL_ENV = {"DQN_TF_QUICK": "1", "SDL_VIDEODRIVER": "dummy", "TF_CPP_MIN_LOG_LEVEL": "2"}
PACKAGE_CLASS = re.compile(r"^\s*class\s+(Brain|Memory|Agent|Environment)\b", re.MULTILINE)
MAX_BYTES = 5 * 1024 * 1024


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in _code_cells(nb) for output in cell.get("outputs", [])]


def _data(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [out["data"][mime] for out in _outputs(nb) if mime in out.get("data", {})]


# --- structure (no execution) ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_first_code_cell_is_the_parameters_cell(name):
    cells = _code_cells(_read(name))
    assert "parameters" in cells[0].metadata.get("tags", [])
    assert [c for c in cells[1:] if "parameters" in c.metadata.get("tags", [])] == []
    assert "SEED" in cells[0].source


@pytest.mark.parametrize("name", NAMES)
def test_no_second_copy_of_the_package_classes(name):
    nb = _read(name)
    for cell in _code_cells(nb):
        assert not PACKAGE_CLASS.search(cell.source), cell.source
    # The classes are shown from the package's source instead.
    assert any("show_source(" in cell.source for cell in _code_cells(nb)[2:])


@pytest.mark.parametrize("name", NAMES)
def test_quick_mode_switch_follows_the_parameters(name):
    cells = _code_cells(_read(name))
    assert 'os.environ.get("DQN_TF_QUICK") == "1"' in cells[1].source


# --- execution in quick mode ------------------------------------------------------------------


def _execute(name: str, folder: Path) -> tuple[nbformat.NotebookNode, float, int]:
    """Run a copy of the notebook in ``folder``; return it, the seconds taken and its size."""
    path = folder / f"{name}.ipynb"
    shutil.copy(NOTEBOOKS / path.name, path)
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # Raises CellExecutionError, naming the cell, if any cell fails.
    NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}
    ).execute()
    seconds = time.perf_counter() - started
    nbformat.write(nb, path)
    return nb, seconds, path.stat().st_size


# One test per notebook, so that each runs once however pytest-xdist spreads the tests.
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_quick_mode(name, tmp_path, monkeypatch):
    for key, value in KERNEL_ENV.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb, seconds, size = _execute(name, folder)
    print(f"{name}: executed in quick mode in {seconds:.0f} s, {size:,} bytes")

    assert [o for o in _outputs(nb) if o.output_type == "error"] == []
    assert all(cell.execution_count is not None for cell in _code_cells(nb))
    assert size < MAX_BYTES, f"{name} is {size} bytes with outputs"
    assert (tmp_path / "runs" / "notebooks").is_dir()  # run folders stay out of the repository

    gifs = _data(nb, "image/gif")
    assert gifs, f"{name} shows no GIF"
    assert all(gif.startswith("R0lGOD") for gif in gifs)  # base64 of b"GIF8"
    assert _data(nb, "image/png"), f"{name} shows no learning curve"
    if name == "rocket_lander":  # seed 000's display_frames_as_gif: an HTML player
        assert any("<script" in html for html in _data(nb, "text/html"))
