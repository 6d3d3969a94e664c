"""Saving and continuing a run: exactly from its checkpoint, or (the book's ``incremental``)
from its weights alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from dqn_tf import run_folder
from dqn_tf.checkpoint import restore_checkpoint
from dqn_tf.files import save_together

if TYPE_CHECKING:  # pragma: no cover
    from dqn_tf.environment import Environment


def save_run(env: Environment) -> None:
    """The checkpoint (the truth), the history and the weights, saved together."""
    with save_together(f"the run at episode {len(env.episode_rewards)}"):
        env.save_checkpoint()
        run_folder.write_history(env)
        env.agent.save_weights(env.weights_path)
    if env.summary_writer is not None:
        env.summary_writer.flush()


def restore(env: Environment, path: str | os.PathLike | None = None) -> Path:
    """Restore ``env`` from its checkpoint and say what came back."""
    restored = restore_checkpoint(env, path)
    print(
        f"Resumed from {restored}: {len(env.episode_rewards)} episodes, "
        f"{env.total_steps} steps, {len(env.agent.memory)} transitions in memory",
        flush=True,
    )
    return restored


def left_to_play(env: Environment, episodes: int | None, steps: int | None) -> int:
    """What remains of a run's total ``episodes`` (or else ``steps``) after ``env``'s play."""
    if episodes is not None:
        return episodes - len(env.episode_rewards)
    return steps - env.total_steps


def load_for_incremental(env: Environment) -> None:
    """Before the book's ``incremental``: the folder's checkpoint, else its weights alone (the
    book's cold restart), once its saved configuration agrees with ``env``'s."""
    if env.total_steps > 0:
        return  # this object has trained: its memory and weights are current
    if (env.run_dir / run_folder.CONFIG_FILE).is_file():
        saved, _ = run_folder.read_config(env.run_dir)
        how = "incremental continues the run with its saved configuration"
        how += " (Environment.from_run_folder builds one with it)"
        run_folder.check_same_settings(env.run_dir, saved, env.config.to_dict(), how=how)
    if env.checkpoint_path.is_file():
        env.resume()
    elif env.weights_path.is_file():
        env.agent.load_weights(env.weights_path)
        # Trained weights: a step counter at 0 would restart the linear exploration phase at
        # epsilon_start, overriding the book's low incremental epsilon.
        env.agent.steps.assign(max(env.config.epsilon_linear_steps, 0))
        cold = "weights only, the memory starts empty (the book's cold restart)"
        print(f"No checkpoint in {env.run_dir}: {cold}", flush=True)
    else:
        print(f"No checkpoint or weights in {env.run_dir}: training from scratch")
