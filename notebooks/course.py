"""The notebooks' own plumbing: timing each part, reading a run's TensorBoard events, the
exercises' verdicts, the diagram of the DQN loop, and the curves and statistics of the
ablation that after_the_book.ipynb reads. Nothing here is DQN; the package (`dqn_tf`) holds
that, and the notebooks show it."""

from __future__ import annotations

import os
import platform
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython import get_ipython
from IPython.display import Markdown, display, update_display


class PartClock:
    """Adds each cell's run time to the part it belongs to (``start``), and keeps a table of
    the parts shown where ``show`` was called, updated as the notebook runs."""

    def __init__(self, display_id: str = "part-times") -> None:
        self.display_id = display_id
        self.seconds: dict[str, float] = {}
        self.current: str | None = None
        self._cell_started: float | None = None
        shell = get_ipython()
        if shell is not None:
            for event in ("pre_run_cell", "post_run_cell"):  # a clock of an earlier run
                for callback in list(shell.events.callbacks[event]):
                    if isinstance(getattr(callback, "__self__", None), PartClock):
                        shell.events.unregister(event, callback)
            shell.events.register("pre_run_cell", self._before)
            shell.events.register("post_run_cell", self._after)

    def _before(self, info: object) -> None:
        self._cell_started = time.perf_counter()

    def _after(self, result: object) -> None:
        if self.current is not None and self._cell_started is not None:
            elapsed = time.perf_counter() - self._cell_started
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + elapsed
        self._cell_started = None

    def start(self, part: str) -> None:
        """The cells from here on belong to ``part``."""
        self.current = part
        self.seconds.setdefault(part, 0.0)

    def table(self, mode: str) -> str:
        rows = [f"| part | seconds ({mode} mode, this run on {machine()}) |", "|---|---:|"]
        rows += [f"| {part} | {s:.1f} |" for part, s in self.seconds.items()]
        total = sum(self.seconds.values())
        rows.append(f"| **all parts** | **{total:.0f}** ({total / 60:.1f} min) |")
        return "\n".join(rows)

    def show(self, mode: str) -> None:
        display(Markdown(self.table(mode)), display_id=self.display_id)

    def update(self, mode: str) -> None:
        update_display(Markdown(self.table(mode)), display_id=self.display_id)


def machine() -> str:
    """The CPU model and core count: times differ about 2x between our machines."""
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    return f"{model or 'an unknown CPU'}, {os.cpu_count()} cores"


def verdict(ok: bool, right: str, not_yet: str) -> None:
    """Print the learner's result: what they got, or what is still missing."""
    print(("✓ " + right) if ok else ("✗ not yet: " + not_yet))


