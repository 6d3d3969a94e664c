"""Games: made and checked with clear errors, without importing TensorFlow (so a bad
``--env`` or ``eval_env`` is refused before TensorFlow's start-up)."""

from __future__ import annotations

import gymnasium as gym

import dqn_tf.envs  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.errors import check_count
from dqn_tf.presets import Config, ConfigError

# Judging a trained run: episode i starts from reset(seed=HELD_OUT_SEED + i), starts that
# training (which seeds only its first reset, with the run's seed) does not choose.
HELD_OUT_SEED = 1000

_RENAMED = {"LunarLander-v2": "LunarLander-v3", "LunarLanderContinuous-v2": "LunarLander-v3"}


class ActionRepeat(gym.Wrapper):
    """Play each action for ``repeat`` game steps (fewer when the game ends), summing the
    reward (DQN's Atari "frame skip"); ``info["game_steps"]``: how many it took.

    Why: in RocketLander braking needs about a hundred "throttle up" actions in a row; repeated,
    they are a few dozen decisions, and exploration's random actions come in longer strokes."""

    def __init__(self, env: gym.Env, repeat: int) -> None:
        check_count("action_repeat", repeat)
        super().__init__(env)
        self.repeat = repeat

    def step(self, action):  # noqa: ANN001, ANN201 (gymnasium's signature)
        total, steps = 0.0, 0
        while steps < self.repeat:
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            steps += 1
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, dict(info, game_steps=steps)


def make_env(game: str, render_mode: str | None = None, action_repeat: int = 1) -> gym.Env:
    """``gymnasium.make(game)``, wrapped in :class:`ActionRepeat` when ``action_repeat`` > 1;
    a one-line ConfigError for a game DQN cannot play."""
    check_count("action_repeat", action_repeat)
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
    shape = env.observation_space.shape
    if not isinstance(env.action_space, gym.spaces.Discrete):
        problem = f"action space {env.action_space}; DQN needs a Discrete one"
        problem += " (e.g. LunarLander-v3, not LunarLander-v3 with continuous=True)"
    elif shape is None or len(shape) != 1:
        problem = f"observation shape {shape}; this agent needs a flat vector"
    else:
        return ActionRepeat(env, action_repeat) if action_repeat > 1 else env
    env.close()
    raise ConfigError(f"env {game!r} has {problem}")


def check_eval_env(config: Config, game: gym.Env) -> None:
    """Refuse, before any training, an ``eval_env`` whose spaces differ from the game's."""
    judge = make_env(config.eval_env)
    spaces = (judge.observation_space.shape, judge.action_space)
    judge.close()
    if spaces != (game.observation_space.shape, game.action_space):
        raise ConfigError(
            f"eval_env {config.eval_env!r} has observations {spaces[0]} and actions "
            f"{spaces[1]}; the training game {config.env!r} has "
            f"{game.observation_space.shape} and {game.action_space}"
        )


def check_games(config: Config) -> None:
    """The game checks ``train`` and ``sweep`` make before TensorFlow loads."""
    game = make_env(config.env)
    if config.eval_env:
        check_eval_env(config, game)
    game.close()
