"""Epsilon schedules, acting and the agent's pieces one call at a time."""

import numpy as np
import pytest

from dqn_tf.agent import Agent
from dqn_tf.presets import Config, ConfigError, get_preset


def book_agent(**changes):
    changes.setdefault("memory_size", 1_000)
    return Agent(8, 4, get_preset("book", **changes), seed=0)


def notebook_agent(**changes):
    # seed 000's schedule and sync, with a small network and memory to keep the test light
    return Agent(10, 7, get_preset("notebook", hidden=(16,), memory_size=4_096, **changes), seed=0)


@pytest.mark.parametrize("episodes", [0, 1, 10, 1000])
def test_book_epsilon_per_episode(episodes):
    agent = book_agent()
    for t in range(episodes):
        agent.epsilon_update(t)
    assert agent.epsilon == pytest.approx(0.9994**episodes, rel=1e-5)


def test_book_epsilon_floor():
    agent = book_agent()
    agent.epsilon = 0.0100001
    assert agent.epsilon_update() == pytest.approx(0.01)  # clamped, never below the floor
    assert agent.epsilon_update() == pytest.approx(0.01)
    # from 0.0102, 0.9994 ** k crosses 0.01 after 34 episodes; the floor holds afterwards
    agent.epsilon = 0.0102
    values = [agent.epsilon_update() for _ in range(60)]
    assert values[0] == pytest.approx(0.0102 * 0.9994, rel=1e-5)
    assert min(values) == pytest.approx(0.01) and values[-1] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "steps,expected",
    [(0, 1.0), (1, 1.0 - 0.95e-5), (25_000, 0.7625), (50_000, 0.525), (99_999, 0.0500095)],
)
def test_notebook_epsilon_linear_per_step(steps, expected):
    agent = notebook_agent()
    agent.steps.assign(steps)
    agent.epsilon_step_graph()
    assert agent.epsilon == pytest.approx(expected, rel=1e-5)
    # no per-episode decay while the linear phase lasts
    assert agent.epsilon_update() == pytest.approx(expected, rel=1e-5)


def test_notebook_epsilon_exponential_after_linear_phase():
    agent = notebook_agent()
    agent.steps.assign(100_000)
    agent.epsilon = 0.05
    agent.epsilon_step_graph()  # past the linear phase: unchanged
    assert agent.epsilon == pytest.approx(0.05)
    for _ in range(10):
        agent.epsilon_update()
    assert agent.epsilon == pytest.approx(0.05 * 0.97**10, rel=1e-5)  # no floor in seed 000


def test_act_greedy_and_random():
    agent = book_agent()
    s = np.linspace(-1, 1, 8).astype(np.float32)
    greedy = int(np.argmax(agent.brain.predict(s)))
    assert all(agent.act(s, epsilon=0.0) == greedy for _ in range(20))
    actions = {agent.act(s, epsilon=1.0) for _ in range(200)}
    assert actions == {0, 1, 2, 3}
    assert agent.act(s.reshape(1, 8), epsilon=0.0) == greedy  # the book's (1, nS) shape


def test_act_is_seeded():
    s = np.zeros(8, np.float32)
    runs = [[book_agent().act(s, epsilon=0.5) for _ in range(30)] for _ in range(2)]
    assert runs[0] == runs[1]


def test_observe_replays_once_memory_exceeds_a_batch():
    agent = book_agent(batch_size=4, memory_size=100)
    s = np.zeros(8, np.float32)
    results = [agent.observe(s, 0, 1.0, s, False) for _ in range(6)]
    # memory sizes after storing: 1..6; replay when size > 4
    assert [r is None for r in results] == [True, True, True, True, False, False]
    assert int(agent.brain.updates.numpy()) == 2
    assert int(agent.steps.numpy()) == 6


def test_step_based_target_sync():
    agent = notebook_agent(batch_size=2, target_sync_steps=3)
    s = np.ones(10, np.float32)

    def same():
        return all(
            np.array_equal(x, y)
            for x, y in zip(
                agent.model.get_weights(), agent.target_model.get_weights(), strict=True
            )
        )

    # seed 000 syncs when the step counter (before counting this step) is a multiple of 3
    synced_after = []
    for _ in range(7):
        agent.observe(s, 1, 0.5, s, False)
        synced_after.append(same())
    # step 0 syncs before any update; updates start at size 3 > 2 (step index 2), so the
    # nets differ from then until the next sync at counter 3, then 6.
    assert synced_after[:2] == [True, True]
    assert synced_after[2] is False
    assert synced_after[3] is False  # synced, then updated in the same step


def test_replay_needs_memory():
    agent = book_agent()
    with pytest.raises(ValueError, match="empty memory"):
        agent.replay()
    agent.add_memory(np.zeros(8), 1, 1.0, np.zeros(8), True)
    assert np.isfinite(agent.replay())


def test_epsilon_setter_checks_range():
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\] \(got 1.5\)"):
        book_agent().epsilon = 1.5


def test_run_folders_saved_with_explore_hold_load_without_it():
    """Held exploration was removed: a configuration saved with its default (1) is the same
    run; one that held random actions is refused, naming the field."""
    saved = get_preset("book").to_dict()
    assert Config.from_dict({**saved, "explore_hold": 1}) == get_preset("book")
    with pytest.raises(ConfigError, match=r"explore_hold=8: held exploration was removed"):
        Config.from_dict({**saved, "explore_hold": 8})
