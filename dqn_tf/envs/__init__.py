"""Environments shipped with dqn_tf (RocketLander-v0, seed 000's game).

Importing this package registers ``RocketLander-v0`` with gymnasium, so that after
``import dqn_tf`` (which imports this package) ``gymnasium.make("RocketLander-v0")`` works.
The environment was published for the old ``gym`` API and never became part of gym or
gymnasium, hence this port (see :mod:`dqn_tf.envs.rocket_lander`).

This package must stay free of TensorFlow imports: environments are used by tools and
tests that should not pay for loading TensorFlow.
"""

import gymnasium

from dqn_tf.envs.rocket_lander import RocketLander

__all__ = ["RocketLander"]

# Registering an id twice makes gymnasium warn ("Overriding environment ..."); the guard keeps
# re-imports and importlib.reload silent.
if "RocketLander-v0" not in gymnasium.registry:
    gymnasium.register(
        id="RocketLander-v0",
        entry_point="dqn_tf.envs.rocket_lander:RocketLander",
        max_episode_steps=1000,
        reward_threshold=0,
    )
