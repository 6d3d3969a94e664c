"""Shared test set-up: quiet TensorFlow, headless pygame, small fast configurations."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest  # noqa: E402

from dqn_tf.presets import get_preset  # noqa: E402


@pytest.fixture
def tiny_book():
    """The book preset with a small memory so tests allocate little."""
    return get_preset("book", memory_size=5_000)
