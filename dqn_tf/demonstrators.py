"""Demonstrators: scripted policies whose episodes fill the replay memory before learning (DQfD).

Registered by name, as gymnasium registers games: a run folder holds only the name, so only
code registered here is ever run."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from dqn_tf.environment import Environment

DEMONSTRATORS: dict[str, str | Callable[[Any], int]] = {
    "rocket_heuristic": "dqn_tf.envs.rocket_heuristic:heuristic",
    "rocket_gimbal": "dqn_tf.envs.rocket_gimbal:gimbal_controller",
}
# Run folders written before the registry held the import path; it stands for this name.
FORMER_PATHS = {"dqn_tf.envs.rocket_heuristic:heuristic": "rocket_heuristic"}


def register_demonstrator(name: str, policy: str | Callable[[Any], int]) -> None:
    """Make ``policy`` (a function, or ``"module:function"`` imported on first use) available
    as ``Config(demonstrator=name)``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"a demonstrator's name must be an identifier (got {name!r})")
    if name in DEMONSTRATORS and DEMONSTRATORS[name] != policy:
        raise ConfigError(f"demonstrator {name!r} is already registered ({DEMONSTRATORS[name]!r})")
    if not (callable(policy) or (isinstance(policy, str) and policy.count(":") == 1)):
        raise ConfigError(
            f"demonstrator {name!r} must be a function or 'module:function' (got {policy!r})"
        )
    DEMONSTRATORS[name] = policy


def load_demonstrator(name: str) -> Callable[[Any], int]:
    """The scripted policy registered as ``name``, imported if it is a ``"module:function"``."""
    if name not in DEMONSTRATORS:
        raise ConfigError(
            f"demonstrator {name!r} is not registered; registered: {sorted(DEMONSTRATORS)} "
            f"(register yours with dqn_tf.presets.register_demonstrator before training)"
        )
    policy = DEMONSTRATORS[name]
    if isinstance(policy, str):
        module_name, _, attribute = policy.partition(":")
        try:
            policy = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"demonstrator {name!r} ({DEMONSTRATORS[name]}) cannot be loaded ({exc})"
            ) from exc
    if not callable(policy):
        raise ConfigError(f"demonstrator {name!r} is not a function (got {type(policy).__name__})")
    return policy


def demonstrate(env: Environment, log: bool) -> None:
    """:func:`store_demonstrations`; Ctrl-C during it says that there is nothing to resume."""
    try:
        store_demonstrations(env, log)
    except KeyboardInterrupt as exc:
        # A checkpoint of half the demonstrations would resume into another run than the
        # straight one, so none is written.
        raise KeyboardInterrupt(
            "interrupted while storing demonstrations, before any training: there is "
            "nothing to resume; start the run again (without --resume)"
        ) from exc


def store_demonstrations(env: Environment, log: bool) -> None:
    """Store ``demo_episodes`` episodes of the demonstrator in ``env``'s (empty) memory, played
    through the training game; their game steps count as pre-fill steps."""
    config = env.config
    policy = load_demonstrator(config.demonstrator)
    decisions = landings = 0
    for episode in range(config.demo_episodes):
        s, _ = env.env.reset(seed=env._take_reset_seed())
        steps, done = 0, False
        info: dict[str, Any] = {}
        episode_transitions: list[tuple[Any, ...]] = []
        while not done and steps < config.max_episode_steps:
            a = int(policy(s))
            s_, r, terminated, truncated, info = env.env.step(a)
            episode_transitions.append((s, a, r, s_, terminated))
            steps += info.get("game_steps", 1)
            s, done = s_, terminated or truncated
        columns = zip(*episode_transitions, strict=True)
        env.agent.memory.add_memories(*(np.array(column) for column in columns), demo=True)
        decisions += len(episode_transitions)
        env.prefill_steps += steps
        landings += bool(info.get("landed"))
        if log and ((episode + 1) % 100 == 0 or episode + 1 == config.demo_episodes):
            print(
                f"demonstrations: {episode + 1}/{config.demo_episodes} episodes of "
                f"{config.demonstrator}, {decisions} transitions stored, {landings} landings",
                flush=True,
            )
