import numpy as np
import pytest
import tensorflow as tf

from dqn_tf.memory import Memory


def _fill(memory, n, start=0):
    for i in range(start, start + n):
        memory.add_memory(
            np.full(3, i, np.float32), i % 4, float(i) / 10, np.full(3, i + 0.5), i % 2 == 0
        )


def test_add_and_recall_in_order():
    m = Memory(5, 3)
    assert len(m) == 0
    _fill(m, 3)
    assert len(m) == 3
    s, a, r, s_, t = m.recall_memories()
    assert s.shape == (3, 3) and s_.shape == (3, 3)
    np.testing.assert_array_equal(s[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(a, [0, 1, 2])
    np.testing.assert_allclose(r, [0.0, 0.1, 0.2], rtol=1e-6)
    np.testing.assert_array_equal(s_[:, 2], [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(t, [True, False, True])
    assert a.dtype == np.int32 and t.dtype == np.bool_ and s.dtype == np.float32


def test_wrap_around_overwrites_the_oldest():
    m = Memory(3, 3)
    _fill(m, 5)  # transitions 0..4; 0 and 1 are overwritten
    assert len(m) == 3
    s, a, *_ = m.recall_memories()
    np.testing.assert_array_equal(s[:, 0], [2, 3, 4])  # oldest first
    np.testing.assert_array_equal(a, [2, 3, 0])
    # Raw slots: 3 was written at slot 0, 4 at slot 1, 2 is still at slot 2.
    np.testing.assert_array_equal(m.states.numpy()[:, 0], [3, 4, 2])
    assert int(m.index.numpy()) == 2


def test_sampling_stays_within_the_stored_transitions():
    m = Memory(100, 3, tf.random.Generator.from_seed(1))
    _fill(m, 7)
    s, a, r, s_, t = m.sample(500)  # clamped to len(m), as seed 000's sample
    assert s.shape == (7, 3)
    for _ in range(50):
        s, a, r, s_, t = m.sample(5)
        assert s.shape == (5, 3) and a.shape == (5,)
        assert set(s[:, 0].astype(int)) <= set(range(7))
        # rows stay together: next state is state + 0.5, action is index % 4
        np.testing.assert_array_equal(s_[:, 0], s[:, 0] + 0.5)
        np.testing.assert_array_equal(a, s[:, 0].astype(int) % 4)


def test_sampling_is_seeded():
    draws = []
    for _ in range(2):
        m = Memory(50, 3, tf.random.Generator.from_seed(7))
        _fill(m, 20)
        draws.append(m.sample(10)[0])
    np.testing.assert_array_equal(draws[0], draws[1])


def test_bad_use_is_reported():
    m = Memory(4, 3)
    with pytest.raises(ValueError, match="empty memory"):
        m.sample(2)
    with pytest.raises(ValueError, match="states must have 3 values"):
        m.add_memory(np.zeros(4), 0, 0.0, np.zeros(3), False)
    with pytest.raises(ValueError, match=r"memory_size must be an integer >= 1 \(got 0\)"):
        Memory(0, 3)


def test_raw_size_is_the_arrays():
    m = Memory(1000, 8)
    # two float32 state arrays, int32 action, float32 reward, bool flag
    assert m.nbytes == 1000 * (8 * 4 * 2 + 4 + 4 + 1 + 1)  # states x2, a, r, terminated, demo


def _batch(start, n):
    i = np.arange(start, start + n)
    return (
        np.repeat(i[:, None], 3, axis=1).astype(np.float32),
        i % 4,
        i / 10,
        np.repeat(i[:, None] + 0.5, 3, axis=1),
        i % 2 == 0,
    )


@pytest.mark.parametrize("before, n", [(0, 3), (2, 4), (1, 12)])
def test_a_batch_is_stored_as_one_add_at_a_time_would_store_it(before, n):
    """Wrap-around included, and a batch longer than the memory (12 into 5) keeps its last
    five transitions in the slots single adds would have left them in."""
    one_by_one, batched = Memory(5, 3), Memory(5, 3)
    _fill(one_by_one, before)
    _fill(one_by_one, n, start=before)
    _fill(batched, before)
    batched.add_memories(*_batch(before, n))
    for variable in ("states", "actions", "rewards", "next_states", "terminated", "index", "size"):
        np.testing.assert_array_equal(
            getattr(batched, variable).numpy(), getattr(one_by_one, variable).numpy()
        )
    assert len(batched) == min(before + n, 5)


def test_a_bad_batch_is_named_and_stores_nothing():
    m = Memory(5, 3)
    s, a, r, s_, t = _batch(0, 3)
    with pytest.raises(ValueError, match=r"states must have shape \(n, 3\)"):
        m.add_memories(s[:, :2], a, r, s_[:, :2], t)
    with pytest.raises(ValueError, match="as many actions, rewards and flags as states"):
        m.add_memories(s, a[:2], r, s_, t)
    with pytest.raises(ValueError, match="actions must be integers"):
        m.add_memories(s, a + 0.7, r, s_, t)
    with pytest.raises(ValueError, match="terminated must be booleans"):
        m.add_memories(s, a, r, s_, t.astype(float))
    m.add_memories(np.zeros((0, 3)), [], [], np.zeros((0, 3)), [])  # an empty batch: nothing
    assert len(m) == 0 and int(m.index.numpy()) == 0


def test_demonstration_flags_follow_their_transitions():
    m = Memory(4, 3)
    m.add_memories(*_batch(0, 3), demo=True)
    _fill(m, 2, start=3)  # 3 fills slot 3, 4 overwrites slot 0 (a demonstration)
    np.testing.assert_array_equal(m.demo.numpy(), [False, True, True, False])
    m.add_memories(*_batch(5, 1))  # an ordinary batch over slot 1
    np.testing.assert_array_equal(m.demo.numpy(), [False, False, True, False])
    # Sampled rows carry the flag of their own transition: only transition 2 is one.
    s, _, _, _, _, demo = (t.numpy() for t in m.sample_graph(64))
    np.testing.assert_array_equal(demo, s[:, 0] == 2)
    assert demo.any() and not demo.all()
    assert len(m.sample(8)) == 5  # the seeds' sample keeps its five arrays
