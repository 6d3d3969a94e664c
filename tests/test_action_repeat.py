"""Action repeat (``Config.action_repeat``, ``games.ActionRepeat``): summed rewards, early
stop, game steps counted by the training loop, clear errors."""

import gymnasium as gym
import numpy as np
import pytest

from dqn_tf.environment import Environment
from dqn_tf.games import ActionRepeat, make_env
from dqn_tf.presets import Config, ConfigError, get_preset


class Counter(gym.Env):
    """Step k (1-based) pays reward k and terminates at step ``last``; the observation is
    [k, action] so a test can see which action reached the game."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, last: int = 5) -> None:
        self.last = last
        self.k = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.k += 1
        obs = np.array([self.k, action], np.float32)
        return obs, float(self.k), self.k >= self.last, False, {"k": self.k}


def test_repeat_sums_rewards_and_stops_when_the_game_ends():
    env = ActionRepeat(Counter(last=5), 3)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(2)
    assert reward == 1 + 2 + 3
    assert info == {"k": 3, "game_steps": 3}
    assert obs.tolist() == [3.0, 2.0]
    assert not terminated
    # Only two game steps are left: the repeat stops at the terminating one.
    obs, reward, terminated, truncated, info = env.step(1)
    assert reward == 4 + 5
    assert info["game_steps"] == 2
    assert terminated and not truncated
    assert obs.tolist() == [5.0, 1.0]


def test_repeat_one_is_the_plain_game():
    env = make_env("CartPole-v1")
    assert not isinstance(env, ActionRepeat)
    assert isinstance(make_env("CartPole-v1", action_repeat=4), ActionRepeat)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4"])
def test_bad_action_repeat_is_named(bad):
    with pytest.raises(ConfigError, match="action_repeat"):
        Config(action_repeat=bad)
    with pytest.raises(ConfigError, match="action_repeat must be an integer >= 1"):
        make_env("CartPole-v1", action_repeat=bad)


def test_training_loop_counts_game_steps_not_decisions(tmp_path):
    """CartPole pays 1 per game step, so an episode's return is its number of game steps:
    the loop's step count must equal it, and the agent's decision counter must be that
    count divided by the repeat, rounded up (the last decision may be cut short)."""
    config = get_preset("book", env="CartPole-v1", memory_size=2_000, action_repeat=4)
    env = Environment(config=config, seed=0, run_dir=tmp_path / "run", summaries=False)
    returns = env.train(episodes=3, log_every=0)
    assert env.episode_lengths == [int(r) for r in returns]
    assert env.total_steps == sum(env.episode_lengths)
    decisions = sum(-(-length // 4) for length in env.episode_lengths)
    assert int(env.agent.steps.numpy()) == decisions
    assert len(env.agent.memory) == decisions
    # The evaluation copy of the game repeats too.
    assert isinstance(env.evaluation_runner().env, ActionRepeat)


def test_step_budget_counts_game_steps(tmp_path):
    config = get_preset("book", env="CartPole-v1", memory_size=2_000, action_repeat=3)
    env = Environment(config=config, seed=1, run_dir=tmp_path / "run", summaries=False)
    env.learn(epsilon=1.0, episodes=None, steps=100, log_every=0)
    # A budget is used up to the decision that crosses it, at most repeat - 1 over.
    assert 100 <= env.total_steps <= 102
