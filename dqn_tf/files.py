"""Atomic file writes: weights, checkpoints, JSON and GIFs are never seen half-written."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Temporary files are named ``.dqn_tf-<pid>-<random><suffix>``: a name only this package makes,
# holding the id of the process that writes it, so that a leftover of a killed writer can be
# told from a user's file and from a write still going on (see dqn_tf.run_folder.lock).
TEMP_PREFIX = ".dqn_tf-"
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(?P<pid>\d+)-\w+\.[\w.]+")


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; when the block ends without an error,
    the file written there is flushed to disk and renamed over ``path``.

    The rename is atomic because both names are on one file system, so a reader (or a run
    interrupted mid-write) sees either the old file or the new one, never part of one. The
    temporary file is removed if the block fails. ``suffix`` lets writers that insist on
    an extension (Keras wants ``.weights.h5``) have it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates a new file (O_EXCL, no links followed), never one that was there.
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; run folders are for sharing
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and a rename, so a reader never sees a
    half-written file and an interrupted write leaves the old one intact."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
