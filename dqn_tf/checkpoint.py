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
last good one.

A checkpoint is data, possibly damaged or made by someone else, so loading trusts nothing in
it: each header field's type and range, each array's declared shape and dtype (before its
data is read, so no declared size is ever allocated), each array's values (finite weights,
epsilon in [0, 1], memory counters within the capacity) and every generator state are
checked against the run's own configuration, network and memory before anything changes.
A refused checkpoint raises CheckpointError naming the field and what it allows, and
leaves the run untouched.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import zipfile
import zlib
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

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


# --- reading: everything in the file is data to check, trusted only once checked ----------


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())  # messages are one line


def _shown(value: Any) -> str:
    text = repr(value)  # repr escapes newlines: the message stays on one line
    return text if len(text) <= 60 else text[:57] + "..."


# What a damaged file raises while it is read: zip, .npy and JSON errors of every kind.
_DAMAGED = (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, NotImplementedError)
_DAMAGED += (RuntimeError, zlib.error)  # an encrypted member; bad deflate data


def _declared(member: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a .npy member declares, from its header alone (no data read)."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{name}: .npy version {version}")  # 3.0 only adds text field names
    read = np.lib.format.read_array_header_1_0
    if version == (2, 0):
        read = np.lib.format.read_array_header_2_0
    shape, _fortran_order, dtype = read(member)
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: negative dimension in {shape}")
    return shape, dtype


def _read_array(archive: zipfile.ZipFile, name: str, spec: tuple[Any, ...]) -> np.ndarray:
    """A member's array, read only if it declares ``spec``, the shape and dtype checked
    before: numpy allocates what the member declares, and the file may have changed since."""
    with archive.open(f"{name}.npy") as member:
        if _declared(member, name) != spec:
            raise ValueError(f"{name} changed while it was read")
        member.seek(0)
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, tuple[tuple[int, ...], Any]]]:
    """The JSON header of a checkpoint and the shape and dtype each array declares, read
    without loading any array's data."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    file_size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            declared = {}
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    raise ValueError(f"member {member!r} is not a .npy array")
                name = member.removesuffix(".npy")
                with archive.open(member) as f:
                    declared[name] = _declared(f, name)
            # np.savez stores arrays as they are, so none is larger than the whole file; a
            # larger declared shape is a lie that reading would allocate memory for.
            for name, (shape, dtype) in declared.items():
                if math.prod(shape) * dtype.itemsize > file_size:
                    raise ValueError(
                        f"{name} declares shape {shape} of {dtype}, more than the whole file "
                        f"({file_size} bytes)"
                    )
            header_bytes = _read_array(archive, _HEADER, declared[_HEADER]).tobytes()
        try:
            header = json.loads(header_bytes.decode())
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise ValueError(f"{_HEADER} is not JSON: {exc}") from exc
    except _DAMAGED as exc:
        raise CheckpointError(
            f"checkpoint {path} is damaged or not a dqn_tf checkpoint ({_one_line(exc)}); "
            f"the run folder was left as it is"
        ) from exc
    version = header.get("format") if isinstance(header, dict) else None
    if version != FORMAT_VERSION or type(version) is not int:
        raise CheckpointError(
            f"checkpoint {path} has format {_shown(version)}, this version reads format "
            f"{FORMAT_VERSION}"
        )
    return header, declared


def _read_arrays(path: Path, specs: dict[str, tuple[Any, ...]]) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: _read_array(archive, name, spec) for name, spec in specs.items()}
    except _DAMAGED as exc:
        raise CheckpointError(
            f"checkpoint {path} is damaged ({_one_line(exc)}); the run folder was left as it is"
        ) from exc


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a checkpoint file, fully read into memory. Their contents are
    not checked against a run: :func:`restore_checkpoint` does that.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated, damaged or not a dqn_tf checkpoint, or one
            of its arrays declares more data than the file holds.
    """
    path = Path(path)
    header, declared = _read_header(path)
    return header, _read_arrays(path, {k: v for k, v in declared.items() if k != _HEADER})


# --- checks of the header's fields ------------------------------------------------------------


