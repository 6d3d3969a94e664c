"""The Environment: the learning loop, its files, determinism and errors."""

import json

import gymnasium as gym
import numpy as np
import pytest

from dqn_tf.environment import Environment, make_env
from dqn_tf.presets import ConfigError, get_preset

SMALL = dict(memory_size=5_000, summary_every=10)


def small_env(tmp_path, seed=0, name="run", **changes):
    config = get_preset("book", **{**SMALL, **changes})
    return Environment(config=config, seed=seed, run_dir=tmp_path / name)


def weights_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_same_seed_same_run(tmp_path):
    runs = []
    for name in ("a", "b"):
        env = small_env(tmp_path, seed=3, name=name)
        returns = env.train(episodes=3, log_every=0)
        runs.append((returns, env.agent.model.get_weights(), env.total_steps))
    assert runs[0][0] == runs[1][0]
    assert runs[0][2] == runs[1][2] > 0
    assert weights_equal(runs[0][1], runs[1][1])
    other = small_env(tmp_path, seed=4, name="c").train(episodes=3, log_every=0)
    assert other != runs[0][0]


@pytest.mark.parametrize("learn_order", ["overlap", "original"])
def test_compiled_loop_equals_the_books_step_by_step_loop(tmp_path, learn_order):
    """The in-graph episode loop and the book's Python loop (act, step, add + replay, target
    copy at episode end, epsilon decay) are one implementation: same seed, same run. In the
    overlapped order the step-by-step loop updates before the game steps and stores after."""
    compiled = small_env(tmp_path, seed=1, name="compiled", learn_order=learn_order)
    compiled_returns = compiled.train(episodes=2, log_every=0)

    book = small_env(tmp_path, seed=1, name="python", learn_order=learn_order)
    agent, gym_env = book.agent, book.env
    returns, losses = [], []
    for episode in range(2):
        s, _ = gym_env.reset(seed=1 if episode == 0 else None)
        total = 0.0
        for _ in range(1000):
            a = agent.act(s)
            if learn_order == "overlap":
                losses.append(agent.update())
            s_, r, terminated, truncated, _ = gym_env.step(a)
            total += r
            if learn_order == "overlap":
                agent.add_memory(s, a, r, s_, terminated)
            else:
                losses.append(agent.observe(s, a, r, s_, terminated))
            s = s_
            if terminated or truncated:
                break
        agent.target_model_update()
        agent.epsilon_update(episode)
        returns.append(total)
    np.testing.assert_allclose(returns, compiled_returns, rtol=1e-9)
    # The first update waits for more than one batch in memory: in the originals' order that
    # includes the transition just stored, so it comes one step earlier.
    first = next(i for i, loss in enumerate(losses) if loss is not None)
    assert first == (33 if learn_order == "overlap" else 32)
    assert int(agent.brain.updates.numpy()) == int(compiled.agent.brain.updates.numpy())
    assert int(agent.brain.updates.numpy()) == len(losses) - first
    for x, y in zip(agent.model.get_weights(), compiled.agent.model.get_weights(), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_the_two_learn_orders_part_when_learning_starts(tmp_path):
    """Same seed, two orders: the same game until the first update, then two runs. The
    overlapped update waits one step longer (the memory it reads lacks the step's own
    transition), so from there on the generator's draws fall differently."""
    memories, weights = {}, {}
    for order in ("overlap", "original"):
        env = small_env(tmp_path, seed=2, name=order, learn_order=order)
        env.train(episodes=1, log_every=0)
        memories[order] = env.agent.memory.recall_memories()
        weights[order] = env.agent.model.get_weights()
    for x, y in zip(memories["overlap"], memories["original"], strict=True):
        np.testing.assert_array_equal(x[:33], y[:33])  # acted before any update
    assert not all(
        np.array_equal(x[:80], y[:80])
        for x, y in zip(memories["overlap"], memories["original"], strict=True)
    )
    assert not weights_equal(weights["overlap"], weights["original"])


def test_train_leaves_weights_config_history_and_logs(tmp_path):
    env = small_env(tmp_path)
    returns = env.train(episodes=2, log_every=1)
    run = tmp_path / "run"
    assert (run / "weights.weights.h5").is_file()
    saved = json.loads((run / "config.json").read_text())
    assert saved["seed"] == 0 and saved["config"]["batch_size"] == 32
    history = json.loads((run / "history.json").read_text())
    assert history["episode_rewards"] == returns
    assert sum(history["episode_lengths"]) == history["steps"] == env.total_steps
    assert list((run / "tensorboard").iterdir())
    assert len(env.reward_avg) == 2
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_tensorboard_tags_are_the_books(tmp_path):
    import tensorflow as tf

    env = small_env(tmp_path, summary_every=1)
    env.train(episodes=2, log_every=0)
    tags = {}
    for path in (tmp_path / "run" / "tensorboard").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    updates = int(env.agent.brain.updates.numpy())
    assert updates > 0
    assert {t: tags[t] for t in ("loss", "max_q_value", "mean_q_value")} == {
        "loss": updates,
        "max_q_value": updates,
        "mean_q_value": updates,
    }
    for tag in ("episode/reward", "episode/reward_avg100", "episode/epsilon", "episode/length"):
        assert tags[tag] == 2


def test_greedy_play_never_changes_training(tmp_path):
    """Periodic evaluations play greedily on their own copy of the game and draw nothing
    from the training generator: a run with them trains exactly as one without."""
    plain = small_env(tmp_path, name="plain")
    plain.train(episodes=4, log_every=0)
    evaluated = small_env(tmp_path, name="eval", eval_every_steps=100, eval_episodes=2)
    evaluated.train(episodes=4, log_every=0)
    assert evaluated.evaluations
    assert evaluated.episode_rewards == plain.episode_rewards
    assert weights_equal(evaluated.agent.model.get_weights(), plain.agent.model.get_weights())


def test_periodic_evaluation_keeps_the_best_weights(tmp_path):
    env = small_env(tmp_path, eval_every_steps=100, eval_episodes=2)
    env.train(episodes=6, log_every=0)
    steps = [s for s, _ in env.evaluations]
    means = [m for _, m in env.evaluations]
    assert steps and all(s >= 100 for s in steps)
    # at most one evaluation per 100-step bucket, each at an episode's end
    assert len({s // 100 for s in steps}) == len(steps)
    assert set(steps) <= set(np.cumsum(env.episode_lengths).tolist())
    assert env.best_eval == max(means)
    assert env.best_weights_path.is_file()
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["best_eval"] == env.best_eval and history["evaluations"] == env.evaluations
    # the best weights are a saved copy of the network at the best evaluation
    again = Environment(config=env.config, run_dir=env.run_dir, summaries=False)
    again.agent.load_weights(env.best_weights_path)


def test_reward_avg_keeps_the_last_100(tmp_path):
    env = small_env(tmp_path)
    env.reward_avg.extend(range(150))
    assert list(env.reward_avg) == list(range(50, 150))


def test_step_budget_is_exact(tmp_path):
    env = small_env(tmp_path)
    returns = env.train(episodes=None, steps=150, log_every=0)
    assert env.total_steps == 150
    assert int(env.agent.steps.numpy()) == 150
    assert len(returns) == len(env.episode_rewards)  # whole episodes only
    assert sum(env.episode_lengths) <= 150


def test_test_is_greedy_and_learns_nothing(tmp_path):
    env = small_env(tmp_path)
    env.train(episodes=1, log_every=0)
    weights = env.agent.model.get_weights()
    stored = len(env.agent.memory)
    first = env.test(episodes=2, log_every=0)
    assert len(env.agent.memory) == stored
    assert weights_equal(weights, env.agent.model.get_weights())
    # A fresh object on the same run folder loads the saved weights for test().
    again = Environment(config=env.config, seed=0, run_dir=env.run_dir, summaries=False)
    assert not weights_equal(weights, again.agent.model.get_weights())
    env2_returns = again.test(episodes=1, log_every=0)
    assert weights_equal(weights, again.agent.model.get_weights())
    assert len(env2_returns) == 1 and len(first) == 2


def test_a_test_from_a_start_seed_plays_each_start_by_its_own_seed(tmp_path):
    """test(seed=S) plays starts S, S+1, ...: each one alone gives the same return, whatever
    was played before, and the training game's own stream is left as it was."""
    env = small_env(tmp_path)
    returns = env.test(episodes=3, seed=50, log_every=0)
    alone = {}
    for i in (2, 0, 1):  # in another order, each on a fresh game
        alone[i] = small_env(tmp_path, name=f"s{i}").test(episodes=1, seed=50 + i, log_every=0)
    assert returns == alone[0] + alone[1] + alone[2]
    assert len(set(returns)) == 3  # three different starts
    # The first start of an unseeded test is the training game's first (seed 0), not 50.
    assert env.test(episodes=1, log_every=0) == small_env(tmp_path, name="z").test(
        episodes=1, seed=0, log_every=0
    )


def test_prefill_fills_more_than_a_batch(tmp_path):
    env = small_env(tmp_path, prefill=True, batch_size=64)
    env.train(episodes=1, log_every=0)
    assert env.prefill_steps > 64
    assert len(env.agent.memory) == env.prefill_steps + env.total_steps


def test_frames_can_be_captured(tmp_path):
    config = get_preset("book", **SMALL)
    env = Environment(config=config, run_dir=tmp_path / "r", render_mode="rgb_array")
    (ret,) = env.learn(epsilon=0.0, episodes=1, trainable=False, capture_frames=True)
    frames = env.runner.frames
    assert frames[0].shape == (400, 600, 3)
    assert len(frames) >= 2
    with pytest.raises(ConfigError, match="render_mode='rgb_array'"):
        small_env(tmp_path, name="x").learn(episodes=1, capture_frames=True)


@pytest.mark.parametrize(
    "game,needle",
    [
        ("LunarLander-v2", "renamed 'LunarLander-v3'"),
        ("NoSuchGame-v0", "'NoSuchGame-v0' is not a registered gymnasium environment"),
        ("MountainCarContinuous-v0", "DQN needs a Discrete one"),
    ],
)
def test_bad_games_are_named(game, needle):
    with pytest.raises(ConfigError) as err:
        make_env(game)
    assert needle in str(err.value)


def test_bad_episode_counts(tmp_path):
    env = small_env(tmp_path)
    with pytest.raises(ConfigError, match=r"episodes must be an integer >= 1 \(got 0\)"):
        env.train(episodes=0)
    with pytest.raises(ConfigError, match="steps must be an integer >= 1"):
        env.train(episodes=None, steps=-5)


def test_periodic_evaluation_counts_landings_where_the_game_reports_them(tmp_path):
    config = get_preset(
        "rocket",
        hidden=(16,),
        memory_size=2_000,
        batch_size=16,
        eval_every_steps=100,
        eval_episodes=2,
        demo_episodes=2,
    )
    env = Environment(config=config, seed=0, run_dir=tmp_path / "rocket", summaries=False)
    env.train(episodes=1, log_every=0)
    assert env.evaluations
    for steps, mean, landings in env.evaluations:
        assert steps > 0 and np.isfinite(mean)
        assert isinstance(landings, int) and 0 <= landings <= 2
    # LunarLander reports no landings: [steps, mean] pairs only.
    lunar = small_env(tmp_path, name="lunar", eval_every_steps=50, eval_episodes=1)
    lunar.train(episodes=1, log_every=0)
    assert lunar.evaluations and all(len(e) == 2 for e in lunar.evaluations)


class _ToyLander(gym.Env):
    """Three steps per episode; the last step 'lands' when its action is 1. Every outcome is
    logged on the class so a test can compare the Environment's record with the truth."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)
    outcomes: list[bool] = []

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == 3
        info = {"landed": bool(done and action == 1)}
        if done:
            _ToyLander.outcomes.append(info["landed"])
        return np.full(2, self.t / 3, np.float32), float(action), done, False, info


gym.register("ToyLander-v0", entry_point=_ToyLander)


def test_training_keeps_the_episodes_that_landed(tmp_path):
    _ToyLander.outcomes = []
    env = small_env(tmp_path, env="ToyLander-v0", memory_size=500, epsilon_decay=1.0)
    env.train(episodes=12, log_every=0)
    truth = [i for i, landed in enumerate(_ToyLander.outcomes) if landed]
    assert 0 < len(truth) < 12  # a random policy lands some and misses some
    assert env.landed_episodes == truth
    assert json.loads((env.run_dir / "history.json").read_text())["landed_episodes"] == truth
    resumed = small_env(tmp_path, env="ToyLander-v0", memory_size=500, epsilon_decay=1.0)
    resumed.resume()
    assert resumed.landed_episodes == truth


def test_periodic_evaluations_play_the_eval_env(tmp_path):
    config = get_preset("book", env="CartPole-v1", eval_env="CartPole-v0", **SMALL)
    env = Environment(
        config=config.replace(eval_every_steps=20, eval_episodes=1), seed=0, run_dir=tmp_path
    )
    env.train(episodes=2, log_every=0)
    assert env.evaluations and env.eval_env.spec.id == "CartPole-v0"
    # A game with other observations or actions cannot judge this agent: refused before
    # anything is trained or written.
    odd = config.replace(eval_env="MountainCar-v0")
    with pytest.raises(ConfigError, match="eval_env 'MountainCar-v0' has observations"):
        Environment(config=odd, seed=0, run_dir=tmp_path / "odd")
    assert not (tmp_path / "odd").exists()
