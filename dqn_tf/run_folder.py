"""Run folders: the files ``train`` leaves, the lock of their one writer, and their checked reading.

One process writes a folder (two ``--resume`` would overwrite each other's checkpoints): an
``flock`` on ``.lock``, which the kernel releases even after ``kill -9``. A run folder is data,
never code: nothing read from it is imported or executed."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dqn_tf.errors import check_count
from dqn_tf.files import TEMP_NAME, write_json_atomic
from dqn_tf.presets import Config, ConfigError, field_names

CONFIG_FILE = "config.json"  # the whole configuration and the seed; a resume continues with it
HISTORY_FILE = "history.json"  # every episode's return and length, landings, evaluations
WEIGHTS_FILE = "weights.weights.h5"  # the final weights
BEST_WEIGHTS_FILE = "best.weights.h5"  # the best evaluated weights
CHECKPOINT_FILE = "checkpoint.npz"  # the whole state of the run (dqn_tf.checkpoint)
LOCK_FILE = ".lock"  # held by the one process that writes the folder

_HISTORY_TYPES: dict[str, tuple[type, ...]] = {
    "episode_rewards": (list,),
    "episode_lengths": (list,),
    "landed_episodes": (list,),
    "steps": (int,),
    "prefill_steps": (int,),
    "evaluations": (list,),
    "best_eval": (int, float, type(None)),
}


def weights_file(run_dir: str | os.PathLike[str], which: str = "final") -> Path:
    """The run folder's ``"final"`` or ``"best"`` weights, or FileNotFoundError saying why not."""
    run_dir = Path(run_dir)
    if not (run_dir / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in run folder {run_dir}: train first")
    if which != "best":
        return run_dir / WEIGHTS_FILE
    if not (run_dir / BEST_WEIGHTS_FILE).is_file():
        why = "best weights need eval_every_steps > 0"
        raise FileNotFoundError(f"no {BEST_WEIGHTS_FILE} in run folder {run_dir} ({why})")
    return run_dir / BEST_WEIGHTS_FILE


class RunFolderBusy(ConfigError):
    """Another process is writing this run folder."""


class RunFolderError(ConfigError):
    """A file of the run folder is missing, damaged or was edited into something invalid."""


# --- the lock -----------------------------------------------------------------------------------
# Folders this process holds, so that code which locks again inside (train -> learn) does not
# lock itself out: flock conflicts between two open() of one file even in one process.
_held: set[Path] = set()


@contextmanager
def lock(run_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the run folder's write lock (re-entrant), making the folder if needed. Raises,
    changing nothing, RunFolderBusy naming the live holder, or RunFolderError."""
    path = Path(run_dir).resolve()
    if path in _held:
        yield path
        return
    _make_folder(path)
    fd = _open_lock(path / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(_read_holder(fd))
        os.close(fd)
        raise RunFolderBusy(
            f"run folder {path} is being written by {holder}; wait for it to end or stop it, "
            f"or use another --run-dir (evaluate, replay and TensorBoard can read it meanwhile)"
        ) from None
    previous = _read_holder(fd)
    if previous:
        # We hold the lock, so whoever wrote this is gone: a clean exit empties the file.
        note = f"note: run folder {path}: the lock of {_describe(previous)} is stale (that "
        note += "process ended without releasing it, e.g. killed); taking it over"
        print(note, file=sys.stderr, flush=True)
    _remove_leftovers(path)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me | {"command": " ".join(sys.argv)[:500]}).encode(), 0)
    os.fsync(fd)
    _held.add(path)
    try:
        yield path
    finally:
        _held.remove(path)
        os.ftruncate(fd, 0)  # released cleanly: nothing stale for the next writer
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _make_folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise RunFolderError(
            f"run folder {path} exists and is not a folder; choose another --run-dir"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, no permission, read-only file system...
        why = f"{exc.strerror}: {exc.filename}"
        if isinstance(exc, NotADirectoryError):
            why = "a folder on its path is a file"
        raise RunFolderError(f"cannot make run folder {path}: {why}") from None
    # Checked now rather than at the first save, minutes later (root passes: it may write).
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunFolderError(f"run folder {path} is not writable by you; choose another --run-dir")


def _open_lock(lock_file: Path, flags: int) -> int:
    """Open ``.lock`` only if it is a plain file of its own (not a symbolic link, fifo, device,
    folder or hard link): anything else was not made by this package: left, and named."""
    refuse = f"cannot use {lock_file} as the run folder's lock"
    try:
        fd = os.open(lock_file, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symbolic link; EISDIR: a folder; EACCES...
        kind = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise RunFolderError(f"{refuse} ({kind}); remove it or use another --run-dir") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        kind = "a hard link" if stat.S_ISREG(info.st_mode) else "not a regular file"
        raise RunFolderError(f"{refuse} ({kind}); remove it or use another --run-dir")
    return fd


def _remove_leftovers(path: Path) -> None:
    """Delete this package's temporary files whose writer is dead; the user's files stay."""
    with os.scandir(path) as entries:
        for entry in entries:
            match = TEMP_NAME.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False) and not _alive(int(match["pid"])):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        pass  # another user's process, or no process id at all: not provably ours
    return True


def holder(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Who holds (or, after a crash, last held) the folder's lock, as written there."""
    try:
        fd = _open_lock(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, Any] | None:
    data = os.pread(fd, 4096, 0)
    if not data:
        return None
    try:
        found = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"pid": "?", "command": data[:80].decode(errors="replace")}
    return found if isinstance(found, dict) else None


def _describe(found: dict[str, Any] | None) -> str:
    if not found:
        return "another process"
    since, when = found.get("since"), ""
    if isinstance(since, int | float):
        when = time.strftime(" since %Y-%m-%d %H:%M:%S", time.localtime(since))
    return (
        f"process {found.get('pid', '?')} on {found.get('host', '?')}{when} "
        f"({found.get('command', '?')})"
    )


# --- the saved configuration --------------------------------------------------------------------
def write_config(run_dir: str | os.PathLike[str], config: Config, seed: int) -> None:
    write_json_atomic(Path(run_dir) / CONFIG_FILE, {"config": config.to_dict(), "seed": seed})


def read_config(run_dir: str | os.PathLike[str]) -> tuple[Config, int]:
    """The configuration and seed a run was made with, checked (RunFolderError names the field)."""
    path, data = _read_json(run_dir, CONFIG_FILE, " (train there first)")
    if not isinstance(data, dict) or set(data) != {"config", "seed"}:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise RunFolderError(
            f"{path} must hold an object with exactly 'config' and 'seed' (got {keys})"
        )
    seed = data["seed"]
    check_count(f"{path}: seed", seed, least=0, error=RunFolderError)
    if not isinstance(data["config"], dict):
        raise RunFolderError(f"{path}: config must be an object of fields (got {data['config']!r})")
    try:
        return Config.from_dict(data["config"]), seed
    except (ConfigError, TypeError) as exc:
        raise RunFolderError(f"{path}: {exc}") from exc


def write_history(env: Any) -> None:
    fields = ("episode_rewards", "episode_lengths", "landed_episodes", "prefill_steps")
    history = {name: getattr(env, name) for name in fields}
    history.update(steps=env.total_steps, evaluations=env.evaluations, best_eval=env.best_eval)
    write_json_atomic(Path(env.run_dir) / HISTORY_FILE, history)


def read_history(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``history.json``, checked: its fields, their JSON types, one length per return."""
    path, data = _read_json(run_dir, HISTORY_FILE)
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} must hold an object (got {type(data).__name__})")
    unknown = sorted(set(data) - set(_HISTORY_TYPES))
    missing = sorted(set(_HISTORY_TYPES) - set(data))
    if unknown or missing:
        raise RunFolderError(f"{path}: unknown fields {unknown}, missing fields {missing}")
    for name, types in _HISTORY_TYPES.items():
        value = data[name]
        if not isinstance(value, types) or isinstance(value, bool):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise RunFolderError(f"{path}: {name} must be {wanted} (got {value!r:.60})")
    rewards, lengths = len(data["episode_rewards"]), len(data["episode_lengths"])
    if rewards != lengths:
        raise RunFolderError(f"{path}: {rewards} episode_rewards but {lengths} episode_lengths")
    return data


def _read_json(run_dir: str | os.PathLike[str], name: str, hint: str = "") -> tuple[Path, Any]:
    path = Path(run_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"no {name} in run folder {run_dir}{hint}")
    try:
        return path, json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path} is damaged: not valid JSON ({exc})") from exc


# --- what may change on resume ------------------------------------------------------------------
def check_same_settings(
    run_dir: str | os.PathLike[str],
    saved: Config,
    asked: dict[str, Any],
    how: str = "--resume continues with the saved configuration",
) -> None:
    """Refuse settings ``asked`` (a ``seed`` is the caller's to check) that disagree with the
    run's ``saved`` configuration; ``how``: what continuing the run does, for the message."""
    unknown = sorted(set(asked) - set(field_names()) - {"seed"})
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; allowed: {field_names()}")
    values = saved.to_dict()
    differing = []
    for name in sorted(set(asked) - {"seed"}):
        candidate = Config.from_dict({**values, name: asked[name]}).to_dict()[name]
        if candidate != values[name]:
            differing.append(f"{name}: {values[name]!r} saved, {asked[name]!r} asked")
    if differing:
        raise ConfigError(
            f"run folder {run_dir} was made with other settings ({'; '.join(differing)}); "
            f"{how}: leave those options out, or start a new run in another --run-dir"
        )
