"""The notebooks: executed top to bottom in quick mode, and checked for their structure.

Each notebook is copied, with the modules beside it (``course.py``, ``solutions.py``), into a
temporary ``notebooks/`` folder and run there with every exercise solved
(``DQN_TF_SOLVE=1``), so its run folder (``../runs/notebooks/<name>/``) lands in the temporary
folder, the committed notebooks never receive outputs, and any file written anywhere else in
the temporary folder is seen. A file of the repository that a notebook reads (``READS``) is
copied to its place in the temporary folder first.
"""

import ast
import difflib
import inspect
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["lunar_lander", "rocket_lander", "after_the_book"]
# Files of the repository a notebook reads (paths from its root), never writes: after_the_book
# draws the ablation from its committed results and never re-runs it.
READS = {"after_the_book": ["docs/results/after_the_book_ablation.json"]}
# As a user runs them: no TF_CPP_MIN_LOG_LEVEL, so TensorFlow's start-up lines would show;
# without progress bars, as `make notebooks` executes them (tests/test_progress.py has one).
# Every exercise filled in from notebooks/solutions.py, so that every check cell must pass.
KERNEL_ENV = {
    "DQN_TF_QUICK": "1",
    "SDL_VIDEODRIVER": "dummy",
    "DQN_TF_PROGRESS": "0",
    "DQN_TF_SOLVE": "1",
}
# TensorFlow's C++ log lines below ERROR, whatever their sentence (see dqn_tf/quiet.py).
BELOW_ERROR = re.compile(r"^(?:[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: All log)", re.MULTILINE)
GIF_URI = re.compile(r"data:image/gif;base64,([A-Za-z0-9+/=]+)")
PACKAGE_CLASS = re.compile(r"^\s*class\s+(Brain|Memory|Agent|Environment)\b", re.MULTILINE)
MAX_BYTES = 5 * 1024 * 1024
# A listing a learner reads in one go: lines of each object that show_source prints.
MAX_LISTING_LINES = 26
# The originals are called by their titles; "seed" means a random seed only.
ORIGINALS_AS_SEEDS = re.compile(r"seed[ _-]?00[02]|\bthe seeds\b", re.IGNORECASE)
MIN_EXERCISES = 5
CHECK_TAG = "exercise-check"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in _code_cells(nb) for output in cell.get("outputs", [])]


def _data(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [out["data"][mime] for out in _outputs(nb) if mime in out.get("data", {})]


def _gifs(outputs: list[nbformat.NotebookNode]) -> list[str]:
    """The base64 payload of every GIF the outputs show, whatever the MIME type carries it."""
    found = []
    for out in outputs:
        data = out.get("data", {})
        if "image/gif" in data:
            found.append(data["image/gif"].strip())
        found += GIF_URI.findall(data.get("text/html", ""))
    return found


def _streams(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in _outputs(nb) if o.output_type == "stream")


def _check_html_export(nb: nbformat.NotebookNode) -> str:
    """Export as `jupyter nbconvert --to html` does; every GIF must be in the page."""
    html, _ = HTMLExporter().from_notebook_node(nb)
    gifs = _gifs(_outputs(nb))
    assert gifs, "the notebook shows no GIF"
    assert all(gif.startswith("R0lGOD") for gif in gifs)  # base64 of b"GIF8"
    missing = [i for i, gif in enumerate(gifs) if gif not in html]
    assert missing == [], f"GIFs {missing} of {len(gifs)} are not in the HTML export"
    assert "IPython.core.display.Image object" not in html
    assert "font-awesome" not in html  # the animation player needs nothing from the network
    return html


def _namespace_of_imports(nb: nbformat.NotebookNode) -> dict:
    """The names the notebook imports, imported here (the package as it is now; the modules
    beside the notebooks from notebooks/)."""
    namespace: dict = {}
    if str(NOTEBOOKS) not in sys.path:
        sys.path.append(str(NOTEBOOKS))
    for cell in _code_cells(nb):
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                exec(compile(ast.Module([node], []), "<notebook imports>", "exec"), namespace)
    return namespace


def _listings(nb: nbformat.NotebookNode) -> list[tuple[int, list[str], str]]:
    """``(cell index, object names, printed text)`` for each cell that calls show_source."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source"
        ]
        if calls:
            assert len(calls) == 1, f"cell {index}: one show_source call per cell"
            names = [ast.unparse(arg) for arg in calls[0].args]
            printed = "".join(o.text for o in cell.get("outputs", []) if o.get("name") == "stdout")
            found.append((index, names, printed))
    return found


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


@pytest.mark.parametrize("name", NAMES)
def test_listings_are_the_package_source_of_today(name):
    """A committed listing that differs from the package's current source fails here:
    re-execute the notebook (`make notebooks`) after changing code it shows."""
    nb = _read(name)
    namespace = _namespace_of_imports(nb)
    listings = _listings(nb)
    assert listings, f"{name} shows no source"
    for index, names, printed in listings:
        expected = "".join(inspect.getsource(eval(n, namespace)) + "\n" for n in names)
        if printed != expected:
            diff = "\n".join(
                difflib.unified_diff(
                    printed.splitlines(), expected.splitlines(), "notebook", "package", lineterm=""
                )
            )
            pytest.fail(f"{name} cell {index} ({', '.join(names)}) is stale:\n{diff[:4000]}")


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_have_no_start_up_noise(name):
    text = _streams(_read(name))
    assert BELOW_ERROR.findall(text) == []


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_hold_no_progress_widgets(name):
    assert _data(_read(name), "application/vnd.jupyter.widget-view+json") == []


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_shows_every_gif_in_an_html_export(name):
    _check_html_export(_read(name))


@pytest.mark.parametrize("name", NAMES)
def test_every_announced_episode_is_shown(name):
    """A cell that prints an episode's outcome ("landed: ...", "in N steps") shows as many
    GIFs as the episodes it announces."""
    for index, cell in enumerate(_read(name).cells):
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", []))
        announced = len(re.findall(r"^.*greedy.*in \d+ (?:steps|decisions)", text, re.M))
        announced = max(announced, len(re.findall(r"landed: (?:True|False)", text)))
        if announced:
            shown = len(_gifs(cell.get("outputs", [])))
            assert shown == announced, f"{name} cell {index}: {announced} episodes, {shown} GIFs"


@pytest.mark.parametrize("name", NAMES)
def test_listings_are_short(name):
    """Each object a notebook lists is at most MAX_LISTING_LINES long: the idea, not the
    plumbing (which the markdown summarises with the file it lives in)."""
    nb = _read(name)
    namespace = _namespace_of_imports(nb)
    for index, names, _ in _listings(nb):
        for n in names:
            lines = len(inspect.getsource(eval(n, namespace)).splitlines())
            assert lines <= MAX_LISTING_LINES, f"{name} cell {index}: {n} is {lines} lines"


def _reader_facing(nb: nbformat.NotebookNode) -> list[str]:
    """The markdown and every output's text: what a reader of the notebook sees."""
    texts = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    for out in _outputs(nb):
        texts.append(out.get("text", ""))
        data = out.get("data", {})
        texts += [data[mime] for mime in ("text/plain", "text/markdown") if mime in data]
        texts.append(GIF_URI.sub("", data.get("text/html", "")))
    return texts


def _originals_as_seeds(nb: nbformat.NotebookNode) -> list[str]:
    return [m.group(0) for text in _reader_facing(nb) for m in ORIGINALS_AS_SEEDS.finditer(text)]


@pytest.mark.parametrize("name", NAMES)
def test_the_originals_are_never_called_seeds(name):
    assert _originals_as_seeds(_read(name)) == []


def _check_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [
        (index, cell)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", [])
    ]


@pytest.mark.parametrize("name", NAMES)
def test_exercises_have_check_cells_and_hidden_solutions(name):
    """At least MIN_EXERCISES exercises, each with a check cell that gives a verdict; the
    solutions are in solutions.py (filled in with SOLVE), never typed in an exercise cell."""
    nb = _read(name)
    checks = _check_cells(nb)
    assert len(checks) >= MIN_EXERCISES, f"{name}: {len(checks)} check cells"
    for index, cell in checks:
        assert "course.verdict(" in cell.source, f"{name} cell {index} gives no verdict"
    parameters = _code_cells(nb)[0].source
    assert 'SOLVE = os.environ.get("DQN_TF_SOLVE") == "1"' in parameters
    exercise_cells = [c for c in _code_cells(nb) if "if SOLVE:" in c.source]
    assert len(exercise_cells) >= MIN_EXERCISES
    for cell in exercise_cells:
        assert "solutions." in cell.source.split("if SOLVE:", 1)[1]


def _written_files(root: Path, name: str) -> list[str]:
    """Files under ``root`` that the notebook wrote outside its own run folder (Python's
    bytecode cache of the modules beside the notebook aside)."""
    copied = {f"notebooks/{name}.ipynb"} | {f"notebooks/{p.name}" for p in NOTEBOOKS.glob("*.py")}
    copied |= set(READS.get(name, []))
    own = f"runs/notebooks/{name}/"
    return [
        rel
        for path in root.rglob("*")
        if path.is_file()
        and (rel := path.relative_to(root).as_posix()) not in copied
        and not rel.startswith(own)
        and "__pycache__" not in path.parts
    ]


# --- execution in quick mode ------------------------------------------------------------------


def _execute(name: str, folder: Path) -> tuple[nbformat.NotebookNode, float, int]:
    """Run a copy of the notebook in ``folder``; return it, the seconds taken and its size."""
    path = folder / f"{name}.ipynb"
    shutil.copy(NOTEBOOKS / path.name, path)
    for module in NOTEBOOKS.glob("*.py"):  # course.py, solutions.py
        shutil.copy(module, folder / module.name)
    for relative in READS.get(name, []):
        (folder.parent / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(NOTEBOOKS.parent / relative, folder.parent / relative)
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
    assert (tmp_path / "runs" / "notebooks" / name).is_dir()  # out of the repository
    assert _written_files(tmp_path, name) == [], "written outside the notebook's run folder"
    for relative in READS.get(name, []):  # read, never changed
        assert (tmp_path / relative).read_bytes() == (NOTEBOOKS.parent / relative).read_bytes()
    assert _originals_as_seeds(nb) == []
    for index, cell in _check_cells(nb):  # every exercise, solved, passes its check
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "✓" in text and "✗" not in text, f"{name} cell {index}: {text[-500:]}"

    assert BELOW_ERROR.findall(_streams(nb)) == []
    _check_html_export(nb)
    assert _data(nb, "image/png"), f"{name} shows no learning curve"
    if name == "rocket_lander":  # seed 000's display_frames_as_gif: an HTML player
        assert any("<script" in html for html in _data(nb, "text/html"))
    if name == "after_the_book":  # the ablation, read: the command that made it, and its table
        results = json.loads((NOTEBOOKS.parent / READS[name][0]).read_text())
        assert f"command:  {results['command']}" in _streams(nb)
        tables = [html for html in _data(nb, "text/html") if "final: mean" in html]
        assert tables and all(
            f">{t['setting']}<" in tables[0] for t in results["figures"]["trials"]
        )
