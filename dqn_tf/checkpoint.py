"""Exact resume: a run's whole state in one checkpoint file, written, checked and read back.

Unlike the book's ``incremental`` (weights alone), it holds networks, optimizer, replay memory,
counters and every generator. It is data, possibly damaged: every field is checked against the
run (array shapes before any data is read) before anything changes."""

from __future__ import annotations

import json
import math
import os
import random
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from dqn_tf.files import atomic_path
from dqn_tf.presets import Config, ConfigError

if TYPE_CHECKING:  # pragma: no cover (environment.py imports this module)
    from dqn_tf.environment import Environment

FORMAT_VERSION = 1
_HEADER = "__state__"
_MEMORY = ("states", "actions", "rewards", "next_states", "terminated", "demo", "index", "size")


class CheckpointError(ConfigError):
    """A checkpoint that is missing, damaged or made for another game or network."""


def _variables(env: Environment) -> list[tuple[str, Any]]:
    """Every piece of TensorFlow state of the run, with stable names, in a fixed order."""
    agent, brain = env.agent, env.agent.brain
    weights = {"model": brain.model.weights, "target": brain.target_model.weights}
    return [
        *((f"{net}/{i}", w) for net, ws in weights.items() for i, w in enumerate(ws)),
        *((f"optimizer/{i}", w) for i, w in enumerate(brain.optimizer.variables)),
        ("brain/updates", brain.updates),
        *((f"memory/{name}", getattr(agent.memory, name)) for name in _MEMORY),
        *(
            (f"memory/{name}", getattr(agent.memory, name))
            for name in ("priorities", "max_priority")
            if agent.memory.priorities is not None  # prioritized replay (after the book)
        ),
        ("agent/epsilon", agent._epsilon),
        ("agent/steps", agent.steps),
        ("agent/generator", agent.generator.state),
    ]


# --- the header: one table of its fields --------------------------------------------------------
def _at_most(most: float) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and 0 <= v <= most  # type(), not isinstance(): True is no count


_count = _at_most(math.inf)


def _number(v: Any) -> bool:
    # Finite; abs() compares an int too large for a float without converting it.
    return type(v) in (int, float) and abs(v) <= sys.float_info.max


def _list_of(check: Callable[[Any], bool], v: Any, length: int | None = None) -> bool:
    return type(v) is list and (length is None or len(v) == length) and all(map(check, v))


