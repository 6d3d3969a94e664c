"""Atomic file writes: weights, checkpoints, JSON and GIFs are never seen half-written."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# ``.dqn_tf-<pid>-<random><suffix>``: the writer's process id tells a killed writer's leftover
# from a write still going on, and the prefix tells both from a user's file.
TEMP_PREFIX = ".dqn_tf-"
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(?P<pid>\d+)-\w+\.[\w.]+")


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``, renamed over it (after fsync) when the block ends
    without an error, else removed. ``suffix``: Keras insists on ``.weights.h5``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates a new file (O_EXCL, no links followed), never one that was there.
    prefix = f"{TEMP_PREFIX}{os.getpid()}-"
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    grouped = _group is not None
    if grouped:  # inside save_together: renamed (or removed) with the others at its end
        _group.append((tmp, path))
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; run folders are for sharing
        if not grouped:
            os.replace(tmp, path)
    finally:
        if not grouped and tmp.exists():
            tmp.unlink()


class DiskFull(OSError):
    """A save failed for lack of space; every file it was replacing is as it was."""


# The (temporary file, final path) pairs written inside save_together.
_group: list[tuple[Path, Path]] | None = None


@contextmanager
def save_together(what: str) -> Iterator[None]:
    """:func:`atomic_path` files written in this block are renamed together at its end, so they
    never disagree, and a full disk (DiskFull) leaves all as they were: renames need no space."""
    global _group
    if _group is not None:  # nested: the outer block renames
        yield
        return
    _group = []
    try:
        try:
            yield
        except Exception as exc:
            if _group and _disk_full(exc):
                full = DiskFull(_disk_full_message(what, _group))
                full.errno = errno.ENOSPC
                raise full from exc
            raise
        for tmp, path in _group:
            os.replace(tmp, path)
    finally:
        for tmp, _ in _group:
            tmp.unlink(missing_ok=True)
        _group = None


def _disk_full(exc: BaseException | None) -> bool:
    """ENOSPC or EDQUOT, or its words, anywhere in ``exc``'s chain (h5py and numpy wrap it)."""
    while exc is not None:
        full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
        if full or "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _disk_full_message(what: str, group: list[tuple[Path, Path]]) -> str:
    # A new file needs about the size of the one it replaces (a checkpoint's shapes are fixed).
    folder = group[0][1].parent
    needed = sum(max(_size(tmp), _size(path)) for tmp, path in group) / 2**20
    free = shutil.disk_usage(folder).free / 2**20
    return (
        f"disk full while saving {what} in {folder}: its files need about {needed:.1f} MB "
        f"beside the old ones, {free:.1f} MB are free; the files there are as they were "
        f"before this save"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
