"""One place that seeds every source of randomness (as CleanRL does)."""

from __future__ import annotations

from dqn_tf.errors import check_count
from dqn_tf.quiet import keras, tf  # TensorFlow without its start-up noise


def set_global_seeds(seed: int) -> None:
    """Seed Python's ``random``, numpy, TensorFlow and Keras with ``seed`` and turn on
    TensorFlow's op determinism, so the same seed gives the same run, weights included. (The
    game is seeded separately, by ``env.reset(seed=seed)`` on its first reset.)"""
    check_count("seed", seed, least=0, error=ValueError)
    keras.utils.set_random_seed(seed)  # Python's random, numpy and TensorFlow's seeds too
    tf.config.experimental.enable_op_determinism()