def _or_none(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _like(shape: Any) -> Callable[[Any], bool]:
    return lambda v: _built_like(v, shape)


def _built_like(v: Any, shape: Any) -> bool:
    """``v`` is built like ``shape``: a dict with its keys or a list of its length, each item
    built like its own, a function's check passed, any other value equal."""
    if callable(shape):
        return shape(v)
    if type(shape) is dict:
        if type(v) is not dict or v.keys() != shape.keys():
            return False
        v, shape = [v[key] for key in shape], list(shape.values())
    if type(shape) is list:
        return type(v) is list and len(v) == len(shape) and all(map(_built_like, v, shape))
    return type(v) is type(shape) and v == shape


# The generators' states. random.setstate would take any object as the cached gauss, and numpy
# does not check the position: one beyond 624 makes the generator read past its key.
_PYTHON_RANDOM = _like([3, [_at_most(2**32 - 1)] * 624 + [_at_most(624)], _or_none(_number)])
_NUMPY_RANDOM = _like(["MT19937", [_at_most(2**32 - 1)] * 624, _at_most(624), _at_most(1),
                       lambda v: type(v) is float and _number(v)])  # fmt: skip
_PCG64 = _like({  # a game's np_random, gymnasium's PCG64: two 128-bit integers, a cached half
    "bit_generator": "PCG64",
    "state": {"state": _at_most(2**128 - 1), "inc": _at_most(2**128 - 1)},
    "has_uint32": _at_most(1),
    "uinteger": _at_most(2**32 - 1),
})  # fmt: skip
_EVALUATIONS = (_like([_count, _number]), _like([_count, _number, _count]))  # landings if known
_COUNT, _PCG64_STATE = "an integer >= 0", "a PCG64 state as bit_generator.state gives it"


def _header_fields(env: Environment, header: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each header field but format and config: the run's attribute (None: saved by hand), its
    check of ``header``'s value and what it allows, in order: later checks rely on earlier ones."""
    episodes = lambda: len(header["episode_rewards"])  # noqa: E731  (checked before its use)
    avg = env.reward_avg.maxlen
    return {
        "seed": ("seed", _count, _COUNT),
        "nS": ("nS", _like(env.nS), f"{env.nS}, this run's observation size"),
        "nA": ("nA", _like(env.nA), f"{env.nA}, this run's number of actions"),
        "episode_rewards": ("episode_rewards", lambda v: _list_of(_number, v),
                            "a list of finite numbers"),
        "episode_lengths": ("episode_lengths", lambda v: _list_of(_count, v, episodes()),
                            "a list of integers >= 0, one per episode_rewards"),
        "landed_episodes": ("landed_episodes", lambda v: _list_of(_at_most(episodes() - 1), v),
                            "a list of episode indices (0 .. len(episode_rewards) - 1)"),
        "reward_avg": (None, lambda v: _list_of(_number, v) and len(v) <= avg,
                       f"a list of at most {avg} finite numbers"),
        "total_steps": ("total_steps", _count, _COUNT),
        "prefill_steps": ("prefill_steps", _count, _COUNT),
        "next_reset_seed": ("_next_reset_seed", _or_none(_count), f"null or {_COUNT}"),
        "python_random": (None, _PYTHON_RANDOM,
                          "random.getstate(): [3, 625 integers, null or a number]"),
        "numpy_random": (None, _NUMPY_RANDOM, "np.random.get_state(): ['MT19937', 624 integers, "
                         "0..624, 0 or 1, a float]"),
        "env_random": (None, _PCG64, _PCG64_STATE),
        "evaluations": ("evaluations",
                        lambda v: _list_of(lambda e: any(c(e) for c in _EVALUATIONS), v),
                        "a list of [steps, mean return] or [steps, mean return, landings]"),
        "best_eval": ("best_eval", _or_none(_number), "null or a finite number"),
        "next_eval_at": ("next_eval_at", _count, _COUNT),
        "next_eval_reset_seed": ("_next_eval_reset_seed", _or_none(_count), f"null or {_COUNT}"),
        "eval_env_random": (None, _or_none(_PCG64), f"null or {_PCG64_STATE}"),
    }  # fmt: skip


def _added_later(env: Environment) -> dict[str, Any]:
    """Fields that joined format 1 later, as a run saved before them had them."""
    later = {"landed_episodes": [], "evaluations": [], "best_eval": None, "eval_env_random": None}
    return later | {"next_eval_at": env.config.eval_every_steps,
                    "next_eval_reset_seed": env._next_eval_reset_seed}  # fmt: skip


def _state_of(game: Any) -> dict[str, Any] | None:  # None: no such game (yet)
    return None if game is None else game.unwrapped.np_random.bit_generator.state


def save_checkpoint(env: Environment, path: str | os.PathLike | None = None) -> Path:
    """Write the run's state to ``path`` (default: the run folder's), between episodes."""
    path = Path(path) if path is not None else env.checkpoint_path
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    by_hand = {
        "reward_avg": list(env.reward_avg),
        "python_random": [version, list(internal), gauss],
        "numpy_random": [name, keys.tolist(), int(position), int(has_gauss), float(cached)],
        "env_random": _state_of(env.env),
        "eval_env_random": _state_of(env.eval_env),
    }
    header = {"format": FORMAT_VERSION, "config": env.config.to_dict()} | {
        field: by_hand[field] if attribute is None else getattr(env, attribute)
        for field, (attribute, *_) in _header_fields(env, {}).items()
    }
    arrays = {name: np.asarray(var.numpy()) for name, var in _variables(env)}
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


# --- reading: everything in the file is data to check, trusted only once checked -------------
def _shown(value: Any) -> str:
    text = repr(value)  # repr escapes newlines: the message stays on one line
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _refused(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path}{why}")  # why: " lacks ...", ": seed must ..."


# What a damaged file raises while it is read: zip, .npy and JSON errors of every kind, an
# encrypted member (RuntimeError), bad deflate data (zlib.error).
_DAMAGED = (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, NotImplementedError)
_DAMAGED += (RuntimeError, zlib.error)


@contextmanager
def _archive(path: Path, damaged: str) -> Iterator[zipfile.ZipFile]:
    """The checkpoint's zip archive; an error while reading it is a CheckpointError."""
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except _DAMAGED as exc:
        why = f" is {damaged} ({_one_line(exc)}); the run folder was left as it is"
        raise _refused(path, why) from exc


def _declared(member: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a .npy member declares, from its header alone (no data read)."""
    npy = np.lib.format
    version = npy.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{name}: .npy version {version}")  # 3.0 only adds text field names
    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, _fortran_order, dtype = read(member)
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: negative dimension in {shape}")
    return shape, dtype


def _read_array(archive: zipfile.ZipFile, name: str, spec: tuple[Any, ...]) -> np.ndarray:
    """A member's array, read only if it declares ``spec`` (the shape and dtype checked
    before): numpy allocates what a member declares, and the file may have changed since."""
    with archive.open(f"{name}.npy") as member:
        if _declared(member, name) != spec:
            raise ValueError(f"{name} changed while it was read")
        member.seek(0)
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, tuple[tuple[int, ...], Any]]]:
    """The JSON header and each array's declared shape and dtype, no array's data read."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    file_size = path.stat().st_size
    with _archive(path, "damaged or not a dqn_tf checkpoint") as archive:
        declared = {}
        for member in archive.namelist():
            name = member.removesuffix(".npy")
            if name == member:
                raise ValueError(f"member {member!r} is not a .npy array")
            with archive.open(member) as f:
                shape, dtype = declared[name] = _declared(f, name)
            # np.savez stores arrays as they are, so none is larger than the whole file; a
            # larger declared shape is a lie that reading would allocate memory for.
            if math.prod(shape) * dtype.itemsize > file_size:
                lie = f"{name} declares shape {shape} of {dtype}, more than the whole file"
                raise ValueError(f"{lie} ({file_size} bytes)")
        try:
            header = json.loads(_read_array(archive, _HEADER, declared[_HEADER]).tobytes())
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise ValueError(f"{_HEADER} is not JSON: {exc}") from exc
    version = header.get("format") if isinstance(header, dict) else None
    if version != FORMAT_VERSION or type(version) is not int:
        why = f" has format {_shown(version)}, this version reads format {FORMAT_VERSION}"
        raise _refused(path, why)
    return header, declared


def _read_arrays(path: Path, specs: dict[str, tuple[Any, ...]]) -> dict[str, np.ndarray]:
    with _archive(path, "damaged") as archive:
        return {name: _read_array(archive, name, spec) for name, spec in specs.items()}


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a checkpoint file, not checked against a run."""
    path = Path(path)
    header, declared = _read_header(path)
    return header, _read_arrays(path, {k: v for k, v in declared.items() if k != _HEADER})


# --- checks against the run, then the restore -------------------------------------------------
def _checked_header(env: Environment, header: dict[str, Any], path: Path) -> dict[str, Any]:
    """``header`` checked against the run, with the fields format 1 gained later filled in."""
    try:
        # Through Config, so fields added since the checkpoint was written take defaults.
        saved = Config.from_dict(header["config"]).to_dict()
    except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
        raise _refused(path, f" holds no valid configuration ({_one_line(exc)})") from exc
    wanted = env.config.to_dict()
    if saved["env"] != wanted["env"]:
        raise _refused(path, f" was made for env {saved['env']!r}, this run is {wanted['env']!r}")
    nS, nA, hidden = header.get("nS"), header.get("nA"), saved["hidden"]
    if (nS, nA, hidden) != (env.nS, env.nA, wanted["hidden"]):
        have = f"nS={_shown(nS)} inputs, nA={_shown(nA)} actions and hidden layers {hidden}"
        need = f"nS={env.nS}, nA={env.nA} and hidden layers {wanted['hidden']}"
        raise _refused(path, f" holds a network for {have}; this run needs {need}")
    differing = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if differing:
        detail = ", ".join(f"{k}: {saved.get(k)!r} there, {wanted[k]!r} here" for k in differing)
        raise _refused(path, f" was made with another configuration ({detail})")
    complete = _added_later(env) | header
    fields = _header_fields(env, complete)
    missing = sorted(set(fields) - set(complete))
    if missing:
        raise _refused(path, f" lacks {missing}")
    unknown = sorted(set(header) - set(fields) - {"format", "config"})
    if unknown:
        raise _refused(path, f" holds fields this version does not know: {_shown(unknown)}")
    for name, (_, check, allowed) in fields.items():
        if not check(complete[name]):
            raise _refused(path, f": {name} must be {allowed} (got {_shown(complete[name])})")
    return complete


def _spec(var: Any) -> tuple[tuple[int, ...], np.dtype]:  # a Keras variable's dtype: a name
    return tuple(var.shape), np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))


def _checked_arrays(env: Environment, declared: dict[str, Any], path: Path) -> dict[str, Any]:
    """The run's arrays: names, shapes and dtypes checked before any data is read, then values."""
    named = _variables(env)
    expected = {name: _spec(var) for name, var in named}
    unknown = sorted(set(declared) - set(expected) - {_HEADER})
    if unknown:
        raise _refused(path, f" holds arrays this version does not know: {_shown(unknown)}")
    for name, (shape, dtype) in expected.items():
        if name not in declared and name != "memory/demo":  # it joined format 1 later
            raise _refused(path, f" lacks {name}")
        if declared.get(name, (shape, dtype)) != (shape, dtype):
            got_shape, got_dtype = declared[name]
            why = f": {name} has shape {got_shape} and dtype {got_dtype}, this run needs "
            raise _refused(path, why + f"shape {shape} and dtype {dtype}")
    arrays = _read_arrays(path, {name: declared[name] for name in expected if name in declared})
    arrays.setdefault("memory/demo", np.zeros(*expected["memory/demo"]))  # older: no demos
    capacity, nA, lr = env.agent.memory.capacity, env.nA, env.config.learning_rate
    index = arrays["memory/index"]
    rules: dict[str, tuple[Callable[[np.ndarray], Any], str]] = {
        "memory/actions": (lambda a: ((0 <= a) & (a < nA)).all(),
                           f"within 0..{nA - 1}, the run's actions"),
        # memory.py: index is the next slot to write, size the number filled; they stay
        # equal until the memory is full.
        "memory/index": (lambda a: 0 <= a < capacity, f"0..{capacity - 1}"),
        "memory/size": (lambda a: 0 <= a <= capacity and (a == capacity or a == index),
                        f"0..{capacity} and equal to memory/index until it is {capacity}"),
        "agent/epsilon": (lambda a: 0 <= a <= 1, "within [0, 1]"),
        "agent/generator": (lambda a: True, "any"),  # any three int64 are a Philox state
    }  # fmt: skip
    by_dtype = {"f": (lambda a: np.isfinite(a).all(), "finite (no NaN or inf)"),
                "i": (lambda a: (a >= 0).all(), ">= 0"), "b": (lambda a: True, "any")}  # fmt: skip
    for name, var in named:
        keras_path = getattr(var, "path", "")  # a Keras variable's name in its optimizer
        if keras_path.endswith("/learning_rate"):
            rules[name] = (lambda a: a == np.float32(lr), f"{lr}, the config's learning_rate")
        elif keras_path.endswith("_velocity"):  # Adam and RMSprop average squared gradients
            rules[name] = (lambda a: (a >= 0).all() and np.isfinite(a).all(), "finite and >= 0")
    for name, a in arrays.items():
        check, allowed = rules.get(name, by_dtype[a.dtype.kind])
        if not check(a):
            got = f" (got {a.item()!r})" if a.ndim == 0 else ""
            raise _refused(path, f": {name} must be {allowed}{got}")
    return arrays


def restore_checkpoint(env: Environment, path: str | os.PathLike | None = None) -> Path:
    """Load a checkpoint into ``env``, all checked first: a refused one leaves ``env`` as it was."""
    path = Path(path) if path is not None else env.checkpoint_path
    header, declared = _read_header(path)
    header = _checked_header(env, header, path)
    arrays = _checked_arrays(env, declared, path)
    for name, var in _variables(env):
        var.assign(arrays[name])
    for field, (attribute, *_) in _header_fields(env, header).items():
        if attribute is not None:
            setattr(env, attribute, header[field])
    env.reward_avg.clear()
    env.reward_avg.extend(header["reward_avg"])
    version, internal, gauss = header["python_random"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = header["numpy_random"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    env.env.unwrapped.np_random = _generator(header["env_random"])
    if header["eval_env_random"] is not None:
        env.evaluation_runner()  # the evaluation game exists before its generator is set
        env.eval_env.unwrapped.np_random = _generator(header["eval_env_random"])
    return path


def _generator(state: dict[str, Any]) -> np.random.Generator:  # state: a PCG64's, checked
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng
