"""Demonstrations: a scripted controller's episodes stored in the replay memory before
learning (DQfD), flagged so that the margin loss applies to them. Not in the seeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.presets import load_demonstrator

if TYPE_CHECKING:  # pragma: no cover
    from dqn_tf.environment import Environment


def demonstrate(env: Environment, log: bool) -> None:
    """:func:`store_demonstrations`; Ctrl-C during it says that there is nothing to resume."""
    try:
        store_demonstrations(env, log)
    except KeyboardInterrupt as exc:
        # Nothing is trained yet and a checkpoint of half the demonstrations would resume
        # into another run than the straight one: say so instead.
        raise KeyboardInterrupt(
            "interrupted while storing demonstrations, before any training: there is "
            "nothing to resume; start the run again (without --resume)"
        ) from exc


def store_demonstrations(env: Environment, log: bool) -> None:
    """Store ``demo_episodes`` episodes of the configured demonstrator in ``env``'s memory.

    Only into an empty memory, so a resumed run (whose memory comes back from its
    checkpoint) does not add them twice. The episodes are played in Python, one decision at
    a time through the same (action-repeating) game as training; their game steps count as
    pre-fill steps, not training steps.
    """
    config = env.config
    policy = load_demonstrator(config.demonstrator)
    decisions = landings = 0
    for episode in range(config.demo_episodes):
        s, _ = env.env.reset(seed=env._take_reset_seed())
        steps = 0
        info: dict[str, Any] = {}
        done = False
        episode_transitions: list[tuple[Any, ...]] = []
        while not done and steps < config.max_episode_steps:
            a = int(policy(s))
            s_, r, terminated, truncated, info = env.env.step(a)
            episode_transitions.append((s, a, r, s_, terminated))
            steps += info.get("game_steps", 1)
            s, done = s_, terminated or truncated
        columns = zip(*episode_transitions, strict=True)
        env.agent.memory.add_memories(*(np.array(column) for column in columns), demo=True)
        decisions += len(episode_transitions)
        env.prefill_steps += steps
        landings += bool(info.get("landed"))
        if log and ((episode + 1) % 100 == 0 or episode + 1 == config.demo_episodes):
            print(
                f"demonstrations: {episode + 1}/{config.demo_episodes} episodes of "
                f"{config.demonstrator}, {decisions} transitions stored, {landings} landings",
                flush=True,
            )
