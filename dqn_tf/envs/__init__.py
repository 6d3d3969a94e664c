"""Environments shipped with dqn_tf (RocketLander-v0, the Keras notebook's game, and variants).

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
# re-imports and importlib.reload silent. RocketLanderCurriculum-v0 is not the original game:
# episodes start anywhere from 0.2 H to the original 0.95 H, the start speed scaled to the
# height. RocketLanderNearDeck-v0 is not the original game either: half of its episodes start
# just above the deck. Each has its own name so that RocketLander-v0 stays the original
# (README, RocketLander).
_GAMES = {
    "RocketLander-v0": {},
    "RocketLanderCurriculum-v0": {"start_heights": (0.2, 0.95)},
    "RocketLanderNearDeck-v0": {"near_deck": 0.5},
}
for _id, _kwargs in _GAMES.items():
    if _id not in gymnasium.registry:
        gymnasium.register(
            id=_id,
            entry_point="dqn_tf.envs.rocket_lander:RocketLander",
            max_episode_steps=1000,
            reward_threshold=0,
            kwargs=_kwargs,
        )
