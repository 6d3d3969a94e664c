"""dqn_tf: the originals' Brain, Memory, Agent and Environment in TensorFlow 2.

Importing it registers ``RocketLander-v0`` with gymnasium; the classes are imported lazily, so
``import dqn_tf`` alone does not pay for TensorFlow's start-up.
"""

import importlib
from typing import TYPE_CHECKING, Any

from dqn_tf import envs  # noqa: F401  (registers RocketLander-v0)

__all__ = ["Agent", "Brain", "Config", "Environment", "Memory", "get_preset"]
__version__ = "0.1.0"

_LAZY = {
    "Agent": "dqn_tf.agent",
    "Brain": "dqn_tf.brain",
    "Memory": "dqn_tf.memory",
    "Environment": "dqn_tf.environment",
    "Config": "dqn_tf.presets",
    "get_preset": "dqn_tf.presets",
}

if TYPE_CHECKING:
    from dqn_tf.agent import Agent
    from dqn_tf.brain import Brain
    from dqn_tf.environment import Environment
    from dqn_tf.memory import Memory
    from dqn_tf.presets import Config, get_preset


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dqn_tf' has no attribute {name!r}")
