"""TensorFlow's start-up noise stays out of what a user sees; real messages still show."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the noise looks like on these machines, looser than dqn_tf.quiet's own pattern so that
# this test does not just repeat it.
MARKERS = ("absl::InitializeLog", "cudart_stub", "cuda_platform", "cuInit", "cpu_feature_guard")


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
    noisy = [line for line in proc.stderr.splitlines() if any(m in line for m in MARKERS)]
    assert noisy == []
    assert proc.stderr.strip() == ""


ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
AT_IMPORT = [
    ABSL,
    "I0000 00:00:1795472464.807219    7556 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1795472464.900000    7556 real_kernel.cc:12] a real error the user must see",
    "I0000 00:00:1795472464.913119    7556 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
]
AT_FIRST_DEVICE_LIST = [
    "E0000 00:00:1795472469.791716    7556 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "W0000 00:00:1795472469.800000    7556 cudart_stub.cc:40] another message from the same file",
]
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


def test_known_lines_are_dropped_and_every_other_line_is_kept_in_order(tmp_path):
    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    (fake / "keras").mkdir()
    (fake / "keras" / "__init__.py").write_text(
        "import sys\nprint('keras says', file=sys.stderr)\n"
    )
    code = "import dqn_tf.quiet as q; print(q.tf.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_user_env(PYTHONPATH=f"{fake}{os.pathsep}{ROOT}"),
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(fake / "tensorflow" / "__init__.py")
    assert proc.stderr.splitlines() == [
        "keras says",  # Python-level output written while fd 2 was captured
        AT_IMPORT[2],
        AT_FIRST_DEVICE_LIST[1],
    ]
