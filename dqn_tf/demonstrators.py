"""The registry of demonstrators: scripted policies a run names in ``Config.demonstrator``,
registered by name as gymnasium registers its games. A run folder holds only the name, so
reading one never imports a module it names: only code registered here, by this package or by
the user's own code before training, is ever run."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from dqn_tf.errors import ConfigError

DEMONSTRATORS: dict[str, str | Callable[[Any], int]] = {
    "rocket_heuristic": "dqn_tf.envs.rocket_heuristic:heuristic",
    "rocket_gimbal": "dqn_tf.envs.rocket_gimbal:gimbal_controller",
}
# Run folders written before the registry held the import path; it stands for this name.
FORMER_PATHS = {"dqn_tf.envs.rocket_heuristic:heuristic": "rocket_heuristic"}


def register_demonstrator(name: str, policy: str | Callable[[Any], int]) -> None:
    """Make ``policy`` (a function, or ``"module:function"`` imported on first use) available
    as ``Config(demonstrator=name)``.

    Raises:
        ConfigError: ``name`` is not an identifier or is taken by another policy.
    """
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
    """The scripted policy registered as ``name`` (``Config.demonstrator``).

    Raises:
        ConfigError: no policy is registered under ``name`` (the message lists those that
            are), or the registered entry cannot be imported or is not a function.
    """
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
