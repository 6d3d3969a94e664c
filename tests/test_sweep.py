"""Sweeps (dqn_tf.sweep): grid building, bad input, result tables, and one tiny sweep on a
local Ray whose trial equals `train` with the same preset, settings and seed."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dqn_tf.cli import main
from dqn_tf.presets import ConfigError, get_preset
from dqn_tf.run_folder import write_config
from dqn_tf.sweep import (
    TRIAL_FILE,
    _plan_state,
    parse_set,
    plan_trials,
    results_csv,
    results_markdown,
    run_trial,
    split_values,
    summarize,
    sweep,
    write_results,
)

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SDL_VIDEODRIVER": "dummy"}


# --- the grid --------------------------------------------------------------------------------


def test_set_values_split_at_top_level_commas_and_parse_as_json():
    assert split_values("0.1, 0.2,[64,64],'a,b'") == ["0.1", "0.2", "[64,64]", "'a,b'"]
    grid = parse_set(["learning_rate=0.00063,1e-3", "hidden=[64,64],[128,128]", "loss=huber"])
    assert grid == {
        "learning_rate": [0.00063, 0.001],
        "hidden": [[64, 64], [128, 128]],
        "loss": ["huber"],
    }


@pytest.mark.parametrize(
    "pairs,needle",
    [
        (["learning_rate"], "--set takes FIELD=V1,V2"),
        (["learning_rate="], "learning_rate= has no values"),
        (["learning_rate=0.1,,0.2"], "empty value between commas"),
        (["gamma=0.9", "gamma=0.99"], "gamma is given twice"),
    ],
)
def test_bad_set_arguments(pairs, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_set(pairs)


def test_plan_is_the_grid_times_the_seeds_with_fixed_overrides(tmp_path):
    grid = {"learning_rate": [1e-3, 5e-4], "batch_size": [32, 64], "memory_size": 5000}
    trials = plan_trials("book", None, grid, [0, 1], tmp_path)
    assert len(trials) == 8
    first = trials[0]
    assert first.label == "learning_rate=0.001,batch_size=32"
    assert first.run_dir == tmp_path / first.label / "seed0"
    assert first.config == get_preset("book", learning_rate=1e-3, batch_size=32, memory_size=5000)
    # The first field varies slowest, seeds fastest.
    assert [(t.setting["learning_rate"], t.setting["batch_size"], t.seed) for t in trials[:4]] == [
        (1e-3, 32, 0), (1e-3, 32, 1), (1e-3, 64, 0), (1e-3, 64, 1),
    ]  # fmt: skip
    alone = plan_trials("fast", "LunarLander-v3", {"gamma": [0.98]}, [3], tmp_path)
    assert [(t.label, t.seed, t.config.gamma) for t in alone] == [("fast", 3, 0.98)]
    lists = plan_trials("book", None, {"hidden": [[64, 64], [128]]}, [0], tmp_path)
    assert [t.label for t in lists] == ["hidden=64x64", "hidden=128"]


@pytest.mark.parametrize(
    "grid,seeds,needle",
    [
        ({"lr": [0.1, 0.2]}, [0], "unknown config field 'lr' in --set; allowed: ["),
        ({"learning_rate": [0.1, -1]}, [0], "learning_rate must be a positive number (got -1)"),
        ({"gamma": [0.9, 2]}, [0], "gamma must be a number in [0, 1] (got 2)"),
        ({"hidden": [64, 32]}, [0], "bad value in hidden=64"),
        ({"learning_rate": []}, [0], "learning_rate has an empty list of values"),
        ({"gamma": [0.9, 0.9]}, [0], "gamma=0.9 is given twice"),
        ({}, [0, 1, 1], "seed 1 is given twice in [0, 1, 1]"),
        ({}, [], "give at least one seed"),
        ({"memory_size": [16, 5000]}, [0], "memory_size must be at least batch_size=32 (got 16)"),
    ],
)
def test_bad_grids_are_refused_naming_the_value(grid, seeds, needle, tmp_path):
    with pytest.raises(ConfigError) as info:
        plan_trials("book", None, grid, seeds, tmp_path)
    assert needle in str(info.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--set", "lr=0.1,0.2"], "unknown config field 'lr'"),
        (["--set", "learning_rate=0.1,abc"], "learning_rate must be a positive number (got 'abc')"),
        (["--set", "learning_rate="], "learning_rate= has no values"),
        (["--seeds", "0", "1", "0"], "seed 0 is given twice"),
        (["--address", "127.0.0.1:PORT"], "no Ray cluster answers at 127.0.0.1:"),
        (["--address", "nowhere"], "--address must be HOST:PORT or auto (got 'nowhere')"),
        (["--cpus-per-trial", "64"], "more than this machine's"),
        (["--env", "Nope-v0"], "not a registered gymnasium"),
        (["--set", "eval_env=CartPole-v1"], "eval_env 'CartPole-v1' has observations"),
        (["--address", "auto", "--num-cpus", "2"], "--num-cpus sizes the Ray started on"),
        (["--asha"], "--asha judges trials by their periodic evaluations"),
    ],
)
def test_bad_sweep_input_is_one_line_and_status_2_before_anything_starts(
    args, needle, tmp_path, capsys
):
    args = [a.replace("PORT", str(_free_port())) for a in args]
    run_dir = tmp_path / "sweep"
    status = main(["sweep", "--preset", "book", "--steps", "10", "--run-dir", str(run_dir), *args])
    err = capsys.readouterr().err
    assert status == 2
    assert needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert not run_dir.exists()  # nothing written, no Ray started
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()


# --- folders and resume ----------------------------------------------------------------------


def _fake_run(trial, status="finished", budget=None, checkpoint=True, rewards=(-100.0, 50.0)):
    """A run folder as a trial leaves it, without training (no TensorFlow)."""
    write_config(trial.run_dir, trial.config, trial.seed)
    history = {"episode_rewards": list(rewards), "episode_lengths": [100] * len(rewards),
               "evaluations": [[100, -50.0], [200, 25.0]]}  # fmt: skip
    (trial.run_dir / "history.json").write_text(json.dumps(history))
    if checkpoint:
        (trial.run_dir / "checkpoint.npz").write_bytes(b"")
    info = {"status": status, "budget": budget or {"steps": 200}, "seed": trial.seed,
            "steps": 200, "episodes": len(rewards), "seconds": 60.0,
            "final": {"mean": 10.0 + trial.seed, "std": 1.0},
            "best": {"mean": 20.0 + trial.seed, "std": 2.0}, "best_at_steps": 200}  # fmt: skip
    (trial.run_dir / TRIAL_FILE).write_text(json.dumps(info))


def test_resume_state_of_a_trial_folder(tmp_path):
    (trial,) = plan_trials("book", None, {"memory_size": 5000}, [0], tmp_path)
    budget = {"steps": 200}
    assert _plan_state(trial, budget, resume=False) == "new"
    _fake_run(trial)
    with pytest.raises(ConfigError, match="already holds a run; continue the sweep with --resume"):
        _plan_state(trial, budget, resume=False)
    assert _plan_state(trial, budget, resume=True) == "done"
    assert _plan_state(trial, {"steps": 400}, resume=True) == "resume"  # a bigger budget
    _fake_run(trial, status="running")
    assert _plan_state(trial, budget, resume=True) == "resume"
    _fake_run(trial, status="diverged")
    assert _plan_state(trial, {"steps": 400}, resume=True) == "done"
    (other,) = plan_trials("book", None, {"memory_size": 6000}, [0], tmp_path)
    object.__setattr__(other, "run_dir", trial.run_dir)
    with pytest.raises(ConfigError, match="memory_size: 5000 there, 6000 here"):
        _plan_state(other, budget, resume=True)


def test_resume_of_a_finished_sweep_starts_no_ray_and_rewrites_the_results(tmp_path, capsys):
    grid = {"learning_rate": [1e-3, 5e-4], "memory_size": 5000}
    trials = plan_trials("book", None, grid, [0, 1], tmp_path)
    for t in trials:
        _fake_run(t)
    result = sweep("book", run_dir=tmp_path, steps=200, seeds=[0, 1], grid=grid, resume=True)
    assert (result["ran"], result["skipped"]) == (0, 4)
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()
    assert [r["final_mean"] for r in result["trials"]] == [10.0, 11.0, 10.0, 11.0]
    assert (tmp_path / "results.csv").is_file() and (tmp_path / "results.md").is_file()
    assert len(result["curves"]) == 2 and all(Path(c).is_file() for c in result["curves"])
    assert "4 finished before" in capsys.readouterr().out


def test_resume_continues_the_saved_sweep_and_refuses_other_arguments(tmp_path, capsys):
    """sweep.json says what the sweep is: `--resume --run-dir D` alone continues it, an
    argument that agrees is accepted, one that disagrees is refused naming it, and a fresh
    sweep into the folder is refused."""
    grid = {"learning_rate": [1e-3, 5e-4], "memory_size": [5000]}
    trials = plan_trials("book", None, grid, [0, 1], tmp_path)
    for t in trials:
        _fake_run(t)
    saved = {"command": "python -m dqn_tf sweep ...", "preset": "book", "env": None,
             "budget": {"steps": 200}, "seeds": [0, 1], "grid": grid, "eval_episodes": 7,
             "cpus_per_trial": 1.0}  # fmt: skip
    (tmp_path / "sweep.json").write_text(json.dumps(saved))
    assert main(["sweep", "--run-dir", str(tmp_path), "--resume", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["ran"], result["skipped"]) == (0, 4)
    assert [(r["setting"], r["seed"]) for r in result["trials"]] == [
        ("learning_rate=0.001", 0), ("learning_rate=0.001", 1),
        ("learning_rate=0.0005", 0), ("learning_rate=0.0005", 1),
    ]  # fmt: skip
    md = (tmp_path / "results.md").read_text()
    assert "over 7 episodes" in md and "--eval-episodes 7\n" in md
    agreeing = ["--preset", "book", "--seeds", "0", "1", "--steps", "200",
                "--set", "learning_rate=0.001,0.0005", "--set", "memory_size=5000"]  # fmt: skip
    assert main(["sweep", "--run-dir", str(tmp_path), "--resume", *agreeing]) == 0
    capsys.readouterr()
    before = (tmp_path / "sweep.json").read_text()
    status = main(["sweep", "--run-dir", str(tmp_path), "--resume", "--seeds", "0", "1", "2",
                   "--preset", "fast", "--eval-episodes", "7"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "--seeds: [0, 1] in the sweep folder, [0, 1, 2] here" in err
    assert "--preset: 'book' in the sweep folder, 'fast' here" in err
    assert "--eval-episodes:" not in err  # it agrees
    assert (tmp_path / "sweep.json").read_text() == before
    status = main(["sweep", "--run-dir", str(tmp_path), "--preset", "book", "--steps", "200"])
    err = capsys.readouterr().err
    assert status == 2 and "already holds a sweep" in err and "--resume" in err


@pytest.mark.parametrize(
    "text,needle",
    [
        ('{"command": "x", "preset": "book"', "sweep.json is damaged"),
        (
            '{"command": "x", "preset": "book", "env": null, "budget": {"steps": "many"}, '
            '"seeds": [0], "grid": {}, "eval_episodes": 1}',
            "budget",
        ),
        (
            '{"command": "x", "preset": 3, "env": null, "budget": {"steps": 1}, "seeds": [0], '
            '"grid": {}, "eval_episodes": 1}',
            "preset: 3",
        ),
        ("[]", "not a JSON object"),
    ],
)
def test_a_damaged_sweep_file_is_one_line(text, needle, tmp_path, capsys):
    (tmp_path / "sweep.json").write_text(text)
    assert main(["sweep", "--run-dir", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (tmp_path / "sweep.json").read_text() == text


# --- results ---------------------------------------------------------------------------------


def test_result_tables_and_summary_across_seeds(tmp_path):
    trials = plan_trials("book", None, {"gamma": [0.9, 0.99]}, [0, 1, 2], tmp_path)
    summaries = {}
    for t in trials:
        summaries[t.index] = {
            "status": "finished", "seed": t.seed, "steps": 300, "episodes": 3, "seconds": 30.0,
            "final": {"mean": 100.0 * t.seed, "std": 5.0, "landings": t.seed},
            "best": {"mean": 200.0, "std": 1.0, "landings": 2}, "best_at_steps": 100,
            "episode_rewards": [-100.0, 0.0, 100.0], "episode_lengths": [100, 100, 100],
            "evaluations": [[100, 1.0], [200, 2.0]],
        }  # fmt: skip
    del summaries[5]  # gamma=0.99, seed 2 did not run
    result = write_results(tmp_path, trials, summaries, eval_episodes=10, header="# Sweep\n")
    rows = result["trials"]
    assert rows[0]["setting"] == "gamma=0.9" and rows[0]["gamma"] == 0.9
    assert rows[5]["status"] == "not run" and rows[5]["final_mean"] is None
    assert rows[2]["final_landings"] == 2 and rows[2]["minutes"] == 0.5
    first, second = summarize(rows)
    assert first["final_mean"] == {"mean": 100.0, "std": 100.0, "min": 0.0, "max": 200.0}
    assert (second["finished"], second["seeds"]) == (2, 3)
    assert second["final_mean"]["std"] == pytest.approx(np.std([0.0, 100.0], ddof=1))
    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# Sweep")
    assert "| gamma=0.9 | 3 / 3 | 100.0 | 100.0 | 0.0 | 200.0 | 200.0 |" in md
    assert "landings final / best" in md and "![gamma=0.9](<gamma=0.9/curves.png>)" in md
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("setting,gamma,seed,status,steps,episodes,minutes")
    assert len(csv_lines) == 7
    png = tmp_path / "gamma=0.9" / "curves.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert results_csv(rows) == (tmp_path / "results.csv").read_text()
    assert results_markdown(rows, summarize(rows), 10) in md


# --- trials ----------------------------------------------------------------------------------


def test_a_stopped_trial_resumes_to_the_straight_run(tmp_path):
    """run_trial (what each Ray worker runs), in this process: 2 episodes then resumed to 4
    equals 4 straight, one report per episode."""
    spec = {"preset": "book", "changes": {"memory_size": 5000}, "seed": 0, "steps": None,
            "eval_episodes": 1, "report_every": 1, "threads": None}  # fmt: skip
    reports = []
    run_trial({**spec, "run_dir": str(tmp_path / "a"), "episodes": 2}, reports.append)
    resumed = run_trial({**spec, "run_dir": str(tmp_path / "a"), "episodes": 4}, reports.append)
    straight = run_trial({**spec, "run_dir": str(tmp_path / "b"), "episodes": 4})
    assert resumed["episode_rewards"] == straight["episode_rewards"]
    assert len(straight["episode_rewards"]) == 4 and resumed["status"] == "finished"
    # One report per piece but the last, whose report carries the summary.
    assert [r["episodes"] for r in reports] == [1, 2, 3, 4]
    assert ["summary" in r for r in reports] == [False, True, False, True]
    assert resumed["final"] == straight["final"]
    info = json.loads((tmp_path / "a" / TRIAL_FILE).read_text())
    assert info["budget"] == {"episodes": 4} and info["status"] == "finished"


def _weights(path):
    import h5py

    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: found.__setitem__(n, o[()]) if hasattr(o, "shape") else None)
    return found


def test_tiny_sweep_on_a_local_ray_equals_train_and_leaves_no_ray_running(tmp_path, capsys):
    import psutil

    sweep_dir = tmp_path / "sweep"
    fixed = ["--set", "memory_size=5000", "--set", "eval_every_steps=150",
             "--set", "eval_episodes=1"]  # fmt: skip
    args = ["sweep", "--preset", "book", "--steps", "300", "--seeds", "0", "--eval-episodes",
            "1", "--set", "learning_rate=0.0001,0.001", *fixed, "--run-dir", str(sweep_dir),
            "--report-every", "1", "--json"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert [(r["setting"], r["status"], r["steps"]) for r in result["trials"]] == [
        ("learning_rate=0.0001", "finished", 300),
        ("learning_rate=0.001", "finished", 300),
    ]
    # Ray started for the sweep and is gone: not initialised, no process of it left.
    import ray

    assert not ray.is_initialized()
    left = [p.name() for p in psutil.Process().children(recursive=True)]
    assert not [n for n in left if "ray" in n or "gcs" in n], left
    for name in ("results.csv", "results.md", "learning_rate=0.001/curves.png"):
        assert (sweep_dir / name).is_file()

    # The trial is an ordinary run folder, and the same run as `train`.
    trial = sweep_dir / "learning_rate=0.001" / "seed0"
    names = {p.name for p in trial.iterdir()}
    assert {"config.json", "weights.weights.h5", "best.weights.h5", "history.json",
            "checkpoint.npz", "tensorboard"} <= names  # fmt: skip
    # `train` with the same preset, settings, seed and TensorFlow thread pools (a trial of
    # one CPU has pools of one).
    train_dir = tmp_path / "train"
    one_thread = {**ENV, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", "--preset", "book", "--steps", "300",
         "--seed", "0", "--set", "learning_rate=0.001", *fixed, "--run-dir", str(train_dir),
         "--json"],  # fmt: skip
        capture_output=True, text=True, env=one_thread, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    trained = json.loads(proc.stdout.strip().splitlines()[-1])
    history = json.loads((trial / "history.json").read_text())
    assert history["episode_rewards"] == trained["episode_rewards"]
    for name in ("weights.weights.h5", "best.weights.h5"):
        mine, theirs = _weights(trial / name), _weights(train_dir / name)
        assert mine.keys() == theirs.keys()
        assert all(np.array_equal(mine[k], theirs[k]) for k in mine)

    # --resume: both trials finished with this budget, so nothing runs and Ray is not started.
    stamp = (trial / "checkpoint.npz").stat().st_mtime_ns
    assert main([*args, "--resume"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (again["ran"], again["skipped"]) == (0, 2)
    assert again["trials"] == result["trials"]
    assert (trial / "checkpoint.npz").stat().st_mtime_ns == stamp


def test_a_sweep_killed_with_sigkill_resumes_with_resume_alone_to_the_straight_run(tmp_path):
    """The sweep's process killed mid-trial (its Ray with it): `sweep --run-dir D --resume`,
    nothing else given, finishes the trial from its checkpoint to exactly `train`'s run."""
    sweep_dir = tmp_path / "sweep"
    asked = ["--preset", "book", "--steps", "600", "--seeds", "0", "--set", "memory_size=5000",
             "--eval-episodes", "1", "--report-every", "1"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "dqn_tf", "sweep", *asked, "--run-dir", str(sweep_dir)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    trial = sweep_dir / "book" / "seed0"
    deadline, info = time.monotonic() + 180, {}
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            info = json.loads((trial / TRIAL_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            info = {}
        if info.get("episodes", 0) >= 2:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert info.get("status") == "running" and 0 < info["steps"] < 600, info
    resumed = subprocess.run(
        [sys.executable, "-m", "dqn_tf", "sweep", "--run-dir", str(sweep_dir), "--resume",
         "--json"],  # fmt: skip
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Token authentication" not in resumed.stderr  # Ray's start-up warning, silenced
    (row,) = json.loads(resumed.stdout.strip().splitlines()[-1])["trials"]
    assert (row["status"], row["steps"]) == ("finished", 600)
    one_thread = {**ENV, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    straight = subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", *asked[:4], "--seed", "0", *asked[6:8],
         "--run-dir", str(tmp_path / "train"), "--json"],  # fmt: skip
        capture_output=True, text=True, env=one_thread, timeout=300,
    )  # fmt: skip
    assert straight.returncode == 0, straight.stderr[-2000:]
    trained = json.loads(straight.stdout.strip().splitlines()[-1])
    history = json.loads((trial / "history.json").read_text())
    assert history["episode_rewards"] == trained["episode_rewards"]
    final = _weights(trial / "weights.weights.h5")
    assert all(np.array_equal(final[k], v) for k, v in _weights(tmp_path / "train" /
               "weights.weights.h5").items())  # fmt: skip
