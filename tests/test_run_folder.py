"""Run folders: one writer at a time, resume with the saved configuration, data never code,
damaged files named, and a run killed with SIGKILL at any moment resumes to the straight run."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from dqn_tf import cli
from dqn_tf.checkpoint import read_checkpoint
from dqn_tf.environment import Environment
from dqn_tf.presets import ConfigError, get_preset
from dqn_tf.run_folder import (
    RunFolderBusy,
    RunFolderError,
    check_same_settings,
    holder,
    lock,
    read_config,
    read_history,
)

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
SMALL = ["--preset", "book", "--set", "memory_size=3000", "--set", "checkpoint_every=1"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def _hold_lock_in_another_process(run_dir: Path) -> subprocess.Popen:
    code = textwrap.dedent(
        f"""
        import sys, time
        from dqn_tf.run_folder import lock
        with lock({str(run_dir)!r}):
            print("held", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished two-episode run of the book preset, made with --set values."""
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    assert (
        cli.main(["train", "--episodes", "2", "--run-dir", str(run_dir), "--seed", "3"] + SMALL)
        == 0
    )
    return run_dir


# --- one writer ---------------------------------------------------------------------------------


def test_lock_is_reentrant_and_released(tmp_path):
    with lock(tmp_path / "r") as path, lock(tmp_path / "r"):
        assert holder(path)["pid"] == os.getpid()
    assert holder(tmp_path / "r") is None  # a clean release leaves nothing stale


def test_second_writer_is_refused_naming_the_holder_and_a_killed_holder_is_stale(tmp_path, capsys):
    run_dir = tmp_path / "r"
    other = _hold_lock_in_another_process(run_dir)
    try:
        with pytest.raises(
            RunFolderBusy, match=f"run folder {run_dir} is being written by process {other.pid} on "
        ):
            with lock(run_dir):
                pass
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    # The kernel dropped the dead process's lock; its id is still in the file.
    with lock(run_dir):
        pass
    err = capsys.readouterr().err
    assert f"the lock of process {other.pid} on " in err and "is stale" in err


def test_cli_second_writer_exits_2_and_changes_nothing_while_readers_go_on(trained):
    before = _snapshot(trained)
    other = _hold_lock_in_another_process(trained)
    try:
        for args in (["--resume", "--episodes", "4"], ["--episodes", "2", "--set", "save_every=1"]):
            proc = subprocess.run(
                [sys.executable, "-m", "dqn_tf", "train", "--run-dir", str(trained), *args],
                capture_output=True, text=True, env=ENV, timeout=120,
            )  # fmt: skip
            assert proc.returncode == 2, proc.stderr
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: run folder {trained.resolve()}")
            assert f"process {other.pid}" in lines[0]
        # A reader is not blocked.
        proc = subprocess.run(
            [sys.executable, "-m", "dqn_tf", "evaluate", "--run-dir", str(trained), "--episodes",
             "1", "--json"], capture_output=True, text=True, env=ENV, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    assert _snapshot(trained) == before


# --- resume with the saved configuration -------------------------------------------------------


def test_resume_takes_the_saved_settings_and_refuses_others_naming_each(trained, capsys):
    # Neither --preset nor --set: the run's own (memory_size 3000, checkpoint_every 1, seed 3).
    assert cli.main(["train", "--resume", "--episodes", "3", "--run-dir", str(trained)]) == 0
    assert "Training LunarLander-v3 with its saved configuration, seed 3" in capsys.readouterr().out
    assert read_checkpoint(trained / "checkpoint.npz")[0]["config"]["memory_size"] == 3000
    # Settings that agree are accepted.
    assert (
        cli.main(["train", "--resume", "--episodes", "3", "--run-dir", str(trained)] + SMALL) == 0
    )
    before = _snapshot(trained)
    refused = {
        ("--set", "checkpoint_every=7"): ["checkpoint_every: 1 saved, 7 asked"],
        ("--preset", "book"): ["checkpoint_every: 1 saved, 100 asked",
                               "memory_size: 3000 saved, 250000 asked"],
        ("--seed", "4"): ["made with seed 3, not 4"],
        ("--set", "learnin_rate=0.1"): ["unknown config field(s) ['learnin_rate']"],
    }  # fmt: skip
    for extra, needles in refused.items():
        code = cli.main(["train", "--resume", "--episodes", "5", "--run-dir", str(trained), *extra])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
        assert all(n in err for n in needles), err
    assert _snapshot(trained) == before


def test_incremental_refuses_other_settings_and_from_run_folder_has_the_saved_ones(trained):
    other = Environment(
        config=get_preset("book", memory_size=3000), seed=3, run_dir=trained, summaries=False
    )
    with pytest.raises(ConfigError, match="checkpoint_every: 1 saved, 100 asked"):
        other.incremental(episodes=1, log_every=0)
    same = Environment.from_run_folder(trained, summaries=False)
    assert (same.config, same.seed) == read_config(trained)
    check_same_settings(trained, same.config, same.config.to_dict())  # agrees: no error


# --- damaged or hand-edited files ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, needle",
    [
        ('{"config": {"gamma": 0.99', "is damaged: not valid JSON"),
        ('{"config": {"learning_rate": "fast"}, "seed": 0}', "learning_rate must be a positive"),
        ('{"config": {"colour": 1}, "seed": 0}', "unknown config field(s) ['colour']"),
        ('{"config": {}, "seed": -1}', "seed must be an integer >= 0 (got -1)"),
        ('{"config": {}}', "exactly 'config' and 'seed'"),
        ('{"config": {"demonstrator": "os:system", "demo_episodes": 1}, "seed": 0}',
         "registered name"),
    ],
)  # fmt: skip
def test_damaged_config_is_one_line_and_changes_nothing(trained, tmp_path, capsys, text, needle):
    run_dir = tmp_path / "edited"
    run_dir.mkdir()
    (run_dir / "weights.weights.h5").write_bytes((trained / "weights.weights.h5").read_bytes())
    (run_dir / "config.json").write_text(text)
    before = _snapshot(run_dir)
    for command in (["evaluate", "--episodes", "1"], ["train", "--resume", "--episodes", "9"]):
        assert cli.main([*command, "--run-dir", str(run_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err
    assert _snapshot(run_dir) == before


def test_damaged_history_is_named(trained, tmp_path):
    history = json.loads((trained / "history.json").read_text())
    assert read_history(trained) == history
    for edit, needle in (
        ({"steps": "many"}, "steps must be int"),
        ({"colour": 1}, "unknown fields ['colour']"),
        ({"episode_lengths": [1]}, "episode_rewards but 1 episode_lengths"),
    ):
        (tmp_path / "history.json").write_text(json.dumps(history | edit))
        with pytest.raises(RunFolderError, match=re.escape(needle)):
            read_history(tmp_path)
    (tmp_path / "history.json").write_text('{"steps": 1')
    with pytest.raises(RunFolderError, match="not valid JSON"):
        read_history(tmp_path)


# --- killed with SIGKILL at any moment ---------------------------------------------------------

# Runs the CLI, SIGKILLing itself inside the n-th checkpoint write: after the temporary file
# is written and before it is renamed over the previous checkpoint.
KILL_IN_CHECKPOINT = """
import os, signal, sys
n, real = int(sys.argv.pop(1)), os.replace
def replace(src, dst, **kw):
    global n
    if str(dst).endswith("checkpoint.npz"):
        n -= 1
        if n == 0:
            os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, **kw)