def _count(v: Any, most: float = math.inf) -> bool:
    return type(v) is int and 0 <= v <= most  # type(), not isinstance(): True is no count


def _number(v: Any) -> bool:
    # Finite; abs() compares an int too large for a float without converting it.
    return type(v) in (int, float) and abs(v) <= sys.float_info.max


def _list_of(check: Callable[[Any], bool], v: Any, length: int | None = None) -> bool:
    return type(v) is list and (length is None or len(v) == length) and all(map(check, v))


def _or_none(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _word(v: Any) -> bool:
    return _count(v, 2**32 - 1)


def _python_random(v: Any) -> bool:
    # random.getstate(): version 3, Mersenne Twister's 624 words and its position (0..624),
    # and the cached gauss (random.setstate would accept any object there).
    return (
        type(v) is list
        and len(v) == 3
        and v[0] == 3
        and type(v[0]) is int
        and _list_of(_count, v[1], 625)
        and all(map(_word, v[1][:624]))
        and v[1][624] <= 624
        and _or_none(_number)(v[2])
    )


def _numpy_random(v: Any) -> bool:
    # np.random.get_state(); numpy does not check the position, and one beyond 624 makes
    # the generator read past its key.
    return (
        type(v) is list
        and len(v) == 5
        and v[0] == "MT19937"
        and _list_of(_word, v[1], 624)
        and _count(v[2], 624)
        and _count(v[3], 1)
        and type(v[4]) is float
        and _number(v[4])
    )


def _pcg64(v: Any) -> bool:
    # A game's np_random is gymnasium's PCG64: its state is two 128-bit integers and a
    # cached 32-bit half.
    return (
        type(v) is dict
        and v.keys() == {"bit_generator", "state", "has_uint32", "uinteger"}
        and v["bit_generator"] == "PCG64"
        and type(v["state"]) is dict
        and v["state"].keys() == {"state", "inc"}
        and all(_count(x, 2**128 - 1) for x in v["state"].values())
        and _count(v["has_uint32"], 1)
        and _word(v["uinteger"])
    )


def _evaluation(v: Any) -> bool:
    # [steps, mean return], then the landings where the game reports them
    return (
        type(v) is list
        and len(v) in (2, 3)
        and _count(v[0])
        and _number(v[1])
        and all(map(_count, v[2:]))
    )


def _header_fields(env: RunState, header: dict[str, Any]) -> dict[str, tuple[Callable, str]]:
    """Each header field except format and config: its check for this run and the words for
    what it allows. In this order: later checks rely on earlier ones."""
    rewards = "episode_rewards"  # checked before the fields that count its episodes
    count, pcg64 = "an integer >= 0", "a PCG64 state as bit_generator.state gives it"
    avg = env.reward_avg.maxlen
    return {
        "seed": (_count, count),
        "nS": (lambda v: _count(v) and v == env.nS, f"{env.nS}, this run's observation size"),
        "nA": (lambda v: _count(v) and v == env.nA, f"{env.nA}, this run's number of actions"),
        "episode_rewards": (lambda v: _list_of(_number, v), "a list of finite numbers"),
        "episode_lengths": (
            lambda v: _list_of(_count, v, len(header[rewards])),
            "a list of integers >= 0, one per episode_rewards",
        ),
        "landed_episodes": (
            lambda v: _list_of(lambda i: _count(i, len(header[rewards]) - 1), v),
            "a list of episode indices (0 .. len(episode_rewards) - 1)",
        ),
        "reward_avg": (
            lambda v: _list_of(_number, v) and len(v) <= avg,
            f"a list of at most {avg} finite numbers",
        ),
        "total_steps": (_count, count),
        "prefill_steps": (_count, count),
        "next_reset_seed": (_or_none(_count), f"null or {count}"),
        "python_random": (_python_random, "random.getstate(): [3, 625 integers, null or a number]"),
        "numpy_random": (
            _numpy_random,
            "np.random.get_state(): ['MT19937', 624 integers, 0..624, 0 or 1, a float]",
        ),
        "env_random": (_pcg64, pcg64),
        "evaluations": (
            lambda v: _list_of(_evaluation, v),
            "a list of [steps, mean return] or [steps, mean return, landings]",
        ),
        "best_eval": (_or_none(_number), "null or a finite number"),
        "next_eval_at": (_count, count),
        "next_eval_reset_seed": (_or_none(_count), f"null or {count}"),
        "eval_env_random": (_or_none(_pcg64), f"null or {pcg64}"),
    }


def _check_header(env: RunState, header: dict[str, Any], path: Path) -> None:
    try:
        # Through Config, so fields added since the checkpoint was written take defaults.
        saved = Config.from_dict(header["config"]).to_dict()
    except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
        raise CheckpointError(
            f"checkpoint {path} holds no valid configuration ({_one_line(exc)})"
        ) from exc
    wanted = env.config.to_dict()
    if saved["env"] != wanted["env"]:
        raise CheckpointError(
            f"checkpoint {path} was made for env {saved['env']!r}, this run is {wanted['env']!r}"
        )
    if (header.get("nS"), header.get("nA"), saved["hidden"]) != (env.nS, env.nA, wanted["hidden"]):
        raise CheckpointError(
            f"checkpoint {path} holds a network for nS={_shown(header.get('nS'))} inputs, "
            f"nA={_shown(header.get('nA'))} actions and hidden layers {saved['hidden']}; this "
            f"run needs nS={env.nS}, nA={env.nA} and hidden layers {wanted['hidden']}"
        )
    differing = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if differing:
        detail = ", ".join(f"{k}: {saved.get(k)!r} there, {wanted[k]!r} here" for k in differing)
        raise CheckpointError(f"checkpoint {path} was made with another configuration ({detail})")
    missing = sorted(_REQUIRED_KEYS - set(header))
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    fields = _header_fields(env, header)
    unknown = sorted(set(header) - set(fields) - {"format", "config"})
    if unknown:
        raise CheckpointError(
            f"checkpoint {path} holds fields this version does not know: {_shown(unknown)}"
        )
    for name, (check, allowed) in fields.items():
        if name in header and not check(header[name]):
            raise CheckpointError(
                f"checkpoint {path}: {name} must be {allowed} (got {_shown(header[name])})"
            )


# --- checks of the arrays -----------------------------------------------------------------------


def _spec(var: Any) -> tuple[tuple[int, ...], np.dtype]:
    """A variable's shape and numpy dtype (a tf.Variable has a tf.DType, a Keras one a name)."""
    return tuple(var.shape), np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))


