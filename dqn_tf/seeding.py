"""One place that seeds every source of randomness (as CleanRL does)."""

from __future__ import annotations

import random

import numpy as np

from dqn_tf.quiet import keras, tf  # TensorFlow without its start-up noise

_determinism_on = False


def set_global_seeds(seed: int) -> None:
    """Seed Python's ``random``, numpy, TensorFlow and Keras with ``seed`` and turn on
    TensorFlow's op determinism, so the same seed gives the same run, weights included.

    The environment is seeded separately, by ``env.reset(seed=seed)`` on its first reset.
    """
    global _determinism_on
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)
    if not _determinism_on:
        tf.config.experimental.enable_op_determinism()
        _determinism_on = True
