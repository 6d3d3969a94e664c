"""TensorFlow and Keras, imported once without TensorFlow's start-up log lines.

As it loads, TensorFlow's C++ code writes INFO and WARNING lines to file descriptor 2, out of
reach of ``warnings`` filters; in a notebook they look like errors. So the import writes them to
a temporary file, and a rule (:func:`kept_lines`), not a list of sentences, decides what shows.
"""

from __future__ import annotations

import ctypes
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

SEVERITIES = "IWEF"  # absl's INFO, WARNING, ERROR, FATAL: index = TF_CPP_MIN_LOG_LEVEL
# absl's C++ log prefix: severity letter, month and day, time, thread id, file:line]
# (before absl is set up, the time reads 00:00:<seconds since 1970>).
LOG_RECORD = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ ([^\s\]]+):\d+\] ")
# absl writes "WARNING: All log messages before absl::InitializeLog() ..." in its own words.
NATIVE_WARNING = re.compile(r"^WARNING: ")
DEFAULT_LEVEL = 2  # hide INFO and WARNING, keep ERROR and FATAL


def min_log_level() -> int:
    """The lowest severity shown: the user's ``TF_CPP_MIN_LOG_LEVEL`` when one of 0-3, else 2."""
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip()
    return int(value) if value in {"0", "1", "2", "3"} else DEFAULT_LEVEL


def cuda_driver_missing() -> bool:
    """True when the machine has no CUDA driver library (libcuda) to load."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return True
    return False


def log_severity(line: str, no_cuda: bool = False) -> int | None:
    """0-3 for a native log line (INFO ... FATAL), None for any other line. With ``no_cuda``,
    an ERROR from TensorFlow's CUDA files (``failed call to cuInit``) counts as INFO: on a
    machine without a CUDA driver it is expected, as TensorFlow itself says."""
    record = LOG_RECORD.match(line)
    if record:
        severity = SEVERITIES.index(record.group(1))
        if no_cuda and severity == 2 and "cuda" in record.group(2).lower():
            return 0
        return severity
    if NATIVE_WARNING.match(line):
        return 1
    return None


def kept_lines(text: str, level: int, no_cuda: bool = False) -> list[str]:
    """The lines of ``text`` (native standard error) that a user with threshold ``level``
    sees: records below it are dropped with their continuation lines (a multi-line message
    is one write; the next record, or absl's notice, ends it). FATAL always shows."""
    kept: list[str] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        severity = log_severity(line, no_cuda)
        if severity is not None:
            dropping = severity < min(level, 3)
        if not dropping:
            kept.append(line)
    return kept


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """While the block runs, native writes to descriptor 2 go to a temporary file (Python's
    ``sys.stderr`` to the real one); then the lines :func:`kept_lines` keeps are written back."""
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    # So that the file holds native output only; a notebook's sys.stderr is not fd 2 and
    # stays as it is.
    own = python_stderr is sys.__stderr__
    if own:
        sys.stderr = io.TextIOWrapper(
            os.fdopen(os.dup(saved), "wb", buffering=0),
            encoding=getattr(python_stderr, "encoding", None) or "utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if own:
                sys.stderr.close()
                sys.stderr = python_stderr
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = kept_lines(text, min_log_level(), cuda_driver_missing()) if text else []
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def _import_quietly() -> tuple[ModuleType, ModuleType]:
    if "tensorflow" in sys.modules:  # imported before us: its lines are already out
        import keras
        import tensorflow

        return tensorflow, keras
    with quiet_native_stderr():
        import keras
        import tensorflow

        tensorflow.config.list_physical_devices()  # the cuInit call, while we listen
    return tensorflow, keras


tf, keras = _import_quietly()
