"""Export: the files play without this package, exactly as the package plays."""

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from dqn_tf.cli import main
from dqn_tf.environment import Environment
from dqn_tf.run_folder import read_config

TRAIN = ["train", "--preset", "book", "--set", "memory_size=2000", "--log-every", "0"]
EPISODE_SEED = 7  # the example in docs/usage.md plays reset(seed=7)

# Run in a fresh Python with plain TensorFlow, Keras and gymnasium; it imports dqn_tf only to
# load a dueling network's Keras file, after everything else has played.
PLAYER = """
import json, sys
import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

folder, observations = sys.argv[1], np.load(sys.argv[2])
policy = tf.saved_model.load(f"{folder}/saved_model")
serve = policy.signatures["serving_default"]
out = serve(observations=tf.constant(observations))
metadata = json.loads(policy.metadata.numpy())
lite = tf.lite.Interpreter(model_path=f"{folder}/q_network.tflite")
runner = lite.get_signature_runner()
name = lite.get_signature_list()["serving_default"]["inputs"][0]
q_lite = next(iter(runner(**{name: observations}).values()))
game = gym.make(metadata["env"])
s, _ = game.reset(seed=int(sys.argv[3]))
ret, done = 0.0, False
while not done:
    q = serve(observations=tf.constant(s[None].astype(np.float32)))
    s, r, terminated, truncated, _ = game.step(int(q["actions"][0]))
    ret, done = ret + float(r), terminated or truncated
played_without = not any(m.startswith("dqn_tf") for m in sys.modules)
if sys.argv[4:] == ["dueling"]:  # its Keras file names the package's Dueling layer
    import dqn_tf.brain  # noqa: F401
q_keras = keras.models.load_model(f"{folder}/q_network.keras")(observations).numpy()
print(json.dumps({
    "saved_model": out["actions"].numpy().tolist(),
    "q_values": out["q_values"].numpy().tolist(),
    "keras": q_keras.argmax(axis=1).tolist(),
    "litert": q_lite.argmax(axis=1).tolist(),
    "metadata": metadata,
    "return": ret,
    "played_without_dqn_tf": played_without,
    "dqn_tf_imported": any(m.startswith("dqn_tf") for m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    run, to = root / "run", root / "exported"
    assert main([*TRAIN, "--episodes", "2", "--run-dir", str(run)]) == 0
    assert main(["export", "--run-dir", str(run), "--to", str(to), "--json"]) == 0
    return run, to


@pytest.fixture(scope="module")
def exported_dueling(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_dueling")
    run, to = root / "run", root / "exported"
    train = [*TRAIN, "--set", "dueling=true", "--episodes", "2", "--run-dir", str(run)]
    assert main(train) == 0
    assert main(["export", "--run-dir", str(run), "--to", str(to), "--json"]) == 0
    return run, to


def _observations(n: int = 1000) -> np.ndarray:
    """States LunarLander really visits: random play from seeded starts."""
    game, rng, seen = gym.make("LunarLander-v3"), np.random.default_rng(0), []
    s, _ = game.reset(seed=0)
    while len(seen) < n:
        seen.append(s)
        s, _, terminated, truncated, _ = game.step(int(rng.integers(4)))
        if terminated or truncated:
            s, _ = game.reset()
    return np.asarray(seen, np.float32)


def _play(exported, tmp_path, dueling=False):
    """What the player (a fresh Python) gets from the exported files, and what the package
    itself gives: the greedy actions on 1000 visited states, the Q-values, one episode."""
    run, to = exported
    assert sorted(p.name for p in to.iterdir()) == [
        "q_network.keras",
        "q_network.tflite",
        "saved_model",
    ]
    observations = _observations()
    np.save(tmp_path / "obs.npy", observations)
    config, _ = read_config(run)
    # Seeded with EPISODE_SEED, its first episode starts where the fresh process's does.
    env = Environment(config=config, seed=EPISODE_SEED, run_dir=run, summaries=False)
    (expected_return,) = env.test(episodes=1, weights=run / "weights.weights.h5", log_every=0)
    expected_q = env.agent.brain.predict(observations)
    expected = expected_q.argmax(axis=1).tolist()

    args = [str(to), str(tmp_path / "obs.npy"), str(EPISODE_SEED), *(["dueling"] * dueling)]
    env = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if dueling:
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", PLAYER, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,  # not the repository: dqn_tf is not importable from here by accident
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return got, expected, expected_q, expected_return


def test_exported_files_play_as_the_package_without_it(exported, tmp_path):
    got, expected, expected_q, expected_return = _play(exported, tmp_path)
    assert got["dqn_tf_imported"] is False
    assert got["saved_model"] == expected
    assert got["keras"] == expected
    assert got["litert"] == expected
    np.testing.assert_allclose(got["q_values"], expected_q, rtol=1e-5, atol=1e-5)
    assert got["metadata"]["env"] == "LunarLander-v3"
    assert (got["metadata"]["observation_size"], got["metadata"]["action_size"]) == (8, 4)
    assert got["metadata"]["config"]["hidden"] == [32, 32]
    assert got["return"] == pytest.approx(expected_return, abs=1e-9)


def test_a_dueling_network_exports_and_its_keras_file_loads_with_the_package(
    exported_dueling, tmp_path
):
    got, expected, expected_q, expected_return = _play(exported_dueling, tmp_path, dueling=True)
    # SavedModel and LiteRT play without the package; the Keras file alone needs it.
    assert got["played_without_dqn_tf"] is True and got["dqn_tf_imported"] is True
    assert got["saved_model"] == got["keras"] == got["litert"] == expected
    np.testing.assert_allclose(got["q_values"], expected_q, rtol=1e-5, atol=1e-5)
    assert got["metadata"]["config"]["dueling"] is True
    assert got["return"] == pytest.approx(expected_return, abs=1e-9)


def _snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", ["no weights", "other network", "not empty"])
def test_bad_exports_are_one_line_and_write_nothing(exported, tmp_path, capsys, case):
    run, _ = exported
    args = ["export", "--run-dir", str(run), "--to", str(tmp_path / "out")]
    if case == "no weights":
        args[2] = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "config.json").write_text((run / "config.json").read_text())
        says = "no weights.weights.h5"
    elif case == "other network":
        other = tmp_path / "other"
        assert (
            main([*TRAIN, "--episodes", "1", "--set", "hidden=[16]", "--run-dir", str(other)]) == 0
        )
        (other / "weights.weights.h5").write_bytes((run / "weights.weights.h5").read_bytes())
        args[2] = str(other)
        says = "another architecture"
    else:
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "mine.txt").write_text("x")
        says = "is not an empty folder"
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and says in line, line
    assert _snapshot(tmp_path) == before


def _docs_snippet() -> str:
    """The lines of docs/usage.md that play an exported lander."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text()
    section = page[page.index("## Taking the lander elsewhere") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("\n```", start)]


def test_the_docs_lines_play_the_exported_lander_without_the_package(exported, tmp_path):
    run, to = exported
    code = _docs_snippet().replace("runs/x-exported", str(to))
    code += "\nimport sys; assert not any(m.startswith('dqn_tf') for m in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    config, _ = read_config(run)
    env = Environment(config=config, seed=EPISODE_SEED, run_dir=run, summaries=False)
    (expected,) = env.test(episodes=1, weights=run / "weights.weights.h5", log_every=0)
    assert done.stdout.strip() == f"return {expected:.2f}"


def test_the_lunar_notebook_shows_the_docs_lines():
    import nbformat

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "lunar_lander.ipynb"
    cells = nbformat.read(notebook, as_version=4).cells
    shown = [c.source for c in cells if c.cell_type == "markdown" and "export" in c.source]
    assert any(_docs_snippet() in text for text in shown)
