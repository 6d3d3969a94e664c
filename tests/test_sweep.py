"""Sweeps (dqn_tf.sweep): grid building, bad input, continuing a sweep, result tables from
Tune's DataFrame, and tiny sweeps on a local Ray whose trials equal `train` with the same
preset, settings and seed, also after a SIGKILL and the same command run again."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dqn_tf.cli import main
from dqn_tf.presets import ConfigError, get_preset
from dqn_tf.run_folder import write_config
from dqn_tf.sweep import TRIAL_FILE, _is_done, plan_trials, run_trial, sweep, write_results

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SDL_VIDEODRIVER": "dummy"}


# --- the grid --------------------------------------------------------------------------------


def test_set_values_are_a_json_list_or_each_read_as_train_reads_one(monkeypatch, tmp_path):
    """The CLI's `--set FIELD=V1,V2,...`: a JSON list when it is one, else each value as
    `train --set` reads one; a field with one value is a fixed override."""
    import dqn_tf.sweep

    asked = {}
    monkeypatch.setattr(dqn_tf.sweep, "sweep", lambda *a, **kw: asked.update(kw) or {"trials": []})
    sets = ["learning_rate=0.00063,1e-3", "hidden=[64,64],[128,128]", "loss=huber",
            "optimizer=adam, rmsprop"]  # fmt: skip
    args = ["sweep", "--steps", "10", "--run-dir", str(tmp_path)]
    assert main([*args, *[a for pair in sets for a in ("--set", pair)]]) == 0
    assert asked["grid"] == {
        "learning_rate": [0.00063, 0.001],
        "hidden": [[64, 64], [128, 128]],
        "loss": ["huber"],
        "optimizer": ["adam", "rmsprop"],
    }


def test_plan_is_the_grid_times_the_seeds_with_fixed_overrides(tmp_path):
    grid = {"learning_rate": [1e-3, 5e-4], "batch_size": [32, 64], "memory_size": [5000]}
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
        ({"lr": [0.1, 0.2]}, [0], "unknown config field(s) ['lr']; allowed: ["),
        ({"learning_rate": [0.1, -1]}, [0], "learning_rate must be a positive number (got -1)"),
        ({"gamma": [0.9, 2]}, [0], "gamma must be a number in [0, 1] (got 2)"),
        ({"hidden": [64, 32]}, [0], "(in hidden=64)"),
        ({"learning_rate": []}, [0], "--set learning_rate: give at least one value"),
        ({"gamma": [0.9, 0.9]}, [0], "--set gamma: give at least one value, each once (got [0.9"),
        ({}, [0, 1, 1], "each once (got [0, 1, 1])"),
        ({}, [], "give seeds, integers >= 0, each once (got [])"),
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
        (["--set", "lr=0.1,0.2"], "unknown config field(s) ['lr']"),
        (["--set", "learning_rate"], "--set takes FIELD=V1,V2,..., once per field"),
        (["--set", "learning_rate=0.1,abc"], "learning_rate must be a positive number (got 'abc')"),
        (["--set", "learning_rate=0.1,,0.2"], "learning_rate must be a positive number (got '')"),
        (["--set", "learning_rate="], "--set learning_rate: give at least one value"),
        (["--set", "gamma=0.9", "--set", "gamma=0.99"], "once per field (got 'gamma=0.99')"),
        (["--seeds", "0", "1", "0"], "each once (got [0, 1, 0])"),
        (["--address", "127.0.0.1:PORT"], "no Ray cluster answers at 127.0.0.1:"),
        (["--address", "nowhere"], "no Ray cluster answers at nowhere"),
        (["--cpus-per-trial", "64"], "--cpus-per-trial 64.0: give a number > 0, at most the CPUs"),
        (["--eval-episodes", "0"], "--eval-episodes must be an integer >= 1 (got 0)"),
        (["--env", "Nope-v0"], "not a registered gymnasium"),
        (["--set", "eval_env=CartPole-v1"], "eval_env 'CartPole-v1' has observations"),
        (["--address", "auto", "--num-cpus", "2"], "could not join the Ray cluster at auto"),
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


# --- folders and continuing ------------------------------------------------------------------


def _fake_run(trial, status="finished", budget=None, rewards=(-100.0, 50.0)):
    """A run folder as a trial leaves it, without training (no TensorFlow)."""
    write_config(trial.run_dir, trial.config, trial.seed)
    history = {"episode_rewards": list(rewards), "episode_lengths": [100] * len(rewards),
               "landed_episodes": [], "steps": 200, "prefill_steps": 0,
               "evaluations": [[100, -50.0], [200, 25.0]], "best_eval": 25.0}  # fmt: skip
    (trial.run_dir / "history.json").write_text(json.dumps(history))
    (trial.run_dir / "checkpoint.npz").write_bytes(b"")
    info = {"setting": trial.label, "seed": trial.seed, "budget": budget or {"steps": 200},
            "status": status, "steps": 200, "episodes": len(rewards), "minutes": 1.0,
            "final_mean": 10.0 + trial.seed, "final_std": 1.0, "best_mean": 20.0 + trial.seed,
            "best_std": 2.0, "best_at_steps": 200}  # fmt: skip
    (trial.run_dir / TRIAL_FILE).write_text(json.dumps(info))


def test_a_trial_that_is_done_returns_at_once_and_a_folder_of_another_run_is_refused(tmp_path):
    """A finished trial reports its trial.json and returns (no TensorFlow, nothing written);
    a larger budget continues it; a diverged one stays done; a run folder of another
    configuration is refused before anything runs, naming the field."""
    (trial,) = plan_trials("book", None, {"memory_size": [5000]}, [0], tmp_path)
    budget = {"steps": 200}
    assert not _is_done(None, budget)
    _fake_run(trial)
    shared = {"root": str(tmp_path), "budget": budget}
    reports, before = [], (trial.run_dir / TRIAL_FILE).read_text()
    summary = run_trial({"setting": "book", "seed": 0, "sweep": shared}, reports.append)
    assert reports == [summary] and summary["final_mean"] == 10.0
    assert (trial.run_dir / TRIAL_FILE).read_text() == before  # nothing trained or written
    assert _is_done(summary, budget) and not _is_done(summary, {"steps": 400})
    _fake_run(trial, status="running")
    assert not _is_done(json.loads((trial.run_dir / TRIAL_FILE).read_text()), budget)
    _fake_run(trial, status="diverged")
    assert _is_done(json.loads((trial.run_dir / TRIAL_FILE).read_text()), {"steps": 400})
    with pytest.raises(ConfigError, match="memory_size: 5000 saved, 6000 asked"):
        sweep("book", run_dir=tmp_path, steps=200, grid={"memory_size": 6000})
    assert not (tmp_path / "sweep.json").exists()


def test_a_finished_sweep_run_again_returns_at_once_and_rewrites_the_results(tmp_path, capsys):
    grid = {"learning_rate": [1e-3, 5e-4], "memory_size": [5000]}
    trials = plan_trials("book", None, grid, [0, 1], tmp_path)
    for t in trials:
        _fake_run(t)
    result = sweep("book", run_dir=tmp_path, steps=200, seeds=[0, 1], grid=grid)
    assert (result["ran"], result["skipped"]) == (0, 4)
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()
    assert [r["final_mean"] for r in result["trials"]] == [10.0, 11.0, 10.0, 11.0]
    assert [r["status"] for r in result["trials"]] == ["finished"] * 4
    assert (tmp_path / "results.csv").is_file() and (tmp_path / "results.md").is_file()
    assert len(result["curves"]) == 2 and all(Path(c).is_file() for c in result["curves"])
    assert "4 finished before" in capsys.readouterr().out


def test_the_saved_sweep_continues_and_other_arguments_are_refused(tmp_path, capsys):
    """sweep.json says what the sweep is: `--run-dir D` alone continues it (old scripts'
    `--resume` too), arguments that agree are accepted, one that disagrees is refused naming
    it, and nothing is written."""
    grid = {"learning_rate": [1e-3, 5e-4], "memory_size": [5000]}
    trials = plan_trials("book", None, grid, [0, 1], tmp_path)
    for t in trials:
        _fake_run(t)
    saved = {"preset": "book", "env": None, "budget": {"steps": 200}, "seeds": [0, 1],
             "grid": grid, "eval_episodes": 7, "cpus_per_trial": 1.0}  # fmt: skip
    (tmp_path / "sweep.json").write_text(json.dumps(saved))
    assert main(["sweep", "--run-dir", str(tmp_path), "--resume", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["ran"], result["skipped"]) == (0, 4)
    assert [(r["setting"], r["seed"]) for r in result["trials"]] == [
        ("learning_rate=0.001", 0), ("learning_rate=0.001", 1),
        ("learning_rate=0.0005", 0), ("learning_rate=0.0005", 1),
    ]  # fmt: skip
    md = (tmp_path / "results.md").read_text()
    assert "over 7 episodes" in md and '"eval_episodes": 7' in md
    before = (tmp_path / "sweep.json").read_text()
    status = main(["sweep", "--run-dir", str(tmp_path), "--seeds", "0", "1", "2",
                   "--preset", "fast", "--eval-episodes", "7"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "--seeds: [0, 1] in the sweep folder, [0, 1, 2] here" in err
    assert "--preset: 'book' in the sweep folder, 'fast' here" in err
    assert "--eval-episodes:" not in err  # it agrees
    assert (tmp_path / "sweep.json").read_text() == before
    agreeing = ["--preset", "book", "--seeds", "0", "1", "--steps", "200",
                "--set", "learning_rate=0.001,0.0005", "--set", "memory_size=5000"]  # fmt: skip
    assert main(["sweep", "--run-dir", str(tmp_path), *agreeing, "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["trials"] == result["trials"]


@pytest.mark.parametrize(
    "text,needle",
    [
        ('{"preset": "book"', "sweep.json is damaged"),
        ("[]", "sweep.json is damaged"),
        ('{"preset": "book", "env": null, "budget": {"steps": 1}}', "sweep.json is damaged"),
        (
            '{"preset": "book", "env": null, "budget": {"steps": "many"}, "seeds": [0], '
            '"grid": {}, "eval_episodes": 1, "cpus_per_trial": 1}',
            "--steps must be an integer >= 1 (got 'many')",
        ),
        (
            '{"preset": 3, "env": null, "budget": {"steps": 1}, "seeds": [0], "grid": {}, '
            '"eval_episodes": 1, "cpus_per_trial": 1}',
            "preset must be one of",
        ),
    ],
)
def test_a_damaged_sweep_file_is_one_line(text, needle, tmp_path, capsys):
    (tmp_path / "sweep.json").write_text(text)
    assert main(["sweep", "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (tmp_path / "sweep.json").read_text() == text


# --- results ---------------------------------------------------------------------------------


def test_result_tables_and_summary_across_seeds(tmp_path):
    """Tune's DataFrame of last reports (as ResultGrid.get_dataframe() gives it) becomes the
    tables: one row per trial in the sweep's order, a trial that never reported is `not run`,
    and per setting the mean, std (n-1), min and max across the seeds that finished."""
    trials = plan_trials("book", None, {"gamma": [0.9, 0.99]}, [0, 1, 2], tmp_path)
    reported, ended = [], {}
    for t in trials[::-1]:  # Tune's order is its own
        if t.index == 5:
            continue  # gamma=0.99, seed 2 did not run
        reported.append({
            "setting": t.label, "seed": t.seed, "status": "finished", "steps": 300,
            "episodes": 3, "minutes": 0.5, "final_mean": 100.0 * t.seed, "final_std": 5.0,
            "final_landings": t.seed, "best_mean": 200.0, "best_std": 1.0, "best_landings": 2,
            "best_at_steps": 100, "config/setting": t.label, "time_total_s": 1.0,
        })  # fmt: skip
        ended[t.index] = "finished"
        _fake_run(t, rewards=(-100.0, 0.0, 100.0))
    result = write_results(tmp_path, trials, pd.DataFrame(reported), ended, header="# Sweep")
    rows = result["trials"]
    assert rows[0]["setting"] == "gamma=0.9" and rows[0]["gamma"] == 0.9
    assert rows[5]["status"] == "not run" and rows[5]["final_mean"] is None
    assert rows[2]["final_landings"] == 2 and rows[2]["minutes"] == 0.5
    first, second = result["summary"]
    assert [first[f"final_mean {k}"] for k in ("mean", "std", "min", "max")] == [100, 100, 0, 200]
    assert (second["finished"], second["seeds"]) == (2, 3)
    assert second["final_mean std"] == pytest.approx(np.std([0.0, 100.0], ddof=1))
    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# Sweep")
    cells = next(x.split() for x in md.splitlines() if x.split()[:3] == ["gamma=0.9", "3", "3"])
    assert cells[3:8] == ["100.0", "100.0", "0.0", "200.0", "200.0"]  # final: mean std min max
    assert "final_landings mean" in md and "![gamma=0.9](<gamma=0.9/curves.png>)" in md
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("setting,gamma,seed,status,steps,episodes,minutes")
    assert len(csv_lines) == 7
    png = tmp_path / "gamma=0.9" / "curves.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert result["markdown"] == md


# --- trials ----------------------------------------------------------------------------------


def test_a_stopped_trial_resumes_to_the_straight_run(tmp_path):
    """run_trial (what each Ray worker runs), in this process: 2 episodes then continued to
    4 equals 4 straight, one report per episode, the last one the summary."""
    config = get_preset("book", memory_size=5000).to_dict()
    shared = {"configs": {"book": config}, "eval_episodes": 1, "report_every": 1, "threads": 0,
              "asha": False}  # fmt: skip

    def trial(root, episodes, report=lambda _: None):
        config = {
            "setting": "book",
            "seed": 0,
            "sweep": {**shared, "root": str(root), "budget": {"episodes": episodes}},
        }
        return run_trial(config, report)

    reports = []
    trial(tmp_path / "a", 2, reports.append)
    resumed = trial(tmp_path / "a", 4, reports.append)
    straight = trial(tmp_path / "b", 4)
    histories = [json.loads((tmp_path / r / "book" / "seed0" / "history.json").read_text())
                 for r in "ab"]  # fmt: skip
    assert histories[0]["episode_rewards"] == histories[1]["episode_rewards"]
    assert len(histories[1]["episode_rewards"]) == 4 and resumed["status"] == "finished"
    assert [r["episodes"] for r in reports] == [1, 2, 3, 4]
    assert [r["status"] for r in reports] == ["running", "finished", "running", "finished"]
    assert (resumed["final_mean"], resumed["final_std"]) == (
        straight["final_mean"], straight["final_std"],
    )  # fmt: skip
    info = json.loads((tmp_path / "a" / "book" / "seed0" / TRIAL_FILE).read_text())
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

    # The same command again: both trials finished with this budget and return at once.
    stamp = (trial / "checkpoint.npz").stat().st_mtime_ns
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (again["ran"], again["skipped"]) == (0, 2)
    assert again["trials"] == result["trials"]
    assert (trial / "checkpoint.npz").stat().st_mtime_ns == stamp


def test_a_sweep_killed_with_sigkill_and_run_again_ends_as_the_straight_run(tmp_path):
    """The sweep's process killed mid-trial (its Ray with it): the same command again
    finishes the trial from its checkpoint to exactly `train`'s run."""
    sweep_dir = tmp_path / "sweep"
    asked = ["--preset", "book", "--steps", "600", "--seeds", "0", "--set", "memory_size=5000",
             "--eval-episodes", "1", "--report-every", "1"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "dqn_tf", "sweep", *asked, "--run-dir", str(sweep_dir)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    trial = sweep_dir / "book" / "seed0"
    # A generous deadline: Ray's start-up alone took over 180 s on a loaded 2-core machine.
    deadline, info = time.monotonic() + 900, {}
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
        [sys.executable, "-m", "dqn_tf", "sweep", *asked, "--run-dir", str(sweep_dir), "--json"],
        capture_output=True, text=True, env=ENV, timeout=900,
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