def scalars(run_dir: str | Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of a run's TensorBoard scalar ``name`` (``loss``, ``max_q_value``,
    ``episode/reward``...), whatever name scope a compiled loop put in front of it."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(Path(run_dir, "tensorboard")), size_guidance={"tensors": 0})
    events.Reload()
    tags = [t for t in events.Tags()["tensors"] if t == name or t.endswith("/" + name)]
    if not tags:
        return np.zeros(0, int), np.zeros(0)
    from tensorboard.util.tensor_util import make_ndarray

    points = sorted(
        (event.step, float(make_ndarray(event.tensor_proto)))
        for tag in tags
        for event in events.Tensors(tag)
    )
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def draw_loop() -> plt.Figure:
    """The DQN loop as boxes and arrows: game, agent, replay memory, online and target nets."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.set(xlim=(0, 12.2), ylim=(0, 4.6))
    ax.axis("off")
    boxes = [
        (0.1, 1.9, "game\n(LunarLander)"),
        (3.7, 1.9, "agent\nepsilon-greedy"),
        (7.4, 3.4, "replay memory\n(s, a, r, s', done)"),
        (7.4, 1.9, "online network\nQ(s, ·)"),
        (7.4, 0.4, "target network\nQ_target(s', ·)"),
    ]
    for x, y, text in boxes:
        ax.add_patch(plt.Rectangle((x, y), 2.6, 0.95, fc="#eef3fb", ec="#345", lw=1.2))
        ax.text(x + 1.3, y + 0.47, text, ha="center", va="center", fontsize=10)

    def arrow(x0: float, y0: float, x1: float, y1: float, style: str = "->", **kw: str) -> None:
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": style, "lw": 1.3, **kw})

    def label(x: float, y: float, text: str, **kw: str) -> None:
        ax.text(x, y, text, fontsize=8.5, **kw)

    arrow(2.7, 2.6, 3.7, 2.6)
    label(3.2, 2.95, "state s,\nreward r", ha="center")
    arrow(3.7, 2.15, 2.7, 2.15)
    label(3.2, 1.85, "action a", ha="center")
    arrow(5.0, 2.85, 7.4, 3.85)
    label(5.6, 3.6, "store (s, a, r, s')", ha="center")
    arrow(6.3, 2.37, 7.4, 2.37, "<->")
    label(6.85, 2.6, "s → argmax Q", ha="center")
    arrow(8.7, 3.4, 8.7, 2.85)
    label(8.8, 3.05, "random batch")
    arrow(8.7, 1.35, 8.7, 1.9)
    label(8.6, 1.55, "target r + γ Q_target(s', a*)", ha="right")
    arrow(10.0, 2.3, 10.0, 0.9, connectionstyle="arc3,rad=-0.6", ls="--")
    label(10.7, 1.55, "copy the weights\nevery N steps")
    label(6.1, 0.05, "loss: (target − Q(s, a))²  →  one gradient step on the online network")
    return fig


def binned_by_steps(
    returns: list[float], lengths: list[int], width: int, total: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(bin ends, mean return)`` of a run's training episodes, each episode in the
    ``width``-step bin of the step it ended at, for bins up to ``total`` steps; NaN where no
    episode ended in a bin. Runs of different seeds end their episodes at different steps:
    binned by steps, their curves line up."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    bins = np.minimum((ends - 1) // width, -(-total // width) - 1)
    sums = np.bincount(bins, weights=np.asarray(returns, float), minlength=-(-total // width))
    counts = np.bincount(bins, minlength=len(sums))
    with np.errstate(invalid="ignore"):
        means = sums / counts
    return width * np.arange(1, len(sums) + 1), means


def plot_spread(
    ax: plt.Axes,
    steps: np.ndarray,
    runs: np.ndarray,
    label: str,
    color: str,
    band: str | None = None,
) -> None:
    """One curve per setting: the mean over runs (rows of ``runs``) and, shaded (labelled
    ``band``), the band from their lowest to their highest value at each step."""
    runs = np.asarray(runs, dtype=float)
    ok = ~np.all(np.isnan(runs), axis=0)
    if not ok.any():
        return
    x, runs = np.asarray(steps)[ok], runs[:, ok]
    ax.plot(x, np.nanmean(runs, axis=0), color=color, label=label, linewidth=2)
    low, high = np.nanmin(runs, axis=0), np.nanmax(runs, axis=0)
    ax.fill_between(x, low, high, color=color, alpha=0.2, label=band)


def aligned_evaluations(runs: list[list[list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, means)`` of several runs' periodic evaluations (``[[step, mean], ...]`` each):
    the k-th evaluation of every run in column k, NaN where a run has fewer; ``steps`` holds
    each column's mean step (evaluations wait for an episode's end, so runs differ a little)."""
    count = max((len(run) for run in runs), default=0)
    steps, means = np.full((len(runs), count), np.nan), np.full((len(runs), count), np.nan)
    for row, run in enumerate(runs):
        points = np.asarray(run, dtype=float).reshape(-1, 2)
        steps[row, : len(points)], means[row, : len(points)] = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an all-NaN column
        return np.nanmean(steps, axis=0), means


def welch_t(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's t of two samples: the difference of their means over its standard error; NaN
    where either has fewer than two values (NaN values are left out) or no spread."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if min(len(a), len(b)) < 2:
        return float("nan")
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float((a.mean() - b.mean()) / se) if se > 0 else float("nan")
