"""Making games: ``gymnasium.make`` with clear errors, without importing TensorFlow (so the
command line can reject a bad ``--env`` before paying for TensorFlow's start-up)."""

from __future__ import annotations

import gymnasium as gym

import dqn_tf.envs  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.presets import ConfigError

_RENAMED = {"LunarLander-v2": "LunarLander-v3", "LunarLanderContinuous-v2": "LunarLander-v3"}


def make_env(game: str, render_mode: str | None = None) -> gym.Env:
    """``gymnasium.make(game)`` with clear errors for renamed, unknown and unsupported games.

    Raises:
        ConfigError: the id is unknown or renamed, or the game's action space is not
            Discrete, or its observation is not a flat vector.
    """
    if game in _RENAMED:
        raise ConfigError(
            f"env {game!r} is gone from gymnasium: it was renamed {_RENAMED[game]!r} "
            f"(use --env {_RENAMED[game]})"
        )
    try:
        env = gym.make(game, render_mode=render_mode)
    except gym.error.Error as exc:
        raise ConfigError(
            f"env {game!r} is not a registered gymnasium environment ({exc}); "
            f"for example: LunarLander-v3, CartPole-v1, RocketLander-v0"
        ) from exc
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise ConfigError(
            f"env {game!r} has action space {env.action_space}; DQN needs a Discrete one "
            f"(e.g. LunarLander-v3, not LunarLander-v3 with continuous=True)"
        )
    shape = env.observation_space.shape
    if shape is None or len(shape) != 1:
        env.close()
        raise ConfigError(
            f"env {game!r} has observation shape {shape}; this agent needs a flat vector"
        )
    return env
