"""A checkpoint is data (issue 27): each hostile edit of a real checkpoint is refused before
anything is restored, with one line that names the field, and nothing changes: not the
running objects (checked in-process, for the whole table) and not the run folder (checked
through the CLI, for a few representative edits)."""

import io
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from dqn_tf import cli
from dqn_tf.checkpoint import CheckpointError, _variables, read_checkpoint, restore_checkpoint
from dqn_tf.environment import Environment

ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
RUN = ["--preset", "book", "--set", "memory_size=2000", "--log-every", "0"]
HUGE = 10**11  # elements (400 GB of float32), were a declared shape believed


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished two-episode run of the book preset."""
    run_dir = tmp_path_factory.mktemp("hostile") / "run"
    assert cli.main(["train", "--episodes", "2", "--run-dir", str(run_dir), *RUN]) == 0
    return run_dir


@pytest.fixture(scope="module")
def fresh(run_dir):
    """A new run with the same configuration, as before a resume. Refused restores leave it
    as it is, so the whole table shares it."""
    return Environment.from_run_folder(run_dir, summaries=False)


# --- forging checkpoints ------------------------------------------------------------------------


def forged_npy(shape, descr="<f4"):
    """A .npy member that declares ``shape`` but holds only a few bytes."""
    f = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(f, header)
    return f.getvalue() + bytes(16)


def hostile_copy(source, destination, edit):
    """The checkpoint at ``source`` after ``edit(header, arrays)``, written at
    ``destination`` as np.savez writes one. An array given as bytes is written as it is (a
    forged .npy); one named __state__ replaces the header."""
    header, arrays = read_checkpoint(source)
    edit(header, arrays)
    members = {"__state__": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}
    with zipfile.ZipFile(destination, "w") as archive:
        for name, value in members.items():
            if not isinstance(value, bytes):
                f = io.BytesIO()
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
                value = f.getvalue()
            archive.writestr(name if name.endswith(".txt") else f"{name}.npy", value)


def field(name, value):
    return lambda h, a: h.__setitem__(name, value)


def item(name, index, value):
    """Header field ``name`` with ``value`` at ``index``, a path of indices and keys."""

    def edit(h, a):
        *inner, last = (name, *index)
        target = h
        for key in inner:
            target = target[key]
        target[last] = value

    return edit


def array(name, value):
    return lambda h, a: a.__setitem__(name, value)


def poke(name, index, value):
    """Array ``name`` with ``value`` at ``index``, its shape and dtype kept."""

    def edit(h, a):
        a[name] = a[name].copy()
        a[name][index] = value

    return edit


def drop(name):
    return lambda h, a: (h if name in h else a).pop(name)


nan, inf = float("nan"), float("inf")

HOSTILE = [
    # the header: types, ranges and consistency with the run
    pytest.param(field("seed", "3"), "seed must be an integer >= 0", id="seed-str"),
    pytest.param(field("seed", True), "seed must be", id="seed-bool"),
    pytest.param(field("seed", -1), "seed must be", id="seed-negative"),
    pytest.param(field("nS", 8.0), "nS must be 8", id="nS-float"),
    pytest.param(field("nA", "4"), "nA='4' actions", id="nA-str"),
    pytest.param(field("episode_rewards", "abc"), "episode_rewards must be", id="rewards-str"),
    pytest.param(item("episode_rewards", (0,), nan), "episode_rewards", id="rewards-nan"),
    pytest.param(item("episode_rewards", (0,), 10**400), "episode_rewards", id="rewards-huge"),
    pytest.param(item("episode_rewards", (0,), True), "episode_rewards", id="rewards-bool"),
    pytest.param(field("episode_lengths", [64]), "one per episode_rewards", id="lengths-short"),
    pytest.param(item("episode_lengths", (0,), -1), "episode_lengths", id="lengths-negative"),
    pytest.param(item("episode_lengths", (0,), 64.0), "episode_lengths", id="lengths-float"),
    pytest.param(field("landed_episodes", [2]), "landed_episodes", id="landed-beyond"),
    pytest.param(field("reward_avg", [0.0] * 101), "at most 100", id="reward-avg-long"),
    pytest.param(field("reward_avg", [None]), "reward_avg", id="reward-avg-null"),
    pytest.param(field("total_steps", -1), "total_steps must be", id="total-steps-negative"),
    pytest.param(field("total_steps", 1.5), "total_steps must be", id="total-steps-float"),
    pytest.param(field("prefill_steps", "0"), "prefill_steps must be", id="prefill-str"),
    pytest.param(field("next_reset_seed", -3), "next_reset_seed must be", id="reset-seed"),
    pytest.param(field("python_random", "x"), "python_random must be", id="python-random-str"),
    pytest.param(item("python_random", (1, 624), 700), "python_random", id="python-random-pos"),
    pytest.param(item("python_random", (1, 0), 2**32), "python_random", id="python-random-word"),
    pytest.param(item("python_random", (2,), "x"), "python_random", id="python-random-gauss"),
    pytest.param(item("numpy_random", (2,), 1000), "numpy_random", id="numpy-random-pos"),
    pytest.param(item("numpy_random", (1, 5), -1), "numpy_random", id="numpy-random-key"),
    pytest.param(item("numpy_random", (0,), "PCG64"), "numpy_random", id="numpy-random-name"),
    # _generator looked the name up in np.random: "seed" would have reseeded numpy
    pytest.param(item("env_random", ("bit_generator",), "seed"), "env_random", id="env-seed"),
    pytest.param(item("env_random", ("state", "state"), 1.5), "env_random", id="env-float"),
    pytest.param(item("env_random", ("state", "inc"), -1), "env_random", id="env-negative"),
    pytest.param(drop("env_random"), "lacks ['env_random']", id="env-random-missing"),
    pytest.param(field("evaluations", [[10, "x"]]), "evaluations must be", id="evaluations"),
    pytest.param(field("best_eval", nan), "best_eval must be", id="best-eval-nan"),
    pytest.param(field("next_eval_at", -1), "next_eval_at must be", id="next-eval-at"),
    pytest.param(field("next_eval_reset_seed", 1.5), "next_eval_reset_seed", id="eval-seed"),
    pytest.param(field("eval_env_random", "PCG64"), "eval_env_random", id="eval-env-random"),
    pytest.param(field("extra", 1), "does not know: ['extra']", id="header-unknown"),
    pytest.param(drop("total_steps"), "lacks ['total_steps']", id="header-missing"),
    pytest.param(field("config", "x"), "no valid configuration", id="config-str"),
    pytest.param(field("format", "1"), "format '1'", id="format-str"),
    pytest.param(
        array("__state__", np.frombuffer(b"[" * 10**5 + b"]" * 10**5, np.uint8)),
        "__state__ is not JSON",
        id="header-nested-too-deep",
    ),
    # the arrays: values
    pytest.param(poke("model/0", (0, 0), nan), "model/0 must be finite", id="weights-nan"),
    pytest.param(poke("target/2", (1, 1), inf), "target/2 must be finite", id="target-inf"),
    pytest.param(poke("optimizer/2", (0, 0), nan), "optimizer/2 must be finite", id="adam-m-nan"),
    pytest.param(poke("optimizer/3", (0, 0), -1.0), "optimizer/3 must be", id="adam-v-negative"),
    pytest.param(array("optimizer/1", np.float32(1e30)), "learning_rate", id="learning-rate"),
    pytest.param(array("optimizer/0", np.int64(-1)), "optimizer/0 must be", id="adam-iterations"),
    pytest.param(array("brain/updates", np.int64(-1)), "brain/updates", id="updates-negative"),
    pytest.param(array("agent/steps", np.int64(-1)), "agent/steps", id="steps-negative"),
    pytest.param(array("agent/epsilon", np.float32(5.0)), "within [0, 1]", id="epsilon-5"),
    pytest.param(array("agent/epsilon", np.float32(nan)), "agent/epsilon", id="epsilon-nan"),
    pytest.param(array("memory/size", np.int64(2001)), "memory/size", id="size-beyond"),
    pytest.param(array("memory/size", np.int64(-1)), "memory/size", id="size-negative"),
    pytest.param(array("memory/size", np.int64(100)), "memory/size", id="size-not-index"),
    pytest.param(array("memory/index", np.int64(-1)), "memory/index", id="index-negative"),
    pytest.param(array("memory/index", np.int64(2000)), "memory/index", id="index-capacity"),
    pytest.param(poke("memory/actions", 0, 4), "memory/actions", id="action-beyond"),
    pytest.param(poke("memory/actions", 0, -1), "memory/actions", id="action-negative"),
    pytest.param(poke("memory/states", (0, 0), nan), "memory/states", id="states-nan"),
    pytest.param(poke("memory/rewards", 5, inf), "memory/rewards", id="rewards-inf"),
    # the arrays: names, shapes and dtypes, checked before any data is read
    pytest.param(array("model/0", np.zeros((8, 33), np.float32)), "(8, 33)", id="weights-shape"),
    pytest.param(array("model/0", np.zeros((8, 32))), "float64", id="weights-dtype"),
    pytest.param(array("memory/actions", np.zeros(2000, np.int64)), "int64", id="actions-int64"),
    pytest.param(array("agent/epsilon", np.zeros(1, np.float32)), "agent/epsilon", id="eps-1d"),
    pytest.param(
        array("memory/states", forged_npy((HUGE // 8, 8))), "memory/states", id="states-huge"
    ),
    pytest.param(array("__state__", forged_npy((HUGE,), "|u1")), "__state__", id="header-huge"),
    pytest.param(array("model/0", forged_npy((8, 32), "|O")), "model/0", id="weights-object"),
    pytest.param(array("model/0", forged_npy((-8, 32))), "model/0: negative", id="shape-neg"),
    pytest.param(array("extra", np.zeros(3)), "does not know: ['extra']", id="array-unknown"),
    pytest.param(drop("model/0"), "lacks model/0", id="array-missing"),
    pytest.param(array("notes.txt", b"hello"), "notes.txt", id="member-not-npy"),
]


def state_of(env):
    """Everything a restore would change in ``env`` and in the process's generators."""
    numpy_state = np.random.get_state()
    return {
        **{name: var.numpy().tolist() for name, var in _variables(env)},
        "python": [
            env.seed,
            env.episode_rewards,
            env.episode_lengths,
            env.landed_episodes,
            list(env.reward_avg),
            env.total_steps,
            env.prefill_steps,
            env._next_reset_seed,
            env.evaluations,
            env.best_eval,
            env.next_eval_at,
            env._next_eval_reset_seed,
            env.eval_env,
        ],
        "random": random.getstate(),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "game": env.env.unwrapped.np_random.bit_generator.state,
    }