def _check_declared(env: RunState, declared: dict[str, Any], path: Path) -> None:
    """Every array the run holds, with exactly its shape and dtype, and no other: checked on
    the declared headers, before any array's data is read."""
    expected = {name: _spec(var) for name, var in _variables(env)}
    unknown = sorted(set(declared) - set(expected) - {_HEADER})
    if unknown:
        raise CheckpointError(
            f"checkpoint {path} holds arrays this version does not know: {_shown(unknown)}"
        )
    for name, (shape, dtype) in expected.items():
        if name not in declared and name not in _ADDED_LATER:
            raise CheckpointError(f"checkpoint {path} lacks {name}")
        if name in declared and declared[name] != (shape, dtype):
            got_shape, got_dtype = declared[name]
            raise CheckpointError(
                f"checkpoint {path}: {name} has shape {got_shape} and dtype {got_dtype}, this "
                f"run needs shape {shape} and dtype {dtype}"
            )


def _value_rules(env: RunState, arrays: dict[str, np.ndarray]) -> dict[str, tuple[Callable, str]]:
    """Arrays whose values have limits beyond the rule of their dtype (in _check_values)."""
    capacity, nA, lr = env.agent.memory.capacity, env.nA, env.config.learning_rate
    rules = {
        "memory/actions": (
            lambda a: ((0 <= a) & (a < nA)).all(),
            f"within 0..{nA - 1}, the run's actions",
        ),
        # memory.py: index is the next slot to write, size the number filled; they stay equal
        # until the memory is full.
        "memory/index": (lambda a: 0 <= a < capacity, f"0..{capacity - 1}"),
        "memory/size": (
            lambda a: 0 <= a <= capacity and (a == capacity or a == arrays["memory/index"]),
            f"0..{capacity} and equal to memory/index until it is {capacity}",
        ),
        "agent/epsilon": (lambda a: 0 <= a <= 1, "within [0, 1]"),
        "agent/generator": (lambda a: True, "any"),  # any three int64 are a Philox state
    }
    for name, var in _variables(env):
        path = getattr(var, "path", "")  # a Keras variable's name within its optimizer
        if path.endswith("/learning_rate"):
            rules[name] = (lambda a: a == np.float32(lr), f"{lr}, the config's learning_rate")
        elif path.endswith("_velocity"):  # Adam and RMSprop average squared gradients
            rules[name] = (lambda a: (a >= 0).all() and np.isfinite(a).all(), "finite and >= 0")
    return rules


