"""Progress bars (tqdm) for long work: training, evaluation, a replay, a sweep.

A bar shows where a person watches, a terminal or a notebook, never in a pipe, a log or CI,
so that saved output holds only the lines. ``--no-progress`` turns it off anywhere,
``DQN_TF_PROGRESS=0`` for a process tree (``make notebooks``: no widgets in committed outputs).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def enabled(wanted: bool | None = None) -> bool:
    """Whether to show a bar: ``wanted`` when given, else as the module's docstring says."""
    if wanted is not None:
        return bool(wanted)
    if os.environ.get("DQN_TF_PROGRESS", "").strip() == "0":
        return False
    return _in_notebook() or sys.stdout.isatty()


def bar(total: float, *, unit: str, desc: str, initial: float = 0, wanted: bool | None = None):
    """A tqdm bar on standard output, ``initial`` of ``total`` units done; None where
    :func:`enabled` shows none."""
    if not enabled(wanted):
        return None
    from tqdm.auto import tqdm

    # A terminal that reports no size (a pseudo-terminal nobody sized) would get no bar.
    try:
        columns, lines = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a notebook's stdout has no terminal
        columns = lines = 0
    sized = columns > 0 and lines > 0
    size = {} if sized or _in_notebook() else {"ncols": 100, "nrows": 24}
    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=desc,
        file=sys.stdout,
        dynamic_ncols=sized,
        **size,
        mininterval=0.5,  # a few redraws a second: cheap, and small where output is saved
        smoothing=0.1,
    )


def say(line: str, progress: Any = None) -> None:
    """Print ``line``; above the bar when one is shown in a terminal."""
    if progress is not None and not _in_notebook():
        progress.write(line, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(line, flush=True)


def episodes_bar(env: Any, episodes: int | None, steps: int | None, trainable: bool, wanted: Any):
    """The bar of one :meth:`~dqn_tf.environment.Environment.learn` call, from what the run
    has done; a replay's bar counts game steps and the loop moves it."""
    if env.runner.capture_frames:
        steps_at_most = env.config.max_episode_steps
        env.runner.progress = bar(steps_at_most, unit="step", desc="replay", wanted=wanted)
        return env.runner.progress
    if not trainable:
        return bar(episodes or 0, unit="episode", desc="test", wanted=wanted)
    if steps is not None:
        done = env.total_steps
        return bar(done + steps, initial=done, unit="step", desc="train", wanted=wanted)
    done = len(env.episode_rewards)
    return bar(done + (episodes or 0), initial=done, unit="episode", desc="train", wanted=wanted)


def advance(progress: Any, env: Any, length: int, returns: list[float] | None, sps: float) -> None:
    """Move the bar past one episode (``returns``: None when the step budget cut it) and show
    the mean return of the last 100 episodes, epsilon while training, and any landings."""
    replay = env.runner.progress is not None
    if progress.unit == "step" and not replay:
        progress.update(length)  # also the steps of an episode cut by the budget
    if returns is None:
        return
    if progress.unit == "episode":
        progress.update(1)
    elif replay:  # the loop moved it with each step; the episode may end before the limit
        progress.total = progress.n
    training = progress.desc == "train"
    recent = returns[-1:] if replay else (env.reward_avg if training else returns[-100:])
    shown = {"return" if replay else "avg100": f"{np.mean(recent):.1f}"}
    from dqn_tf.evaluation import count_landings  # here: the bar itself needs no TensorFlow

    landings = count_landings(env.landings)
    if landings is not None:  # the game reports landings (RocketLander)
        shown["landed"] = str(len(env.landed_episodes) if training else landings)
    if training:
        shown["eps"] = f"{env.agent.epsilon:.2f}"
    if progress.unit == "episode":
        shown["steps/s"] = f"{sps:.0f}"
    progress.set_postfix(shown, refresh=False)