os.replace = replace
from dqn_tf.cli import main
sys.exit(main())
"""


def _every_file_loads(run_dir: Path) -> None:
    read_config(run_dir)
    read_history(run_dir)
    read_checkpoint(run_dir / "checkpoint.npz")
    for weights in run_dir.glob("*.weights.h5"):  # written every save_every episodes
        with h5py.File(weights, "r") as f:
            assert "layers" in f


def test_sigkill_at_random_moments_resumes_to_the_straight_run(tmp_path):
    total = 9
    common = ["--episodes", str(total), "--log-every", "1", "--seed", "1", *SMALL]
    run_dir = tmp_path / "killed"
    rng = random.Random(16)  # the moments are random, and the same on every run of the test
    resume: list[str] = []
    for attempt in range(3):
        if attempt == 1:  # inside a checkpoint write
            proc = subprocess.run(
                [sys.executable, "-c", KILL_IN_CHECKPOINT, str(rng.randint(1, 2)), "train",
                 "--run-dir", str(run_dir), *resume, *common],
                capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120,
            )  # fmt: skip
            assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        else:  # mid-episode, after a seeded number of episode lines
            proc = subprocess.Popen(
                [sys.executable, "-m", "dqn_tf", "train", "--run-dir", str(run_dir), *resume,
                 *common],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
            )  # fmt: skip
            wanted, seen = rng.randint(1, 2), 0
            for line in proc.stdout:
                seen += line.startswith("episode: ")
                if seen == wanted:
                    break
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        _every_file_loads(run_dir)
        resume = ["--resume"]
    assert cli.main(["train", "--run-dir", str(run_dir), "--resume", *common]) == 0
    assert cli.main(["train", "--run-dir", str(tmp_path / "straight"), *common]) == 0
    killed, straight = (json.loads((d / "history.json").read_text()) for d in
                        (run_dir, tmp_path / "straight"))  # fmt: skip
    assert len(killed["episode_rewards"]) == total
    # The half-written checkpoint the kill left behind was cleared by the next writer.
    assert [p.name for p in run_dir.iterdir() if ".tmp" in p.name] == []
    assert killed["episode_rewards"] == straight["episode_rewards"]
    weights = [read_checkpoint(d / "checkpoint.npz")[1] for d in (run_dir, tmp_path / "straight")]
    assert weights[0].keys() == weights[1].keys()
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
