"""EpisodeRunner's crossing into the game: what it checks and what it keeps."""

import threading

import gymnasium as gym
import numpy as np
import pytest

from dqn_tf import loop
from dqn_tf.agent import Agent
from dqn_tf.loop import EpisodeRunner
from dqn_tf.presets import get_preset


class Walk(gym.Env):
    """A walk on a line: action 1 steps right, 0 left; the episode ends at +3. Its step can
    be made to return a state of the wrong size."""

    observation_space = gym.spaces.Box(-10, 10, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, bad_shape_at: int | None = None) -> None:
        self.bad_shape_at = bad_shape_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0, 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.x, self.t, 1.0], np.float32)

    def step(self, action):
        self.x += 1 if int(action) == 1 else -1
        self.t += 1
        obs = self._obs()
        if self.t == self.bad_shape_at:
            obs = np.zeros(5, np.float32)
        return obs, 0.5 * self.x, self.x >= 3, self.t >= 20, {}


def runner(game):
    config = get_preset("book", hidden=(4,), memory_size=64, batch_size=4)
    return EpisodeRunner(Agent(3, 2, config, seed=0), game)


def test_two_packed_outputs_carry_the_reward_the_flags_and_the_steps():
    """Epsilon 1 acts at random: the return is the sum of the rewards 0.5 * x, the episode
    ends when the walk reaches +3 (terminated) or after 20 steps (truncated), and every
    transition is stored with its own terminated flag."""
    game = Walk()
    run = runner(game)
    run.agent.epsilon = 1.0
    s0, _ = game.reset(seed=0)
    ret, steps, done, _ = run.run(s0, 1000, mode="store")
    states, actions, rewards, next_states, terminated = run.agent.memory.recall_memories()
    assert done and steps == len(actions) == int(next_states[-1, 1])
    np.testing.assert_allclose(rewards, 0.5 * next_states[:, 0])
    assert ret == pytest.approx(float(np.sum(0.5 * next_states[:, 0].astype(np.float64))))
    assert list(terminated) == [False] * (steps - 1) + [bool(next_states[-1, 0] >= 3)]
    np.testing.assert_array_equal(next_states[:-1], states[1:])


def test_a_state_of_the_wrong_size_is_named():
    game = Walk(bad_shape_at=2)
    run = runner(game)
    s0, _ = game.reset(seed=0)
    with pytest.raises(Exception, match=r"observation of shape \(5,\); its reset gave \(3,\)"):
        run.run(s0, 1000, mode="none", greedy=True)


def test_the_crossing_keeps_a_thread_state_per_tensorflow_thread_only():
    """The callback runs on TensorFlow's threads, never on Python's main thread; each of
    them gets its thread state once, and playing again reuses them."""
    game = Walk()
    run = runner(game)
    for _ in range(3):
        s0, _ = game.reset()
        run.run(s0, 1000, mode="none", greedy=True)
    threads = set(loop._THREADS_WITH_STATE)
    assert threads and threading.main_thread().ident not in threads
    for _ in range(5):
        s0, _ = game.reset()
        run.run(s0, 1000, mode="none", greedy=True)
    assert loop._THREADS_WITH_STATE == threads
