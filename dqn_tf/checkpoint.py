"""Exact resume: everything a run needs to continue as if it had never stopped.

The book's ``incremental`` restarts with trained weights but an empty memory (its NOTE calls
this a cold restart), so learning degrades until the memory refills. A checkpoint here holds
the whole state of a run at an episode boundary:

* online and target weights, the optimizer's state and the update counter;
* the replay memory (all its arrays, the write index and the size);
* epsilon, the step counter and the agent's ``tf.random.Generator`` state;
* the episode history (returns and lengths), the 100-episode window and the step counts;
* the state of every other generator: Python's ``random``, numpy's global one and the
  environment's ``np_random``.

It is one ``.npz`` file (arrays plus a JSON header), written to a temporary file in the same
folder and renamed over the previous checkpoint, so an interrupted save never damages the
last good one. Loading checks everything (format, game, architecture, every array's name and
shape) before it changes anything, so a bad checkpoint leaves the run untouched.
"""

from __future__ import annotations

import json
import os
import random
import zipfile
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dqn_tf.files import atomic_path
from dqn_tf.presets import Config, ConfigError
from dqn_tf.run_folder import CHECKPOINT_FILE

if TYPE_CHECKING:  # pragma: no cover
    from dqn_tf.agent import Agent


class RunState(Protocol):
    """What a checkpoint saves and restores of a run: the attributes of an
    :class:`~dqn_tf.environment.Environment` it reads and writes. Written out here so that
    this module does not import environment.py, which imports it."""

    seed: int
    config: Config
    run_dir: Path
    nS: int
    nA: int
    agent: Agent
    env: Any  # the gymnasium game; its generator is saved
    eval_env: Any  # the periodic evaluations' game (None until the first one)
    evaluation_runner: Any
    total_steps: int
    prefill_steps: int
    episode_rewards: list[float]
    episode_lengths: list[int]
    reward_avg: deque[float]
    landed_episodes: list[int]
    evaluations: list[list[float]]
    best_eval: float | None
    next_eval_at: int
    _next_reset_seed: int | None
    _next_eval_reset_seed: int | None


FORMAT_VERSION = 1
_HEADER = "__state__"
_REQUIRED_KEYS = {
    "seed", "episode_rewards", "episode_lengths", "reward_avg", "total_steps", "prefill_steps",
    "next_reset_seed", "python_random", "numpy_random", "env_random",
}  # fmt: skip


# Arrays that joined format 1 later: a checkpoint without them had all zeros (no
# demonstrations in its memory).
_ADDED_LATER = {"memory/demo"}


class CheckpointError(ConfigError):
    """A checkpoint that is missing, damaged or made for another game or network."""


def _variables(env: RunState) -> list[tuple[str, Any]]:
    """Every piece of TensorFlow state of the run, with stable names, in a fixed order."""
    agent, brain, memory = env.agent, env.agent.brain, env.agent.memory
    named: list[tuple[str, Any]] = []
    named += [(f"model/{i}", w) for i, w in enumerate(brain.model.weights)]
    named += [(f"target/{i}", w) for i, w in enumerate(brain.target_model.weights)]
    named += [(f"optimizer/{i}", w) for i, w in enumerate(brain.optimizer.variables)]
    named += [
        ("brain/updates", brain.updates),
        ("memory/states", memory.states),
        ("memory/actions", memory.actions),
        ("memory/rewards", memory.rewards),
        ("memory/next_states", memory.next_states),
        ("memory/terminated", memory.terminated),
        ("memory/demo", memory.demo),
        ("memory/index", memory.index),
        ("memory/size", memory.size),
        ("agent/epsilon", agent._epsilon),
        ("agent/steps", agent.steps),
        ("agent/generator", agent.generator.state),
    ]
    return named


