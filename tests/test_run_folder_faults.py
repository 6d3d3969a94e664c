"""A run folder holding things the package did not make: a ``.lock`` that is a link, a fifo or
a folder, the user's own files, a path that is a file. Each is refused in one line or left
alone; nothing that is not the package's own is written, followed or deleted (issue 27)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dqn_tf import cli
from dqn_tf.files import TEMP_NAME, atomic_path
from dqn_tf.run_folder import RunFolderBusy, RunFolderError, holder, lock

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
TINY = ["--preset", "book", "--set", "memory_size=2000"]


def _state(folder: Path) -> dict[str, object]:
    """Every entry under ``folder``: a link's target, a file's bytes, or its kind."""
    state: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            state[str(p)] = ("link", os.readlink(p))
        elif p.is_file():
            state[str(p)] = p.read_bytes()
        else:
            state[str(p)] = "fifo" if p.is_fifo() else "dir"
    return state


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _train(run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", "--run-dir", str(run_dir), *extra],
        capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300,
    )  # fmt: skip


def _one_error_line(err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-episode run, resumable."""
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    assert cli.main(["train", "--episodes", "1", "--run-dir", str(run_dir), *TINY]) == 0
    return run_dir


# --- a .lock the package did not make ----------------------------------------------------------


def test_symlinked_lock_is_refused_and_its_target_kept(trained, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my notes\n")
    (trained / ".lock").unlink()
    (trained / ".lock").symlink_to(notes)
    try:
        before = _state(trained)
        proc = _train(trained, "--episodes", "4", "--resume")
        assert proc.returncode == 2
        _one_error_line(proc.stderr, f"{trained.resolve() / '.lock'} as the run folder's lock")
        assert "symbolic link" in proc.stderr
        assert notes.read_bytes() == b"my notes\n" and _state(trained) == before
    finally:
        (trained / ".lock").unlink()


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p, t: p.symlink_to(t), "a symbolic link"),
        (lambda p, t: p.symlink_to(t.parent / "absent"), "a symbolic link"),  # dangling
        (lambda p, t: os.link(t, p), "a hard link"),
        (lambda p, t: os.mkfifo(p), "not a regular file"),
        (lambda p, t: p.mkdir(), "Is a directory"),
    ],
    ids=["symlink", "dangling-symlink", "hard-link", "fifo", "directory"],
)
def test_lock_that_is_not_a_plain_file_is_refused_and_nothing_changes(tmp_path, capsys, make, kind):
    run_dir, target = tmp_path / "run", tmp_path / "theirs.txt"
    run_dir.mkdir()
    target.write_bytes(b"not yours\n")
    make(run_dir / ".lock", target)
    before = _state(tmp_path)
    with pytest.raises(RunFolderError, match=kind):
        with lock(run_dir):
            pass
    with pytest.raises(RunFolderError, match="as the run folder's lock"):
        holder(run_dir)  # only reads, and must not hang on a fifo either
    # The CLI says so in one line, with exit status 2.
    assert cli.main(["train", "--episodes", "1", "--run-dir", str(run_dir), *TINY]) == 2
    _one_error_line(capsys.readouterr().err, f"{run_dir / '.lock'} as the run folder's lock")
    assert _state(tmp_path) == before


# --- the user's files and the package's leftovers ----------------------------------------------


def test_users_tmp_files_are_kept_across_a_train_and_a_refused_train(tmp_path, capsys):
    run_dir = tmp_path / "u"
    run_dir.mkdir()
    dead = _dead_pid()
    users = {
        ".notes.tmp": b"x\n",
        ".x.tmp123": b"y\n",
        ".config.json.tmp": b"z\n",  # the old naming of temporary files: no longer ours
        f".dqn_tf-{dead}-.tmp": b"w\n",  # our prefix, but not our pattern
    }
    for name, data in users.items():
        (run_dir / name).write_bytes(data)
    (run_dir / f".dqn_tf-{dead}-abc.tmp").symlink_to(tmp_path / "elsewhere")  # not a file
    assert cli.main(["train", "--episodes", "1", "--run-dir", str(run_dir), *TINY]) == 0
    # A refused train: the folder already holds a checkpoint.
    assert cli.main(["train", "--episodes", "1", "--run-dir", str(run_dir), *TINY]) == 2
    assert "already holds a checkpoint" in capsys.readouterr().err
    assert {name: (run_dir / name).read_bytes() for name in users} == users
    assert (run_dir / f".dqn_tf-{dead}-abc.tmp").is_symlink()


def test_own_stale_temporary_files_are_removed_only_once_the_lock_is_held(tmp_path):
    run_dir = tmp_path / "r"
    code = f"""
        import time
        from dqn_tf.run_folder import lock
        with lock({str(run_dir)!r}):
            print("held", flush=True)
            time.sleep(120)
    """
    other = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    dead = _dead_pid()
    stale = [
        run_dir / f".dqn_tf-{dead}-k1ll3d_x.tmp",
        run_dir / f".dqn_tf-{dead}-ab.tmp.weights.h5",
    ]
    live = run_dir / f".dqn_tf-{os.getpid()}-writing.tmp"  # a live process may be writing it
    try:
        assert other.stdout.readline().strip() == "held"
        for path in [*stale, live]:
            path.write_bytes(b"partial")
        with pytest.raises(RunFolderBusy):
            with lock(run_dir):
                pass
        assert all(p.exists() for p in stale)  # not to be cleared while another writer runs
    finally:
        other.kill()
        other.wait()
    with lock(run_dir):
        assert not any(p.exists() for p in stale) and live.exists()


@pytest.mark.parametrize("suffix", [".tmp", ".tmp.weights.h5", ".png"])
def test_temporary_names_are_the_packages_own(tmp_path, suffix):
    with atomic_path(tmp_path / "out", suffix=suffix) as tmp:
        tmp.write_bytes(b"1")
        match = TEMP_NAME.fullmatch(tmp.name)
        assert match and int(match["pid"]) == os.getpid() and tmp.name.endswith(suffix)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# --- a run folder that cannot be one -----------------------------------------------------------


def test_run_dir_that_is_a_file_or_under_a_file_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_bytes(b"keep")
    for run_dir, needle in ((a_file, "exists and is not a folder"),
                            (a_file / "run", "a folder on its path is a file")):  # fmt: skip
        assert cli.main(["train", "--episodes", "1", "--run-dir", str(run_dir), *TINY]) == 2
        _one_error_line(capsys.readouterr().err, needle)
    assert a_file.read_bytes() == b"keep"
    # End to end: the same single line from the command, and no traceback.
    proc = _train(a_file / "run", "--episodes", "1", *TINY)
    assert proc.returncode == 2
    _one_error_line(proc.stderr, f"cannot make run folder {a_file / 'run'}")


def test_folder_not_writable_is_one_line(tmp_path, monkeypatch):
    run_dir = tmp_path / "ro"
    run_dir.mkdir()
    run_dir.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: ask as a user would be answered
        monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    try:
        with pytest.raises(RunFolderError, match=f"run folder {run_dir} is not writable by you"):
            with lock(run_dir):
                pass
        assert list(run_dir.iterdir()) == []
    finally:
        run_dir.chmod(0o755)
