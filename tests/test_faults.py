"""Faults a run folder must survive: signals at any moment (also inside the save, also
several in a row), a full disk, bad values from the command line or a file, and commands
pointed at the run's own files. Each ends with one line, nothing lost, and a run that
resumes to the straight one."""

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dqn_tf import checkpoint as checkpoint_module
from dqn_tf import environment as environment_module
from dqn_tf.cli import main
from dqn_tf.environment import Environment, TrainingInterrupted
from dqn_tf.files import DiskFull
from dqn_tf.presets import ConfigError, get_preset

SMALL = dict(memory_size=2_000, checkpoint_every=1)
CLI = ["--preset", "book", "--set", "memory_size=2000", "--set", "checkpoint_every=1"]
CLI_ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "DQN_TF_PROGRESS": "0"}


def make(run_dir, seed=3, **changes):
    return Environment(
        config=get_preset("book", **{**SMALL, **changes}), seed=seed, run_dir=run_dir
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes (TensorBoard's event files aside: they are
    appended to as a run goes and are not part of what a resume reads)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "tensorboard" not in p.parts
    }


def straight_returns(tmp_path_factory, episodes: int) -> list[float]:
    env = make(tmp_path_factory.mktemp("straight") / "run")
    return env.train(episodes=episodes, log_every=0)


@pytest.fixture(scope="module")
def straight8(tmp_path_factory):
    return straight_returns(tmp_path_factory, 8)


# --- signals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signals", [[signal.SIGINT], [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]]
)
def test_signals_inside_the_final_save_wait_for_it(tmp_path, monkeypatch, straight8, signals):
    """One signal or three in a row, raised in the middle of writing the last checkpoint:
    the save finishes, the run reports the interruption, and the resume equals the
    straight run."""
    real_save = checkpoint_module.save_checkpoint
    raised = []

    def save_with_signals(state, path=None):
        if len(state.episode_rewards) == 5 and not raised:
            for sig in signals:
                os.kill(os.getpid(), sig)  # handled at once, between two bytecodes
                raised.append(sig)
        return real_save(state, path)

    monkeypatch.setattr(environment_module, "save_checkpoint", save_with_signals)
    first = make(tmp_path / "run")
    with pytest.raises(TrainingInterrupted) as info:
        first.train(episodes=5, log_every=0)
    assert raised == signals
    assert signal.Signals(signals[0]).name in str(info.value)
    monkeypatch.setattr(environment_module, "save_checkpoint", real_save)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["episode_rewards"]) == 5  # history and checkpoint agree

    second = make(tmp_path / "run")
    second.resume()
    assert len(second.episode_rewards) == 5
    second.train(epsilon=None, episodes=3, log_every=0)
    assert second.episode_rewards == straight8


def test_a_signal_during_the_episodes_stops_after_the_episode_and_saves(tmp_path, straight8):
    env = make(tmp_path / "run")
    real_end = env._end_of_episode

    def end_with_signal(ret, length, landed=None):
        real_end(ret, length, landed)
        if len(env.episode_rewards) == 2:
            os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGINT)  # a second one only waits

    env._end_of_episode = end_with_signal
    with pytest.raises(TrainingInterrupted, match="SIGHUP: checkpoint of 2 episodes"):
        env.train(episodes=8, log_every=0)
    again = make(tmp_path / "run")
    again.resume()
    again.train(epsilon=None, episodes=6, log_every=0)
    assert again.episode_rewards == straight8