def _python_state(env: RunState) -> dict[str, Any]:
    py_version, py_internal, py_gauss = random.getstate()
    np_state = np.random.get_state()
    return {
        "format": FORMAT_VERSION,
        "config": env.config.to_dict(),
        "seed": env.seed,
        "nS": env.nS,
        "nA": env.nA,
        "episode_rewards": env.episode_rewards,
        "episode_lengths": env.episode_lengths,
        "landed_episodes": env.landed_episodes,
        "reward_avg": list(env.reward_avg),
        "total_steps": env.total_steps,
        "prefill_steps": env.prefill_steps,
        "next_reset_seed": env._next_reset_seed,
        "python_random": [py_version, list(py_internal), py_gauss],
        "numpy_random": [
            np_state[0],
            np_state[1].tolist(),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "env_random": env.env.unwrapped.np_random.bit_generator.state,
        "evaluations": env.evaluations,
        "best_eval": env.best_eval,
        "next_eval_at": env.next_eval_at,
        "next_eval_reset_seed": env._next_eval_reset_seed,
        "eval_env_random": (
            None if env.eval_env is None else env.eval_env.unwrapped.np_random.bit_generator.state
        ),
    }


def save_checkpoint(env: RunState, path: str | os.PathLike | None = None) -> Path:
    """Write the run's full state to ``path`` (default ``<run_dir>/checkpoint.npz``),
    atomically. Call it between episodes."""
    path = Path(path) if path is not None else env.run_dir / CHECKPOINT_FILE
    arrays = {name: np.asarray(var.numpy()) for name, var in _variables(env)}
    header = json.dumps(_python_state(env)).encode()
    arrays[_HEADER] = np.frombuffer(header, dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a checkpoint file, fully read into memory.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated, damaged or not a dqn_tf checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
        raise CheckpointError(
            f"checkpoint {path} is damaged or not a dqn_tf checkpoint ({type(exc).__name__}: "
            f"{exc}); the run folder was left as it is"
        ) from exc
    version = header.get("format") if isinstance(header, dict) else None
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format {version!r}, this version reads format {FORMAT_VERSION}"
        )
    return header, arrays


def restore_checkpoint(env: RunState, path: str | os.PathLike | None = None) -> Path:
    """Load a checkpoint into ``env`` (its agent, memory, counters, history and generators).

    Everything is checked before anything is changed: a checkpoint made for another game,
    network or configuration, or one that is damaged, raises CheckpointError naming the file
    and the problem, and ``env`` is left as it was.
    """
    path = Path(path) if path is not None else env.run_dir / CHECKPOINT_FILE
    header, arrays = read_checkpoint(path)
    try:
        # Through Config, so fields added since the checkpoint was written take defaults.
        saved = Config.from_dict(header["config"]).to_dict()
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"checkpoint {path} holds no valid configuration ({exc})") from exc
    wanted = env.config.to_dict()
    if saved.get("env") != wanted["env"]:
        raise CheckpointError(
            f"checkpoint {path} was made for env {saved.get('env')!r}, this run is "
            f"{wanted['env']!r}"
        )
    if (header.get("nS"), header.get("nA"), saved.get("hidden")) != (
        env.nS,
        env.nA,
        wanted["hidden"],
    ):
        raise CheckpointError(
            f"checkpoint {path} holds a network for {header.get('nS')} inputs, "
            f"{header.get('nA')} actions and hidden layers {saved.get('hidden')}; this run "
            f"needs {env.nS}, {env.nA} and {wanted['hidden']}"
        )
    differing = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if differing:
        detail = ", ".join(f"{k}: {saved.get(k)!r} there, {wanted[k]!r} here" for k in differing)
        raise CheckpointError(f"checkpoint {path} was made with another configuration ({detail})")
    missing = sorted(_REQUIRED_KEYS - set(header))
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    named = _variables(env)
    arrays = dict(arrays)
    for name, var in named:
        if name not in arrays and name in _ADDED_LATER:
            arrays[name] = np.zeros(var.shape, var.dtype.as_numpy_dtype)
        if name not in arrays:
            raise CheckpointError(f"checkpoint {path} lacks {name}")
        if tuple(arrays[name].shape) != tuple(var.shape):
            raise CheckpointError(
                f"checkpoint {path}: {name} has shape {arrays[name].shape}, this run needs "
                f"{tuple(var.shape)}"
            )
    for name, var in named:
        var.assign(arrays[name])
    _restore_python_state(env, header)
    return path


def _restore_python_state(env: RunState, header: dict[str, Any]) -> None:
    env.seed = int(header["seed"])
    env.episode_rewards = list(header["episode_rewards"])
    env.episode_lengths = list(header["episode_lengths"])
    env.landed_episodes = list(header.get("landed_episodes", []))  # joined format 1 later
    env.reward_avg.clear()
    env.reward_avg.extend(header["reward_avg"])
    env.total_steps = int(header["total_steps"])
    env.prefill_steps = int(header["prefill_steps"])
    env._next_reset_seed = header["next_reset_seed"]
    version, internal, gauss = header["python_random"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = header["numpy_random"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    env.env.unwrapped.np_random = _generator(header["env_random"])
    # Periodic-evaluation state joined format 1 later; checkpoints without it had none.
    env.evaluations = [list(e) for e in header.get("evaluations", [])]
    env.best_eval = header.get("best_eval")
    env.next_eval_at = int(header.get("next_eval_at", env.config.eval_every_steps))
    env._next_eval_reset_seed = header.get("next_eval_reset_seed", env._next_eval_reset_seed)
    if header.get("eval_env_random") is not None:
        env.evaluation_runner()  # the evaluation game exists before its generator is set
        env.eval_env.unwrapped.np_random = _generator(header["eval_env_random"])


def _generator(state: dict[str, Any]) -> np.random.Generator:
    rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
    rng.bit_generator.state = state
    return rng