# --- in-process: the whole table ----------------------------------------------------------------


def test_the_forger_writes_checkpoints_that_restore(run_dir, tmp_path):
    """The table's edits are the only thing wrong with its checkpoints."""
    path = tmp_path / "checkpoint.npz"
    hostile_copy(run_dir / "checkpoint.npz", path, lambda h, a: None)
    env = Environment.from_run_folder(run_dir, summaries=False)
    restore_checkpoint(env, path)
    steps = read_checkpoint(path)[0]["total_steps"]
    assert env.total_steps == steps == len(env.agent.memory) > 0


@pytest.mark.parametrize("edit,needle", HOSTILE)
def test_hostile_checkpoint_is_refused_and_nothing_changes(run_dir, fresh, tmp_path, edit, needle):
    path = tmp_path / "checkpoint.npz"
    hostile_copy(run_dir / "checkpoint.npz", path, edit)
    before = state_of(fresh)
    with pytest.raises(CheckpointError) as err:
        restore_checkpoint(fresh, path)
    message = str(err.value)
    assert needle in message and str(path) in message
    assert "\n" not in message
    assert state_of(fresh) == before


# --- through the CLI: exit status 2, one line, the run folder as it was -------------------------


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def resume(run_dir):
    return subprocess.run(
        [sys.executable, "-m", "dqn_tf", "train", "--run-dir", str(run_dir), "--episodes", "3"]
        + ["--resume", "--log-every", "0"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


@pytest.mark.parametrize(
    "edit,needle",
    [
        (field("episode_rewards", "abc"), "episode_rewards"),
        (array("agent/epsilon", np.float32(5.0)), "agent/epsilon"),
        (array("memory/states", forged_npy((HUGE // 8, 8))), "memory/states"),
    ],
    ids=["rewards-str", "epsilon-5", "states-huge"],
)
def test_cli_refuses_a_hostile_checkpoint(run_dir, tmp_path, edit, needle):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    hostile_copy(run_dir / "checkpoint.npz", copy / "checkpoint.npz", edit)
    before = snapshot(copy)
    proc = resume(copy)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines
    after = snapshot(copy)
    assert {k: after[k] for k in before} == before  # every file byte-identical
    # Building the run opens its TensorBoard writer, which adds an events file before the
    # checkpoint is read (see test_a_refused_resume_adds_no_file).
    assert all(k.startswith("tensorboard/events.") for k in set(after) - set(before))


def test_a_refused_resume_adds_no_file(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    hostile_copy(run_dir / "checkpoint.npz", copy / "checkpoint.npz", field("seed", "3"))
    before = snapshot(copy)
    assert resume(copy).returncode == 2
    assert snapshot(copy) == before


def test_cli_resumes_the_unmodified_checkpoint(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    proc = resume(copy)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Resumed from" in proc.stdout
    assert len(json.loads((copy / "history.json").read_text())["episode_rewards"]) == 3
