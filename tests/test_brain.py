"""The compiled update against targets and losses computed by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dqn_tf.brain import Brain
from dqn_tf.presets import ConfigError, get_preset


def linear(x, n_actions):
    # Q(s) = s @ W + b: with chosen weights every target can be worked out on paper.
    return keras.layers.Dense(n_actions, activation=None)(x)


def make_brain(**changes):
    config = get_preset("book", gamma=0.5, memory_size=64, **changes)
    brain = Brain(2, 2, config, neural_architecture=linear)
    # online: Q(s) = [s1, s0]; target: Q_t(s) = 2 s
    brain.model.set_weights([np.array([[0, 1], [1, 0]], np.float32), np.zeros(2, np.float32)])
    brain.target_model.set_weights([2 * np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    return brain


# s_ = [[1, 3], [4, 2]]: online Q(s_) = [[3, 1], [2, 4]] -> argmax [0, 1]
#                        target Q_t(s_) = [[2, 6], [8, 4]] -> max [6, 8]
BATCH = dict(
    s=np.array([[1, 0], [0, 1]], np.float32),  # online Q(s) = [[0, 1], [1, 0]]
    a=np.array([0, 1], np.int32),  # Q(s, a) = [0, 0]
    r=np.array([1, 2], np.float32),
    s_=np.array([[1, 3], [4, 2]], np.float32),
    terminated=np.array([False, True]),
)


def _tensors():
    return [tf.constant(BATCH[k]) for k in ("s", "a", "r", "s_", "terminated")]


def test_double_dqn_target_by_hand():
    brain = make_brain(double_dqn=True)
    t = brain.td_targets(*_tensors()[2:]).numpy()
    # row 0: 1 + 0.5 * Q_t(s_0, argmax Q(s_0) = 0) = 1 + 0.5 * 2; row 1 terminal: 2
    np.testing.assert_allclose(t, [2.0, 2.0])


def test_plain_dqn_target_by_hand():
    brain = make_brain(double_dqn=False)
    t = brain.td_targets(*_tensors()[2:]).numpy()
    # row 0: 1 + 0.5 * max Q_t(s_0) = 1 + 0.5 * 6; row 1 terminal: 2
    np.testing.assert_allclose(t, [4.0, 2.0])


@pytest.mark.parametrize(
    "changes,expected_loss",
    [
        # errors on the taken actions 2 and 2, zero on the others, mean over 4 entries
        (dict(double_dqn=True), (2**2 + 2**2) / 4),
        (dict(double_dqn=False), (4**2 + 2**2) / 4),
        # Huber, delta 1: |e| - 0.5 for |e| > 1
        (dict(double_dqn=True, loss="huber"), (1.5 + 1.5) / 4),
        (dict(double_dqn=False, loss="huber"), (3.5 + 1.5) / 4),
    ],
)
def test_compiled_update_loss_by_hand(changes, expected_loss):
    brain = make_brain(**changes)
    before = brain.model.get_weights()
    loss = float(brain._train_step(*_tensors())[0])
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    assert int(brain.updates.numpy()) == 1
    after = brain.model.get_weights()
    assert any(not np.array_equal(x, y) for x, y in zip(before, after, strict=True))
    # Target network untouched by the update.
    np.testing.assert_array_equal(brain.target_model.get_weights()[0], 2 * np.eye(2))
    # The step went downhill: the same batch now has a smaller loss.
    assert float(brain._train_step(*_tensors())[0]) < loss


def test_update_only_moves_taken_actions_columns():
    # Only Q(s, a) enters the loss, so with s = e_0 (action 0) only W[0, 0] and b[0] get a
    # gradient; Adam's first step moves exactly those entries.
    brain = make_brain()
    w0, b0 = (x.copy() for x in brain.model.get_weights())
    brain._train_step(
        tf.constant([[1.0, 0.0]]),
        tf.constant([0]),
        tf.constant([5.0]),
        tf.constant([[0.0, 0.0]]),
        tf.constant([True]),
    )
    w1, b1 = brain.model.get_weights()
    changed = np.argwhere(w1 != w0).tolist()
    assert changed == [[0, 0]]
    assert b1[0] != b0[0] and b1[1] == b0[1]


def test_fit_and_predict_are_the_seeds_api():
    brain = make_brain()
    np.testing.assert_allclose(brain.predict(np.array([1.0, 3.0])), [[3.0, 1.0]])
    np.testing.assert_allclose(brain.predict(np.array([[1.0, 3.0]]), target=True), [[2.0, 6.0]])
    y = brain.predict(BATCH["s"])
    y[[0, 1], BATCH["a"]] = [2.0, 2.0]
    assert brain.fit(BATCH["s"], y) == pytest.approx(2.0)
    brain.target_model_update()
    for x, z in zip(brain.model.get_weights(), brain.target_model.get_weights(), strict=True):
        np.testing.assert_array_equal(x, z)


def test_save_load_round_trip(tmp_path):
    brain = make_brain()
    path = brain.save_weights(tmp_path / "w.weights.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["w.weights.h5"]  # no temp file left
    other = Brain(2, 2, brain.config, neural_architecture=linear)
    other.load_weights(path)
    for x, z in zip(brain.model.get_weights(), other.model.get_weights(), strict=True):
        np.testing.assert_array_equal(x, z)
    for x, z in zip(brain.model.get_weights(), other.target_model.get_weights(), strict=True):
        np.testing.assert_array_equal(x, z)


def test_load_errors_name_file_and_mismatch(tmp_path):
    brain = Brain(8, 4, get_preset("book", memory_size=64))
    path = brain.save_weights(tmp_path / "book.weights.h5")
    other = Brain(8, 4, get_preset("book", memory_size=64, hidden=(16,)))
    with pytest.raises(ConfigError) as err:
        other.load_weights(path)
    msg = str(err.value)
    assert str(path) in msg and "another architecture" in msg
    assert "(8, 32)" in msg and "(8, 16)" in msg
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        brain.load_weights(tmp_path / "missing.weights.h5")
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not an h5 file")
    with pytest.raises(ConfigError, match="bad.weights.h5"):
        brain.load_weights(bad)


DEMOS = dict(demonstrator="rocket_heuristic", demo_episodes=1)


@pytest.mark.parametrize("demo", [[True, False], [True, True], [False, False]])
def test_demo_margin_loss_by_hand(demo):
    # Q(s) = [[0, 1], [1, 0]], actions [0, 1], margin 1.5; the TD loss is 2 (as above).
    # Row 0: max(0 + 0, 1 + 1.5) - Q(s0, 0) = 2.5; row 1: max(1 + 1.5, 0 + 0) - Q(s1, 1) = 2.5.
    # Only demonstration rows count, averaged over the whole batch of 2.
    brain = make_brain(demo_margin=1.5, **DEMOS)
    loss = float(brain._train_step(*_tensors(), tf.constant(demo))[0])
    assert loss == pytest.approx(2.0 + 2.5 * sum(demo) / 2, rel=1e-6)


def test_demo_margin_is_zero_once_the_demonstrated_action_leads():
    # Q(s) = [[0, 1], [1, 0]] and actions [1, 0]: the demonstrated actions lead by 1, so a
    # margin of 1 adds nothing; the TD loss is that of the taken actions (targets 1 + 0.5 *
    # Q_t(s_0, 0) = 2 and 2; Q(s, a) = 1 and 1; errors 1, 1 over 4 entries).
    brain = make_brain(demo_margin=1.0, **DEMOS)
    s, _, r, s_, t = _tensors()
    loss = float(brain._train_step(s, tf.constant([1, 0]), r, s_, t, tf.constant([True, True]))[0])
    assert loss == pytest.approx((1 + 1) / 4, rel=1e-6)
    # Without the flags (an ordinary batch) the margin never applies.
    plain = make_brain(demo_margin=1.0, **DEMOS)
    assert float(plain._train_step(*_tensors())[0]) == pytest.approx(2.0, rel=1e-6)
