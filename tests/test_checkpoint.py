"""Exact resume, atomic checkpoints, interruption and the errors around them."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dqn_tf.checkpoint import CheckpointError, read_checkpoint
from dqn_tf.environment import Environment
from dqn_tf.presets import get_preset

SMALL = dict(memory_size=5_000, summary_every=10)
CLI_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SDL_VIDEODRIVER": "dummy"}


def make(run_dir, seed=2, **changes):
    return Environment(
        config=get_preset("book", **{**SMALL, **changes}), seed=seed, run_dir=run_dir
    )


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("eval_every_steps", [0, 150])
def test_split_run_equals_straight_run(tmp_path, eval_every_steps):
    changes = dict(eval_every_steps=eval_every_steps, eval_episodes=2)
    straight = make(tmp_path / "straight", **changes)
    straight.train(episodes=6, log_every=0)

    first = make(tmp_path / "split", **changes)
    first.train(episodes=3, log_every=0)
    # a new object, as after a restart: resume and continue to 6 episodes in total
    second = make(tmp_path / "split", seed=99, **changes)  # the checkpoint's state wins
    second.resume()
    assert len(second.agent.memory) == len(first.agent.memory) > 0
    second.train(epsilon=None, episodes=3, log_every=0)

    assert second.episode_rewards == straight.episode_rewards
    assert second.episode_lengths == straight.episode_lengths
    assert second.total_steps == straight.total_steps
    assert list(second.reward_avg) == list(straight.reward_avg)
    assert second.agent.epsilon == straight.agent.epsilon
    assert same_weights(second.agent.model.get_weights(), straight.agent.model.get_weights())
    assert same_weights(
        second.agent.target_model.get_weights(), straight.agent.target_model.get_weights()
    )
    np.testing.assert_array_equal(
        second.agent.memory.recall_memories()[0], straight.agent.memory.recall_memories()[0]
    )
    assert second.evaluations == straight.evaluations
    if eval_every_steps:
        assert len(straight.evaluations) >= 2  # evaluations on both sides of the split


def test_checkpoint_holds_the_whole_state(tmp_path):
    env = make(tmp_path / "r")
    env.train(episodes=2, log_every=0)
    header, arrays = read_checkpoint(env.checkpoint_path)
    assert header["episode_rewards"] == env.episode_rewards
    assert header["total_steps"] == env.total_steps
    assert header["config"] == env.config.to_dict()
    assert {"memory/states", "memory/index", "agent/generator", "agent/epsilon"} <= set(arrays)
    assert any(k.startswith("optimizer/") for k in arrays)
    assert arrays["memory/states"].shape == (5_000, 8)
    assert int(arrays["memory/size"]) == env.total_steps
    assert not [p for p in env.run_dir.iterdir() if p.name.endswith(".tmp")]


def test_checkpoint_every_n_episodes(tmp_path):
    env = make(tmp_path / "r", checkpoint_every=2)
    env.save_checkpoint = _counting(env.save_checkpoint)
    env.train(episodes=5, log_every=0)
    assert env.save_checkpoint.calls == 3  # after episodes 2 and 4, and at the end


def _counting(fn):
    def wrapper(*a, **k):
        wrapper.calls += 1
        return fn(*a, **k)

    wrapper.calls = 0
    return wrapper


def test_damaged_checkpoint_is_named_and_nothing_changes(tmp_path):
    env = make(tmp_path / "r")
    env.train(episodes=1, log_every=0)
    path = env.checkpoint_path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a truncated file
    other = make(tmp_path / "r")
    before = other.agent.model.get_weights()
    with pytest.raises(CheckpointError) as err:
        other.resume()
    assert str(path) in str(err.value) and "damaged" in str(err.value)
    assert same_weights(before, other.agent.model.get_weights())
    assert other.episode_rewards == [] and len(other.agent.memory) == 0
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="damaged"):
        other.resume()
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        other.resume(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "changes,needle",
    [
        (dict(hidden=(16,)), "hidden layers [32, 32]"),
        (dict(learning_rate=1e-3), "learning_rate: 0.0001 there, 0.001 here"),
        (dict(memory_size=6_000), "memory_size"),
    ],
)
def test_checkpoint_from_another_network_or_config(tmp_path, changes, needle):
    make(tmp_path / "r").train(episodes=1, log_every=0)
    other = make(tmp_path / "r", **changes)
    with pytest.raises(CheckpointError) as err:
        other.resume()
    assert needle in str(err.value)
    assert str(tmp_path / "r" / "checkpoint.npz") in str(err.value)


def test_checkpoint_from_another_game(tmp_path):
    make(tmp_path / "r").train(episodes=1, log_every=0)
    cart = Environment(
        config=get_preset("book", env="CartPole-v1", **SMALL), run_dir=tmp_path / "r"
    )
    with pytest.raises(CheckpointError, match="made for env 'LunarLander-v3'"):
        cart.resume()


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path):
    env = make(tmp_path / "r")
    env.train(episodes=1, log_every=0)
    saved = env.checkpoint_path.read_bytes()
    weights = env.weights_path.read_bytes()
    env.agent.brain.optimizer.learning_rate.assign(1e30)  # blows the weights up
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        env.train(epsilon=None, episodes=20, log_every=0)
    assert env.checkpoint_path.read_bytes() == saved
    assert env.weights_path.read_bytes() == weights


def test_incremental_starts_with_a_full_memory(tmp_path, capsys):
    env = make(tmp_path / "r")
    env.train(episodes=2, log_every=0)
    stored = len(env.agent.memory)
    later = make(tmp_path / "r")
    later.incremental(episodes=1, log_every=0)
    assert "Resumed from" in capsys.readouterr().out
    assert len(later.agent.memory) > stored  # started full, then added an episode
    assert len(later.episode_rewards) == 3

    weights_only = make(tmp_path / "w")
    weights_only.train(episodes=1, log_every=0)
    weights_only.checkpoint_path.unlink()
    cold = make(tmp_path / "w")
    cold.incremental(episodes=1, log_every=0)
    out = capsys.readouterr().out
    assert "weights only, the memory starts empty" in out
    assert len(cold.agent.memory) == cold.total_steps


def test_cold_restart_keeps_the_incremental_epsilon_of_a_linear_schedule(tmp_path):
    # fast-like schedule: a linear phase of 300 decisions from 1.0 to 0.1, then a floor of 0.1.
    linear = dict(epsilon_linear_steps=300, epsilon_linear_end=0.1, epsilon_min=0.1)
    first = make(tmp_path / "w", **linear)
    first.train(episodes=1, log_every=0)
    first.checkpoint_path.unlink()  # weights only: the book's cold restart
    cold = make(tmp_path / "w", **linear)
    cold.incremental(epsilon=0.01, episodes=2, log_every=0)
    assert len(cold.agent.memory) == cold.total_steps > 0  # it did start empty and play
    # The linear phase did not restart at 1.0, and 0.01 is below the floor: it stays.
    assert cold.agent.epsilon == pytest.approx(0.01)


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "dqn_tf", *args],
        capture_output=True,
        text=True,
        env=CLI_ENV,
        timeout=300,
    )


def test_interrupted_cli_run_resumes_to_the_straight_run(tmp_path):
    common = [
        "--preset",
        "book",
        "--seed",
        "5",
        "--set",
        "memory_size=5000",
        "--set",
        "checkpoint_every=1",
        "--log-every",
        "0",
    ]
    run_dir = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dqn_tf",
            "train",
            "--episodes",
            "400",
            "--run-dir",
            str(run_dir),
            *common,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLI_ENV,
    )
    deadline = time.time() + 120
    while not (run_dir / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "checkpoint of" in err and "resume with --resume" in err
    assert "Traceback" not in err
    done = len(json.loads((run_dir / "history.json").read_text())["episode_rewards"])
    assert 1 <= done < 400
    total = done + 3

    resumed = cli(
        "train", "--episodes", str(total), "--run-dir", str(run_dir), "--resume", "--json", *common
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    resumed_rewards = json.loads(resumed.stdout.strip().splitlines()[-1])["episode_rewards"]
    straight = cli(
        "train",
        "--episodes",
        str(total),
        "--run-dir",
        str(tmp_path / "straight"),
        "--json",
        *common,
    )
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert (
        resumed_rewards == json.loads(straight.stdout.strip().splitlines()[-1])["episode_rewards"]
    )
    # a fresh train into a folder that holds a checkpoint is refused, nothing overwritten
    before = (run_dir / "checkpoint.npz").read_bytes()
    again = cli("train", "--episodes", "2", "--run-dir", str(run_dir), *common)
    assert again.returncode == 2 and "already holds a checkpoint" in again.stderr
    assert (run_dir / "checkpoint.npz").read_bytes() == before
    missing = cli(
        "train", "--episodes", "2", "--run-dir", str(tmp_path / "none"), "--resume", *common
    )
    assert missing.returncode == 2 and "no config.json in run folder" in missing.stderr


def test_demonstration_flags_survive_a_resume_and_older_checkpoints_have_none(tmp_path):
    env = make(tmp_path / "r")
    env.train(episodes=1, log_every=0)
    flags = np.arange(env.agent.memory.capacity) % 3 == 0
    env.agent.memory.demo.assign(flags)
    path = env.save_checkpoint()
    resumed = make(tmp_path / "r")
    resumed.resume()
    np.testing.assert_array_equal(resumed.agent.memory.demo.numpy(), flags)

    # A checkpoint written before the flags existed: no demonstrations in its memory.
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files if name != "memory/demo"}
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    older = make(tmp_path / "r")
    older.agent.memory.demo.assign(np.ones_like(flags))  # the restore must clear these
    older.resume()
    assert not older.agent.memory.demo.numpy().any()
    assert older.episode_rewards == env.episode_rewards


def test_a_run_folder_from_before_learn_order_resumes_in_the_original_order(tmp_path):
    """config.json and the checkpoint of a run made before `learn_order` existed have no
    such field: the run was trained in the originals' order, and resuming it goes on in that
    order, to the same episodes as a straight run in that order."""
    run = tmp_path / "old"
    env = make(run, learn_order="original")
    env.train(episodes=2, log_every=0)
    path = env.save_checkpoint()
    saved = json.loads((run / "config.json").read_text())
    del saved["config"]["learn_order"]
    (run / "config.json").write_text(json.dumps(saved))
    header, arrays = read_checkpoint(path)
    del header["config"]["learn_order"]
    arrays["__state__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)

    resumed = Environment.from_run_folder(run)
    assert resumed.config.learn_order == "original"
    resumed.resume()
    resumed.learn(episodes=1, epsilon=resumed.agent.epsilon, log_every=0)  # the third
    straight = make(tmp_path / "straight", learn_order="original")
    straight.train(episodes=3, log_every=0)
    assert resumed.episode_rewards == straight.episode_rewards
    assert same_weights(resumed.agent.model.get_weights(), straight.agent.model.get_weights())