def _cli_train(run_dir: Path, episodes: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dqn_tf", "train", "--episodes", str(episodes), *CLI]
        + ["--seed", "3", "--log-every", "0", "--run-dir", str(run_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLI_ENV,
    )


def test_signals_at_seeded_random_moments_leave_a_run_that_completes_to_the_straight_one(
    tmp_path, straight8
):
    """Whatever the moment (while TensorFlow loads, mid-episode, inside a save) and however
    many signals, running ``train`` again (``--resume`` when a checkpoint is there) ends
    with the straight run's episodes."""
    rng = random.Random(2026)
    kinds = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    for trial in range(4):
        run_dir = tmp_path / f"run{trial}"
        proc = _cli_train(run_dir, 8)
        # Wait until training runs (or not at all, in trial 0: a signal while it starts).
        deadline = time.time() + 120
        while trial and not (run_dir / "config.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        for _ in range(rng.choice([1, 2, 3])):
            if proc.poll() is None:
                proc.send_signal(rng.choice(kinds))
            time.sleep(rng.uniform(0.0, 0.05))
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err[-3000:]
        resume = ["--resume"] if (run_dir / "checkpoint.npz").exists() else []
        if not resume and run_dir.exists():
            shutil.rmtree(run_dir)  # stopped before any checkpoint: nothing to keep
        finish = _cli_train(run_dir, 8, "--json", *resume)
        out, err = finish.communicate(timeout=300)
        assert finish.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1])["episode_rewards"] == straight8


# --- a full disk ----------------------------------------------------------------------------


def _fill_the_disk_on_call(monkeypatch, failing_call: int) -> list[int]:
    """Make the ``failing_call``-th checkpoint write fail as a full disk does."""
    calls = []
    real_savez = np.savez

    def savez(f, **arrays):
        calls.append(1)
        if len(calls) == failing_call:
            f.write(b"x" * 1000)  # part of the file is written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(f, **arrays)

    monkeypatch.setattr(checkpoint_module.np, "savez", savez)
    return calls


def test_a_full_disk_leaves_the_folder_as_the_last_save_left_it(tmp_path, monkeypatch, straight8):
    run_dir = tmp_path / "run"
    make(run_dir).train(episodes=3, log_every=0)
    before = snapshot(run_dir)
    resumed = make(run_dir)
    resumed.resume()
    _fill_the_disk_on_call(monkeypatch, failing_call=2)  # the checkpoint of episode 5
    with pytest.raises(DiskFull, match=r"disk full while saving the run at episode 5 in .*MB"):
        resumed.train(epsilon=None, episodes=5, log_every=0)
    monkeypatch.undo()
    after = snapshot(run_dir)
    # Episode 4's save went through; episode 5's left nothing behind: no temporary file,
    # and checkpoint, history and weights all at episode 4.
    assert sorted(after) == sorted(before)
    history = json.loads(after["history.json"])
    assert len(history["episode_rewards"]) == 4
    check = make(run_dir)
    check.resume()
    assert check.episode_rewards == straight8[:4]
    check.train(epsilon=None, episodes=4, log_every=0)
    assert check.episode_rewards == straight8


def test_a_full_disk_on_the_first_save_leaves_no_weights_or_history(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    _fill_the_disk_on_call(monkeypatch, failing_call=1)
    with pytest.raises(DiskFull):
        make(run_dir).train(episodes=2, log_every=0)
    assert sorted(snapshot(run_dir)) == [".lock", "config.json"]


def _mount_small_disk(path: Path, size: str) -> bool:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def test_a_small_real_disk_is_one_error_line_and_a_consistent_folder(tmp_path):
    """On a real file system that fills up (a 3 MB tmpfs, where mounting is allowed)."""
    disk = tmp_path / "disk"
    if not _mount_small_disk(disk, "3m"):
        pytest.skip("mounting a small tmpfs is not allowed here (the injected faults above run)")
    try:
        run_dir = disk / "run"
        args = ["train", "--preset", "book", "--episodes", "4", "--set", "memory_size=60000"]
        proc = subprocess.run(
            [sys.executable, "-m", "dqn_tf", *args, "--run-dir", str(run_dir), "--log-every", "0"],
            capture_output=True,
            text=True,
            env=CLI_ENV,
            timeout=300,
        )
        assert proc.returncode == 1
        (line,) = proc.stderr.splitlines()
        assert line.startswith("error: disk full while saving the run at episode ")
        assert "MB are free" in line
        # The checkpoint alone (4.4 MB) needs more than the disk: nothing of the save is there.
        assert sorted(snapshot(run_dir)) == [".lock", "config.json"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


# --- values from the command line and from files -------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    assert (
        main(["train", *CLI, "--episodes", "2", "--log-every", "0", "--run-dir", str(run_dir)]) == 0
    )
    return run_dir


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["evaluate", "--seed", "-1"], "--seed must be an integer in 0..4294967295 (got -1)"),
        (["evaluate", "--seed", "4294967296"], "--seed must be an integer in 0..4294967295"),
        (["evaluate", "--episodes", "0"], "--episodes must be an integer >= 1 (got 0)"),
        (["replay", "--gif", "{tmp}/a.gif", "--every", "0"], "--every must be an integer >= 1"),
        (["replay", "--gif", "{tmp}/a.gif", "--scale", "0"], "--scale must be a number in (0, 1]"),
        (["replay", "--gif", "{tmp}/a.gif", "--scale", "1.5"], "--scale must be a number in"),
        (["replay", "--gif", "{run}/weights.weights.h5"], "is one of the run folder's own files"),
        (["replay", "--gif", "{run}/checkpoint.npz"], "is one of the run folder's own files"),
        (["replay", "--gif", "{run}/tensorboard/x.gif"], "is one of the run folder's own files"),
        (["replay", "--gif", "{run}/config.json", "--overwrite"], "one of the run folder's own"),
        (["replay", "--gif", "{link}"], "is one of the run folder's own files"),
        (["replay", "--gif", "{tmp}/exists.gif"], "exists; --overwrite replaces it"),
        (["replay", "--gif", "{tmp}"], "is a folder"),
        (["train", "--episodes", "3", "--resume", "--seed", "-5"], "--seed must be an integer"),
        (["train", "--episodes", "1", "--overwrite", "--set", "memory_size=100000000000"],
         "memory_size=100000000000 and hidden=[256, 256] need about"),
        (["train", "--episodes", "1", "--overwrite", "--set", "hidden=[200000,200000]"],
         "more than the"),
        (["train", "--episodes", "1"], "holds trained weights (weights.weights.h5) but no"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line_and_change_nothing(trained, tmp_path, capsys, args, says):
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    (run_dir / "checkpoint.npz").unlink()  # weights without a checkpoint, for the last case
    (tmp_path / "exists.gif").write_bytes(b"mine")
    (tmp_path / "link.gif").symlink_to(run_dir / "weights.weights.h5")
    before = snapshot(tmp_path)
    filled = [a.format(tmp=tmp_path, run=run_dir, link=tmp_path / "link.gif") for a in args]
    capsys.readouterr()
    assert main([filled[0], "--run-dir", str(run_dir), *filled[1:]]) == 2
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith("error: ") and says in line, line
    assert snapshot(tmp_path) == before


def test_a_path_that_is_not_utf8_is_one_line(tmp_path, capsys):
    folder = tmp_path / os.fsdecode(b"run\xff")  # bytes no UTF-8 name has
    args = ["train", *CLI, "--episodes", "1", "--run-dir", str(folder)]
    assert main(args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "is not a UTF-8 path" in line and "run\ufffd" in line
    assert list(tmp_path.iterdir()) == []


def test_an_integer_is_a_number_on_the_command_line_and_in_config_json(trained, tmp_path):
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "book", "--set", "memory_size=2000", "--episodes", "1"]
    assert (
        main([*args, "--set", "learning_rate=1", "--log-every", "0", "--run-dir", str(run_dir)])
        == 0
    )
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["learning_rate"] == 1.0
    # A config.json written by hand with an integer learning rate plays and resumes.
    other = tmp_path / "other"
    shutil.copytree(trained, other)
    text = (other / "config.json").read_text()
    (other / "config.json").write_text(
        text.replace('"learning_rate": 0.0001', '"learning_rate": 1')
    )
    assert '"learning_rate": 1' in (other / "config.json").read_text()
    assert main(["evaluate", "--run-dir", str(other), "--episodes", "1"]) == 0
    with pytest.raises(ConfigError):
        get_preset("book", learning_rate="1")  # a string is still not a number


def test_train_overwrite_replaces_weights_that_have_no_checkpoint(trained, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    (run_dir / "checkpoint.npz").unlink()
    args = ["train", *CLI, "--episodes", "1", "--log-every", "0", "--run-dir", str(run_dir)]
    assert main([*args, "--overwrite"]) == 0
    assert (run_dir / "checkpoint.npz").is_file()


def test_replay_overwrite_replaces_an_existing_gif(trained, tmp_path):
    gif = tmp_path / "agent.gif"
    gif.write_bytes(b"old")
    args = ["replay", "--run-dir", str(trained), "--gif", str(gif), "--overwrite", "--scale", "0.2"]
    assert main(args) == 0
    assert gif.read_bytes()[:4] == b"GIF8"


def test_evaluate_and_replay_allocate_no_replay_memory(trained, tmp_path, monkeypatch):
    from dqn_tf.memory import Memory

    capacities = []
    real_init = Memory.__init__

    def init(self, memory_size, *a, **kw):
        capacities.append(memory_size)
        real_init(self, memory_size, *a, **kw)

    monkeypatch.setattr(Memory, "__init__", init)
    assert main(["evaluate", "--run-dir", str(trained), "--episodes", "1"]) == 0
    gif = str(tmp_path / "a.gif")
    assert main(["replay", "--run-dir", str(trained), "--gif", gif, "--scale", "0.2"]) == 0
    assert capacities == [32, 32]  # one batch of the book preset, not its 2,000 transitions
