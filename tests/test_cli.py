"""The command line, end to end, exactly as scripts and checks call it."""

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SDL_VIDEODRIVER": "dummy"}


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "dqn_tf", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    proc = run(
        "train",
        "--env",
        "LunarLander-v3",
        "--preset",
        "book",
        "--episodes",
        "3",
        "--seed",
        "0",
        "--run-dir",
        str(run_dir),
        "--json",
        "--set",
        "memory_size=5000",
    )
    return run_dir, json.loads(proc.stdout.strip().splitlines()[-1])


def test_train_json_and_run_folder(trained):
    run_dir, summary = trained
    assert len(summary["episode_rewards"]) == 3
    assert all(isinstance(r, float) for r in summary["episode_rewards"])
    assert summary["steps"] > 0 and summary["seconds"] > 0
    names = {p.name for p in run_dir.iterdir()}
    assert {"weights.weights.h5", "config.json", "history.json", "tensorboard"} <= names
    assert json.loads((run_dir / "config.json").read_text())["config"]["memory_size"] == 5000


def test_evaluate_json(trained):
    run_dir, _ = trained
    out = run("evaluate", "--run-dir", str(run_dir), "--episodes", "2", "--seed", "0", "--json")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["episodes"]) == 2
    assert result["env"] == "LunarLander-v3" and "on LunarLander-v3" in out.stdout
    assert result["mean"] == pytest.approx(sum(result["episodes"]) / 2)
    assert "landings" not in result  # LunarLander does not report landings
    again = run("evaluate", "--run-dir", str(run_dir), "--episodes", "2", "--seed", "0", "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1]) == result
    # Episode i starts from reset(seed=SEED + i): the second start alone is start 1.
    second = run("evaluate", "--run-dir", str(run_dir), "--episodes", "1", "--seed", "1", "--json")
    assert json.loads(second.stdout.strip().splitlines()[-1])["episodes"] == result["episodes"][1:]
    best = run("evaluate", "--run-dir", str(run_dir), "--episodes", "1", "--weights", "best",
               check=False)  # fmt: skip
    assert best.returncode == 2
    assert "no best.weights.h5" in best.stderr and "eval_every_steps > 0" in best.stderr
    # --env plays another game with the run's agent; one with other spaces is refused.
    other = run("evaluate", "--run-dir", str(run_dir), "--episodes", "1", "--env", "CartPole-v1",
                check=False)  # fmt: skip
    assert other.returncode == 2 and "built for another architecture" in other.stderr


def test_replay_writes_a_gif(trained, tmp_path):
    run_dir, _ = trained
    gif = tmp_path / "agent.gif"
    out = run("replay", "--run-dir", str(run_dir), "--gif", str(gif), "--every", "1", "--json")
    assert gif.read_bytes()[:4] == b"GIF8"
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["steps"] > 0 and f"{summary['steps']} steps" in out.stdout
    best = run("replay", "--run-dir", str(run_dir), "--gif", str(gif), "--weights", "best",
               check=False)  # fmt: skip
    assert best.returncode == 2 and "no best.weights.h5" in best.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "--env", "LunarLander-v2", "--episodes", "1"], "renamed 'LunarLander-v3'"),
        (["train", "--env", "Nope-v0", "--episodes", "1"], "not a registered gymnasium"),
        (["train", "--episodes", "0"], "--episodes must be an integer >= 1 (got 0)"),
        (["train", "--episodes", "1", "--set", "gamma=2"], "gamma must be a number in [0, 1]"),
        (["train", "--episodes", "1", "--set", "batch_size=0"], "batch_size must be"),
        (["train", "--episodes", "1", "--set", "eval_env=CartPole-v1"], "'CartPole-v1' has"),
        (["evaluate", "--episodes", "1"], "no config.json in run folder"),
    ],
)
def test_bad_input_is_one_line_without_traceback(args, needle, tmp_path):
    proc = run(*args, "--run-dir", str(tmp_path / "nowhere"), check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert not (tmp_path / "nowhere").exists()  # refused before the run folder is made


def test_evaluate_and_replay_judge_a_run_on_its_eval_env_unless_told():
    from dqn_tf.evaluation import judged_config
    from dqn_tf.presets import get_preset

    variant = get_preset("rocket", env="RocketLanderNearDeck-v0", eval_env="RocketLander-v0")
    assert judged_config(variant, None).env == "RocketLander-v0"
    assert judged_config(variant, "RocketLanderCurriculum-v0").env == "RocketLanderCurriculum-v0"
    assert judged_config(variant, None).eval_env == ""
    plain = get_preset("book")
    assert judged_config(plain, None) == plain
