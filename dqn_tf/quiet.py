"""TensorFlow and Keras, imported once without TensorFlow's start-up noise.

On a machine without a GPU, TensorFlow 2.21's CUDA build writes seven lines to the process's
standard error (file descriptor 2) while it loads and on its first operation: absl's
"All log messages before absl::InitializeLog() ..." twice, "Could not find cuda drivers"
twice, the CPU-feature notice (two lines) and "failed call to cuInit". They come from C++,
below Python's ``sys.stderr``, so ``warnings`` filters cannot catch them, and
``TF_CPP_MIN_LOG_LEVEL`` hides only some (absl logs the first ones before it reads it).
They land in every CLI command and in the first cells of a notebook, where they look like
errors.

So the first import of TensorFlow here runs with file descriptor 2 sent to a temporary file,
and also lists the devices (which is what calls cuInit); afterwards every captured line that
is not one of those known lines is written back to ``sys.stderr``, in order. Real warnings
and errors still show. Every module of the package imports ``tf`` and ``keras`` from here.
When TensorFlow was imported before ``dqn_tf`` (by the user), there is nothing left to hide.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from types import ModuleType

__all__ = ["NOISE", "is_noise", "keras", "tf"]

# The lines measured on these machines (TensorFlow 2.21, no GPU); anchored on the source
# file and message, so a different message from the same file still shows.
NOISE = re.compile(
    r"^(?:"
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your "
    r"machine, GPU will not be used\."
    r"|[IWE]\d{4} [\d:.]+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit: .*"
    r"|[IWE]\d{4} [\d:.]+ +\d+ cpu_feature_guard\.cc:\d+\] This TensorFlow binary is "
    r"optimized to use available CPU instructions in performance-critical operations\."
    r"|To enable the following instructions: .*, in other operations, rebuild TensorFlow "
    r"with the appropriate compiler flags\."
    r")\s*$"
)


def is_noise(line: str) -> bool:
    """True for one of TensorFlow's known start-up lines on a machine without a GPU."""
    return NOISE.match(line) is not None


def _import_quietly() -> tuple[ModuleType, ModuleType]:
    if "tensorflow" in sys.modules:  # imported before us: its lines are already out
        import keras
        import tensorflow

        return tensorflow, keras
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow

            tensorflow.config.list_physical_devices()  # the cuInit call, while we listen
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow, keras


tf, keras = _import_quietly()
