"""Demonstrations: a scripted policy's episodes stored in the replay memory before learning."""

import numpy as np
import pytest

from dqn_tf.environment import Environment
from dqn_tf.envs.rocket_heuristic import heuristic
from dqn_tf.games import make_env
from dqn_tf.presets import (
    DEMONSTRATORS,
    Config,
    ConfigError,
    get_preset,
    load_demonstrator,
    register_demonstrator,
)

HEURISTIC = "rocket_heuristic"
# Acting on every step keeps the count simple: one stored transition per game step.
SMALL = dict(
    memory_size=5_000, action_repeat=1, eval_every_steps=0, summary_every=100,
    hidden=(32, 32), batch_size=32, max_episode_steps=200, env="RocketLander-v0", eval_env="",
    demonstrator=HEURISTIC, demo_episodes=2,
)  # fmt: skip


def make(run_dir, seed=5):
    return Environment(config=get_preset("rocket", **SMALL), seed=seed, run_dir=run_dir)


def test_demonstrations_are_the_heuristics_episodes_and_are_stored_once(tmp_path, capsys):
    # The demonstrator's two episodes played by hand: first reset seeded by the run's seed,
    # the second continuing the game's generator, as the run's own episodes do; each cut at
    # max_episode_steps, as the run's episodes are.
    game = make_env("RocketLander-v0")
    states, actions, rewards = [], [], []
    for episode in range(2):
        s, _ = game.reset(seed=5 if episode == 0 else None)
        done, steps = False, 0
        while not done and steps < 200:
            a = heuristic(s)
            states.append(s)
            actions.append(a)
            s, r, terminated, truncated, _ = game.step(a)
            rewards.append(r)
            done, steps = terminated or truncated, steps + 1
    n = len(actions)

    env = make(tmp_path / "run")
    env.train(episodes=1, log_every=1)
    assert (
        f"demonstrations: 2/2 episodes of {HEURISTIC}, {n} transitions" in capsys.readouterr().out
    )
    assert env.prefill_steps == n
    assert len(env.agent.memory) == n + env.total_steps
    memory_states, memory_actions, memory_rewards, _, _ = env.agent.memory.recall_memories()
    np.testing.assert_array_equal(memory_states[:n], np.array(states, np.float32))
    np.testing.assert_array_equal(memory_actions[:n], actions)
    np.testing.assert_allclose(memory_rewards[:n], rewards, rtol=1e-6)
    # Flagged as demonstrations (for the margin loss); the run's own transitions are not.
    flags = env.agent.memory.demo.numpy()[: len(env.agent.memory)]
    assert flags[:n].all() and not flags[n:].any()

    # A resumed run brings its memory back from the checkpoint and adds no demonstrations.
    later = make(tmp_path / "run")
    later.resume()
    before = len(later.agent.memory)
    later.train(epsilon=None, episodes=1, log_every=0)
    assert later.prefill_steps == n
    assert len(later.agent.memory) == before + (later.total_steps - env.total_steps)


@pytest.mark.parametrize(
    "changes, needle",
    [
        (dict(demonstrator=HEURISTIC), "demonstrator and demo_episodes go together"),
        (dict(demo_episodes=3), "demonstrator and demo_episodes go together"),
        (
            dict(demonstrator="evil.module:run", demo_episodes=3),
            "a registered name such as 'rocket_heuristic', or '' (got 'evil.module:run')",
        ),
        (dict(demo_episodes=-1), "demo_episodes must be an integer >= 0 (got -1)"),
        (dict(demo_margin=-0.5), "demo_margin must be a number >= 0 (got -0.5)"),
        (dict(demo_margin=float("nan")), "demo_margin must be a number >= 0 (got nan)"),
    ],
)
def test_bad_demonstration_settings_are_named(changes, needle):
    with pytest.raises(ConfigError) as err:
        get_preset("book", **changes)
    assert needle in str(err.value)


def test_a_demonstrator_that_cannot_be_loaded_is_named(monkeypatch):
    monkeypatch.setattr("dqn_tf.demonstrators.DEMONSTRATORS", dict(DEMONSTRATORS))
    with pytest.raises(ConfigError, match=r"'nobody' is not registered; registered: \["):
        load_demonstrator("nobody")
    register_demonstrator("missing", "no_such_module:f")
    with pytest.raises(ConfigError, match="demonstrator 'missing' .* cannot be loaded"):
        load_demonstrator("missing")
    register_demonstrator("constant", "dqn_tf.envs.rocket_heuristic:ROCKET_MASS")
    with pytest.raises(ConfigError, match="is not a function"):
        load_demonstrator("constant")
    with pytest.raises(ConfigError, match="already registered"):
        register_demonstrator("rocket_heuristic", "somewhere:else")
    with pytest.raises(ConfigError, match="must be an identifier"):
        register_demonstrator("a.b", heuristic)
    register_demonstrator("mine", heuristic)  # a function registered by the user's code
    assert load_demonstrator("mine") is heuristic
    assert load_demonstrator(HEURISTIC) is heuristic


def test_a_run_folder_names_its_demonstrator_and_old_paths_still_load():
    # Before the registry a run folder held the import path: it maps to the name.
    old = get_preset("rocket").to_dict() | {
        "demonstrator": "dqn_tf.envs.rocket_heuristic:heuristic"
    }
    assert Config.from_dict(old).demonstrator == "rocket_heuristic"
    # Any other path is refused before anything is imported (a run folder is data).
    with pytest.raises(ConfigError, match="registered name"):
        Config.from_dict(old | {"demonstrator": "os:system"})


def test_an_interrupt_during_the_demonstrations_says_there_is_nothing_to_resume(
    tmp_path, monkeypatch
):
    env = make(tmp_path / "run")

    def interrupted(_observation):
        raise KeyboardInterrupt

    monkeypatch.setattr("dqn_tf.envs.rocket_heuristic.heuristic", interrupted)
    with pytest.raises(KeyboardInterrupt, match="nothing to resume; start the run again"):
        env.train(episodes=1, log_every=0)
    assert not env.checkpoint_path.exists()
