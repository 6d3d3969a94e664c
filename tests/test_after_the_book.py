"""After the book: n-step returns, the dueling head and prioritized replay, against values
worked out by hand (gamma 0.5, a linear Q-network whose weights are set by hand)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dqn_tf.agent import Agent
from dqn_tf.brain import Brain, Dueling
from dqn_tf.checkpoint import read_checkpoint
from dqn_tf.environment import Environment
from dqn_tf.memory import Memory
from dqn_tf.presets import ConfigError, get_preset


def linear(x, n_actions):
    return keras.layers.Dense(n_actions, activation=None)(x)


def one(*values):
    return np.array(values, np.float32)


# Storage order; capacity 6, so the first two are overwritten and episode C wraps around.
# Episode A ends cut by the time limit (truncated), B terminates, C is still going.
TRANSITIONS = [  # (s, a, r, s_, terminated)
    (10, 0, 1.0, 11, False),  # A, overwritten
    (11, 1, 2.0, 12, False),  # A, overwritten
    (12, 0, 4.0, 13, False),  # A, truncated: slot 2
    (20, 1, 1.0, 21, False),  # B: slot 3
    (21, 0, 2.0, 22, True),  # B terminated: slot 4
    (30, 1, 1.0, 31, False),  # C: slot 5
    (31, 0, 2.0, 32, False),  # C: slot 0
    (32, 1, 4.0, 33, False),  # C: slot 1 (the newest)
]


def filled_memory():
    m = Memory(6, 1)
    # Episode A as demonstrations (one write of three), the rest one at a time.
    a = TRANSITIONS[:3]
    m.add_memories(
        one(*[t[0] for t in a])[:, None],
        np.array([t[1] for t in a]),
        one(*[t[2] for t in a]),
        one(*[t[3] for t in a])[:, None],
        np.array([t[4] for t in a]),
        demo=True,
    )
    for s, a_, r, s_, term in TRANSITIONS[3:]:
        m.add_memory([s], a_, r, [s_], term)
    return m


def test_n_step_returns_by_hand_across_a_truncation_a_terminal_and_the_wrap_around():
    m = filled_memory()
    assert int(m.index.numpy()) == 2  # slots 2..5 then 0, 1
    idx = tf.constant([2, 3, 4, 5, 0, 1], tf.int64)
    r, s_, term, discount = (t.numpy() for t in m.n_step_graph(idx, 3, 0.5))
    # slot 2: A's last step, truncated; slot 3 starts B (20 != 13): 4, bootstrap from 13.
    # slot 3: 1 + 0.5 * 2 and B terminates there: nothing to bootstrap (terminated).
    # slot 4: B's terminal step alone. slot 5: 1 + 0.5 * 2 + 0.25 * 4 across the wrap-around.
    # slot 0: 2 + 0.5 * 4, then the newest transition: no third step. slot 1: 4.
    np.testing.assert_allclose(r, [4, 2, 2, 3, 4, 4])
    np.testing.assert_array_equal(s_[:, 0], [13, 22, 22, 33, 33, 33])
    np.testing.assert_array_equal(term, [False, True, True, False, False, False])
    np.testing.assert_allclose(discount, [0.5, 0.25, 0.5, 0.125, 0.25, 0.5])
    # n = 1 is the one-step transition.
    r1, _, _, d1 = (t.numpy() for t in m.n_step_graph(idx, 1, 0.5))
    np.testing.assert_allclose(r1, m.rewards.numpy()[idx.numpy()])
    np.testing.assert_allclose(d1, 0.5)


def test_the_newest_transition_never_continues_into_the_oldest():
    # A chain that loops (1 -> 2 -> 3 -> 1) fills the memory: slot 0, the oldest, starts where
    # the newest ends, but it was stored before it.
    m = Memory(3, 1)
    for s, s_ in ((1, 2), (2, 3), (3, 1)):
        m.add_memory([s], 0, 1.0, [s_], False)
    idx = tf.constant([2, 0], tf.int64)
    r, s_, _, discount = (t.numpy() for t in m.n_step_graph(idx, 3, 0.5))
    np.testing.assert_allclose(r, [1, 1 + 0.5 + 0.25])
    np.testing.assert_allclose(discount, [0.5, 0.125])
    np.testing.assert_array_equal(s_[:, 0], [1, 1])


def test_n_step_target_with_double_dqn_by_hand():
    # online Q(s) = [s, -s], target Q_t(s) = [s, 2 s]: at s_ = 33 Double DQN takes action 0
    # (the online argmax) valued by the target net, 33; plain DQN takes max Q_t = 66.
    m = filled_memory()
    r, s_, term, discount = m.n_step_graph(tf.constant([5, 3], tf.int64), 3, 0.5)
    for double, bootstrap in ((True, 33), (False, 66)):
        brain = Brain(1, 2, get_preset("book", gamma=0.5, double_dqn=double), linear)
        brain.model.set_weights([one(1, -1)[None], one(0, 0)])
        brain.target_model.set_weights([one(1, 2)[None], one(0, 0)])
        targets = brain.td_targets(r, s_, term, discount).numpy()
        np.testing.assert_allclose(targets, [3 + 0.125 * bootstrap, 2])


def test_dueling_combines_value_and_advantages():
    value, advantage = tf.constant([[1.0], [0.0]]), tf.constant([[1.0, 2, 3], [4, 4, 7]])
    # 1 + [1, 2, 3] - 2 and 0 + [4, 4, 7] - 5
    np.testing.assert_allclose(Dueling()([value, advantage]).numpy(), [[0, 1, 2], [-1, -1, 2]])
    brain = Brain(8, 4, get_preset("book", hidden=(16, 8), dueling=True))
    names = [layer.name for layer in brain.model.layers]
    assert {"value_stream", "advantage_stream", "value", "advantage"} <= set(names)
    heads = keras.Model(
        brain.model.inputs,
        [brain.model.get_layer("value").output, brain.model.get_layer("advantage").output],
    )
    s = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    v, adv = (x.numpy() for x in heads([s]))
    q = brain.predict(s)
    np.testing.assert_allclose(q, v + adv - adv.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.mean(axis=1), v[:, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="dueling"):
        Brain(8, 4, get_preset("book", dueling=True), linear)


def prioritized_memory(priorities, seed=1):
    m = Memory(len(priorities), 1, tf.random.Generator.from_seed(seed), prioritized=True)
    for i in range(len(priorities)):
        m.add_memory([i], 0, 0.0, [i + 1], False)
    m.priorities.assign(np.asarray(priorities, np.float32))
    return m


def test_new_transitions_get_the_largest_priority():
    m = prioritized_memory([0.5, 3.0, 1.0])
    m.max_priority.assign(3.0)
    m.add_memory([9], 0, 0.0, [10], False)  # overwrites slot 0
    np.testing.assert_allclose(m.priorities.numpy(), [3.0, 3.0, 1.0])
    m.add_memories(one(1, 2)[:, None], np.array([0, 0]), one(0, 0), one(2, 3)[:, None],
                   np.array([False, False]))  # fmt: skip
    np.testing.assert_allclose(m.priorities.numpy(), [3.0, 3.0, 3.0])
    # states x2, action, reward, two flags, and the priority: 4 bytes more per transition
    assert m.nbytes == 3 * (2 * 4 + 4 + 4 + 1 + 1 + 4)


def test_sampling_frequencies_are_proportional_to_priority():
    priorities = [1.0, 2.0, 3.0, 4.0, 0.5]  # already raised to alpha
    m = prioritized_memory(priorities)
    idx, p = tf.function(m.sample_prioritized)(50_000)
    expected = np.array(priorities) / sum(priorities)
    np.testing.assert_allclose(p.numpy(), expected[idx.numpy()], rtol=1e-6)
    counts = np.bincount(idx.numpy(), minlength=5)
    assert len(counts) == 5  # no index past the memory
    chi2 = float(np.sum((counts - 50_000 * expected) ** 2 / (50_000 * expected)))
    assert chi2 < 18.47  # the 0.999 quantile of chi-square with 4 degrees of freedom


def test_importance_weights_by_hand():
    agent = Agent(1, 2, get_preset("book", priority_alpha=0.6, priority_beta_steps=100), 0)
    for i in range(4):
        agent.memory.add_memory([i], 0, 0.0, [i + 1], False)
    p = tf.constant([0.1, 0.4, 0.25])
    # N = 4: (N P)^-beta = [0.4, 1.6, 1.0]^-beta, over the largest (that of 0.4).
    for steps, beta in ((0, 0.4), (50, 0.7), (100, 1.0), (1000, 1.0)):
        agent.steps.assign(steps)
        w = agent.importance_weights(p).numpy()
        np.testing.assert_allclose(w, (np.array([0.4, 1.6, 1.0]) / 0.4) ** -beta, rtol=1e-5)


def test_an_update_gives_the_batch_new_priorities_by_hand():
    config = get_preset("book", gamma=0.5, batch_size=16, memory_size=16, priority_alpha=0.6)
    agent = Agent(1, 2, config, seed=3, neural_architecture=linear)
    agent.model.set_weights([one(1, -1)[None], one(0, 0)])  # Q(s) = [s, -s]
    agent.target_model.set_weights([one(1, 2)[None], one(0, 0)])  # Q_t(s) = [s, 2 s]
    agent.add_memory([1], 0, 3.0, [2], True)  # target 3, Q(1, 0) = 1: error 2
    agent.add_memory([2], 1, 0.0, [1], False)  # 0.5 Q_t(1, argmax Q(1) = 0) = 0.5, Q = -2: 2.5
    np.testing.assert_allclose(agent.memory.priorities.numpy()[:2], 1.0)  # the start's maximum
    agent.replay()  # 16 draws from 2 transitions: both are drawn
    expected = (np.array([2.0, 2.5]) + config.priority_eps) ** 0.6
    np.testing.assert_allclose(agent.memory.priorities.numpy()[:2], expected, rtol=1e-6)
    assert float(agent.memory.max_priority.numpy()) == pytest.approx(expected[1], rel=1e-6)


def test_the_learning_rate_falls_linearly_to_zero_then_stays():
    config = get_preset("book", batch_size=2, memory_size=8, learning_rate=0.01,
                        learning_rate_decay_steps=10)  # fmt: skip
    agent = Agent(1, 2, config, seed=3, neural_architecture=linear)
    agent.add_memory([1], 0, 3.0, [2], True)
    agent.add_memory([2], 1, 1.0, [1], False)
    optimizer = agent.brain.optimizer
    for updates, rate in [(0, 0.01), (4, 0.006), (9, 0.001), (10, 0.0), (13, 0.0)]:
        while int(optimizer.iterations.numpy()) < updates:
            agent.replay()
        assert float(optimizer.learning_rate.numpy()) == pytest.approx(rate, abs=1e-9)
    before = agent.model.get_weights()
    agent.replay()  # a step of size 0 leaves every weight where it was
    for a, b in zip(before, agent.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


ALL_THREE = dict(
    memory_size=5_000, summary_every=10, n_step=3, dueling=True, priority_alpha=0.6,
    priority_beta_steps=800, learning_rate_decay_steps=1_000,
)  # fmt: skip


def make(run_dir, seed=2):
    return Environment(config=get_preset("book", **ALL_THREE), seed=seed, run_dir=run_dir)


def test_split_and_resumed_equals_straight_with_all_three_on(tmp_path):
    # ... and the learning rate's decay, a function of the optimizer's saved update count.
    straight = make(tmp_path / "straight")
    straight.train(episodes=6, log_every=0)
    first = make(tmp_path / "split")
    first.train(episodes=3, log_every=0)
    _, arrays = read_checkpoint(first.checkpoint_path)
    np.testing.assert_array_equal(arrays["memory/priorities"], first.agent.memory.priorities)
    assert float(arrays["memory/max_priority"]) > 1.0  # raised by TD errors above 1
    second = make(tmp_path / "split", seed=99)  # the checkpoint's state wins
    second.resume()
    second.train(epsilon=None, episodes=3, log_every=0)
    assert second.episode_rewards == straight.episode_rewards
    for a, b in zip(
        second.agent.model.get_weights(), straight.agent.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        second.agent.memory.priorities.numpy(), straight.agent.memory.priorities.numpy()
    )
