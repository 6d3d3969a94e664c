"""Export: a run's trained Q-network as files that play without this package.

``saved_model`` maps a batch of observations to greedy ``actions`` and ``q_values`` (its
``metadata``: game, sizes, configuration as JSON); ``q_network.keras`` is the Keras model,
``q_network.tflite`` a LiteRT one when TensorFlow can convert it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dqn_tf.errors import ConfigError
from dqn_tf.quiet import keras, quiet_native_stderr, tf


class _Policy(tf.Module):
    """What the SavedModel holds: the Q-network, its greedy policy and the run's metadata."""

    def __init__(self, model: keras.Model, metadata: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        # A variable, because the SavedModel keeps variables (a constant attribute is lost).
        self.metadata = tf.Variable(json.dumps(metadata, sort_keys=True), trainable=False)
        spec = tf.TensorSpec([None, metadata["observation_size"]], tf.float32, "observations")
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        q = self.model(observations, training=False)
        return {"actions": tf.argmax(q, axis=1, output_type=tf.int32), "q_values": q}


def export(
    run_dir: str | os.PathLike, to: str | os.PathLike, weights: str = "final"
) -> dict[str, Any]:
    """Write the run's ``"final"`` or ``"best"`` weights into the new or empty folder ``to``,
    all or nothing. Returns the paths written and ``litert``: None, or why no .tflite."""
    from dqn_tf.brain import Brain
    from dqn_tf.games import make_env
    from dqn_tf.run_folder import read_config, weights_file

    run_dir, to = Path(run_dir), Path(to)
    config, _ = read_config(run_dir)
    path = weights_file(run_dir, weights)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise ConfigError(f"--to {to} exists and is not an empty folder; choose a new one")
    game = make_env(config.env)
    nS, nA = int(game.observation_space.shape[0]), int(game.action_space.n)
    game.close()
    brain = Brain(nS, nA, config)
    brain.load_weights(path)  # weights of another network: ConfigError naming both shapes
    metadata = {"env": config.env, "observation_size": nS, "action_size": nA,
                "weights": weights, "config": config.to_dict()}  # fmt: skip
    to.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".dqn_tf-export-", dir=to.parent))
    try:
        policy = _Policy(brain.model, metadata)
        tf.saved_model.save(policy, str(staging / "saved_model"), signatures=policy.serve)
        brain.model.save(staging / "q_network.keras")
        litert = _write_litert(brain.model, staging / "q_network.tflite")
        staging.chmod(0o755)  # mkdtemp makes it private; an export is for sharing
        os.replace(staging, to)  # over an empty ``to`` too (POSIX rename)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = [str(to / name) for name in sorted(os.listdir(to))]
    return {"to": str(to), "written": written, "litert": litert, **metadata}


def _write_litert(model: keras.Model, path: Path) -> str | None:
    """Convert ``model`` itself: the SavedModel's wrapper converts to NaN Q-values in
    TensorFlow 2.21. Returns None, or why no file was written (one line)."""
    try:
        # The converter prints its SavedModel's signature and C++ INFO logs: not for the user.
        with quiet_native_stderr(), contextlib.redirect_stdout(io.StringIO()):
            litert = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        path.write_bytes(litert)
    except Exception as exc:  # noqa: BLE001 (any converter failure: the other files stand)
        return f"no LiteRT file: the converter failed ({' '.join(str(exc).split())[:200]})"
    return None
