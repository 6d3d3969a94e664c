"""TensorFlow's start-up noise stays out of what a user sees; real messages still show."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The rule, written here independently of dqn_tf.quiet: a line in absl's C++ log format whose
# severity is below ERROR (I or W), or absl's own WARNING notice, whatever the sentence.
BELOW_ERROR = re.compile(r"^(?:[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: )", re.MULTILINE)


def _user_env(**extra: str) -> dict[str, str]:
    # As a user runs it: no TF_CPP_MIN_LOG_LEVEL, no CUDA_VISIBLE_DEVICES set for us.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "CUDA_"))}
    return {**env, "SDL_VIDEODRIVER": "dummy", **extra}


def test_cli_train_prints_no_tensorflow_start_up_lines(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", "--preset", "book", "--episodes", "1"]
        + [
            "--log-every",
            "1",
            "--set",
            "memory_size=2000",
            "--run-dir",
            str(tmp_path / "run"),
            "--seed",
            "0",
        ],
        capture_output=True,
        text=True,
        env=_user_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "episode: 0 score:" in proc.stdout  # it did run
    assert BELOW_ERROR.findall(proc.stderr) == []
    assert proc.stderr.strip() == ""  # and, on a machine without a GPU, no error either


ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# Made-up sentences from made-up files: the rule must not depend on knowing them.
INFO = "I0000 00:00:1795472464.807219    7556 some_new_file.cc:31] an info line nobody listed"
CONTINUED = "a second line of that info message"
WARN = "W1130 12:44:15.000001    7556 other.cc:7] a warning from C++"
ERROR = "E0000 00:00:1795472464.900000    7556 real_kernel.cc:12] a real error the user must see"
CUDA_ERROR = "E0000 00:00:1795472469.79    7556 cuda_platform.cc:52] failed call to cuInit: 303"
FATAL = "F1130 12:44:15.500000    7556 kernel.cc:9] a fatal error"
PLAIN = "a native line in no log format"
AT_IMPORT = [ABSL, INFO, CONTINUED, ERROR, PLAIN, WARN, CONTINUED]
AT_FIRST_DEVICE_LIST = [FATAL, INFO]
# A stand-in for TensorFlow that writes those lines to file descriptor 2, as the C++ does.
FAKE_TENSORFLOW = f"""
import os
for line in {AT_IMPORT!r}:
    os.write(2, (line + "\\n").encode())

class config:
    @staticmethod
    def list_physical_devices():
        for line in {AT_FIRST_DEVICE_LIST!r}:
            os.write(2, (line + "\\n").encode())
        return []
"""


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (None, [ERROR, PLAIN, FATAL]),  # default: ERROR and above
        ("2", [ERROR, PLAIN, FATAL]),
        ("1", [ABSL, ERROR, PLAIN, WARN, CONTINUED, FATAL]),
        ("0", [*AT_IMPORT, FATAL, INFO]),  # the user asked for everything
        ("3", [FATAL]),  # PLAIN follows a dropped ERROR record: its continuation
    ],
)
def test_tensorflow_log_lines_below_the_users_level_are_dropped(tmp_path, level, expected):
    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    (fake / "keras").mkdir()
    # Python-level output during the import goes straight to stderr, never filtered.
    (fake / "keras" / "__init__.py").write_text(
        "import sys, warnings\nprint('keras says', file=sys.stderr)\n"
        "warnings.warn('a Python warning', UserWarning)\n"
    )
    code = "import dqn_tf.quiet as q; print(q.tf.__file__)"
    extra = {"TF_CPP_MIN_LOG_LEVEL": level} if level is not None else {}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_user_env(PYTHONPATH=f"{fake}{os.pathsep}{ROOT}", **extra),
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(fake / "tensorflow" / "__init__.py")
    lines = proc.stderr.splitlines()
    assert lines[0] == "keras says"
    assert lines[1].endswith("UserWarning: a Python warning")
    # lines[2] is the warning's source line; then the native lines the rule keeps, in order.
    assert lines[3:] == expected


def test_kept_lines_rule():
    from dqn_tf.quiet import kept_lines, log_severity

    assert [log_severity(x) for x in (INFO, WARN, ERROR, FATAL, ABSL, PLAIN)] == [
        0,
        1,
        2,
        3,
        1,
        None,
    ]
    # Without a CUDA driver, CUDA failing to start is the expected state: INFO, like
    # TensorFlow's own "Could not find cuda drivers"; with a driver it is a real error.
    assert log_severity(CUDA_ERROR, no_cuda=True) == 0
    assert log_severity(CUDA_ERROR, no_cuda=False) == 2
    assert log_severity(ERROR, no_cuda=True) == 2
    text = "\n".join([INFO, CONTINUED, CUDA_ERROR, PLAIN, ERROR]) + "\n"
    assert kept_lines(text, 2, no_cuda=True) == [ERROR + "\n"]
    assert kept_lines(text, 2, no_cuda=False) == [CUDA_ERROR + "\n", PLAIN + "\n", ERROR + "\n"]
    assert kept_lines(text, 0) == text.splitlines(keepends=True)
    assert kept_lines("", 2) == []