def _check_values(env: RunState, arrays: dict[str, np.ndarray], path: Path) -> None:
    rules = _value_rules(env, arrays)
    by_dtype = {
        "f": (lambda a: np.isfinite(a).all(), "finite (no NaN or inf)"),
        "i": (lambda a: (a >= 0).all(), ">= 0"),
        "b": (lambda a: True, "any"),
    }
    for name, a in arrays.items():
        check, allowed = rules.get(name, by_dtype[a.dtype.kind])
        if not check(a):
            got = f" (got {a.item()!r})" if a.ndim == 0 else ""
            raise CheckpointError(f"checkpoint {path}: {name} must be {allowed}{got}")


# --- restoring ----------------------------------------------------------------------------------


def restore_checkpoint(env: RunState, path: str | os.PathLike | None = None) -> Path:
    """Load a checkpoint into ``env`` (its agent, memory, counters, history and generators).

    Everything is checked before anything is changed: a checkpoint made for another game,
    network or configuration, or one that is damaged or holds a value the run cannot hold
    (a wrong type, shape or dtype, a NaN weight, an epsilon outside [0, 1], a malformed
    generator state...), raises CheckpointError naming the file, the field and what it
    allows, and ``env`` is left as it was.
    """
    path = Path(path) if path is not None else env.run_dir / CHECKPOINT_FILE
    header, declared = _read_header(path)
    _check_header(env, header, path)
    _check_declared(env, declared, path)
    named = _variables(env)
    arrays = _read_arrays(path, {name: declared[name] for name, _ in named if name in declared})
    for name, var in named:  # arrays that joined format 1 later
        if name not in arrays:
            arrays[name] = np.zeros(*_spec(var))
    _check_values(env, arrays, path)
    for name, var in named:
        var.assign(arrays[name])
    _restore_python_state(env, header)
    return path


def _restore_python_state(env: RunState, header: dict[str, Any]) -> None:
    env.seed = header["seed"]
    env.episode_rewards = list(header["episode_rewards"])
    env.episode_lengths = list(header["episode_lengths"])
    env.landed_episodes = list(header.get("landed_episodes", []))  # joined format 1 later
    env.reward_avg.clear()
    env.reward_avg.extend(header["reward_avg"])
    env.total_steps = header["total_steps"]
    env.prefill_steps = header["prefill_steps"]
    env._next_reset_seed = header["next_reset_seed"]
    version, internal, gauss = header["python_random"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = header["numpy_random"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    env.env.unwrapped.np_random = _generator(header["env_random"])
    # Periodic-evaluation state joined format 1 later; checkpoints without it had none.
    env.evaluations = [list(e) for e in header.get("evaluations", [])]
    env.best_eval = header.get("best_eval")
    env.next_eval_at = header.get("next_eval_at", env.config.eval_every_steps)
    env._next_eval_reset_seed = header.get("next_eval_reset_seed", env._next_eval_reset_seed)
    if header.get("eval_env_random") is not None:
        env.evaluation_runner()  # the evaluation game exists before its generator is set
        env.eval_env.unwrapped.np_random = _generator(header["eval_env_random"])


def _generator(state: dict[str, Any]) -> np.random.Generator:
    """A game's generator from its saved state (checked by _pcg64: always a PCG64)."""
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng
