"""Progress bars: in a terminal (a pseudo-terminal here) and a notebook; never in a pipe."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# tqdm's bar: "desc:  42%|####    | 1050/2500 [00:02<00:03, 512.3step/s, avg100=-190.1]"
BAR = re.compile(r"(train|test|replay|sweep): +\d+%\|.*\| *\d+/\d+ \[")
TINY = ["--preset", "book", "--set", "memory_size=2000", "--seed", "0"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "DQN_TF_"))}
    return {**env, "SDL_VIDEODRIVER": "dummy", **extra}


def _in_terminal(
    args: list[str], timeout: float = 300, size: tuple[int, int] = (30, 120), **env: str
) -> tuple[int, str]:
    """Run ``python -m dqn_tf ARGS`` with a pseudo-terminal as its stdout and stderr, as in a
    terminal; return its exit status and everything it wrote."""
    leader, follower = pty.openpty()
    # Rows and columns, as a terminal window reports its size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dqn_tf", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=_env(**env),
        cwd=ROOT,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    proc.wait(timeout=60)
    return proc.returncode, b"".join(chunks).decode("utf-8", errors="replace")


def _lines(text: str) -> list[str]:
    """What a terminal ends up showing on each line (a carriage return redraws the line)."""
    return [part for line in text.split("\n") for part in line.split("\r") if part.strip()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, int, str]:
    run = tmp_path_factory.mktemp("progress") / "run"
    rc, text = _in_terminal(
        ["train", *TINY, "--steps", "1500", "--log-every", "3"] + ["--run-dir", str(run)]
    )
    return run, rc, text


def test_train_in_a_terminal_shows_a_bar_with_the_book_lines_above_it(trained):
    run, rc, text = trained
    assert rc == 0, text[-3000:]
    bars = [m.group(0) for m in BAR.finditer(text)]
    assert bars and all(b.startswith("train:") for b in bars)
    last = [part for part in _lines(text) if BAR.search(part)][-1]
    assert "/1500 [" in last and "step/s" in last and "avg100=" in last and "eps=" in last
    assert re.search(r"1500/1500 \[", text)  # every step counted, the cut episode's too
    # The book's lines stay whole, each on a line of its own.
    episode_lines = [p for p in _lines(text) if "score:" in p]
    assert episode_lines
    assert all(re.fullmatch(r"episode: \d+ score: .* steps/s\)", p) for p in episode_lines)


def test_evaluate_and_replay_in_a_terminal_show_a_bar(trained):
    run, rc, _ = trained
    assert rc == 0
    rc, text = _in_terminal(["evaluate", "--run-dir", str(run), "--episodes", "5"])
    assert rc == 0, text[-3000:]
    assert re.search(r"test: 100%\|.*\| 5/5 \[.*episode/s, avg100=", text), text[-2000:]
    assert "5 greedy episodes: mean" in text
    rc, text = _in_terminal(["replay", "--run-dir", str(run), "--gif", str(run / "a.gif")])
    assert rc == 0, text[-3000:]
    steps = int(re.search(r"return -?[\d.]+, (\d+) steps\)", text).group(1))
    # The replay's bar counts the episode's game steps as they are played, and ends with it.
    assert re.search(rf"replay: 100%\|.*\| {steps}/{steps} \[.*step/s, return=", text)


def test_a_terminal_that_reports_no_size_still_gets_a_bar(trained):
    run, _, _ = trained
    rc, text = _in_terminal(
        ["evaluate", "--run-dir", str(run), "--episodes", "3"], size=(0, 0), COLUMNS="80"
    )
    assert rc == 0, text[-3000:]
    assert re.search(r"test: 100%\|.*\| 3/3 \[", text), text[-2000:]


def test_no_bar_with_no_progress_or_json_in_a_terminal(trained):
    run, _, _ = trained
    for extra in (["--no-progress"], ["--json"]):
        rc, text = _in_terminal(["evaluate", "--run-dir", str(run), "--episodes", "2", *extra])
        assert rc == 0, text[-3000:]
        assert not BAR.search(text), text
        assert "2 greedy episodes" in text


def test_no_bar_when_stdout_is_not_a_terminal(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", *TINY, "--episodes", "2", "--log-every", "1"]
        + ["--run-dir", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "episode: 1 score:" in proc.stdout
    assert not BAR.search(proc.stdout + proc.stderr)
    assert "\r" not in proc.stdout + proc.stderr


def test_sweep_bar_counts_the_trials_that_end():
    """The sweep's Tune callback moves the bar by each finished or failed trial and prints
    its line through it."""
    from dqn_tf import sweep as sweep_module

    class Bar:
        def __init__(self):
            self.n, self.lines = 0, []

        def update(self, n):
            self.n += n

        def write(self, line, file=None):
            self.lines.append(line)

    class TuneTrial:  # what the callback reads of Tune's trial: its config and last report
        def __init__(self, seed):
            self.config = {"setting": "lr=1", "seed": seed}
            self.last_result = {"status": "finished", "steps": 300}
            self.error_file = "error.txt"

    trials = [sweep_module.Trial(i, "lr=1", {"lr": 1}, i, None, Path(f"s{i}")) for i in (0, 1)]
    bar, ended = Bar(), {}
    callback = sweep_module._progress_callback(trials, ended, True, bar)
    callback.on_trial_complete(0, [], TuneTrial(0))
    assert bar.n == 1 and ended[0] == "finished"
    callback.on_trial_error(0, [], TuneTrial(1))
    assert bar.n == 2 and ended[1] == "error"
    assert [line[:5] for line in bar.lines] == ["[1/2]", "[2/2]"]


NOTEBOOK_CELL = """
from dqn_tf import Environment, get_preset
env = Environment(config=get_preset("book", memory_size=2000), run_dir={run!r})
returns = env.train(episodes=3, log_every=1)
"""


@pytest.mark.parametrize("progress", ["", "0"])
def test_notebook_shows_one_widget_bar_and_the_book_lines(tmp_path, monkeypatch, progress):
    """In Jupyter, tqdm.auto draws one widget (saved once, not once per update); with
    DQN_TF_PROGRESS=0 (``make notebooks``) there is none."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("DQN_TF_PROGRESS", progress)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL.format(run=str(tmp_path / "run")))]
    NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    outputs = nb.cells[0].outputs
    assert [o for o in outputs if o.output_type == "error"] == []
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) == (0 if progress == "0" else 1)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert [line[:10] for line in text.splitlines() if "score:" in line] == [
        "episode: 0",
        "episode: 1",
        "episode: 2",
    ]
    assert "\r" not in text
