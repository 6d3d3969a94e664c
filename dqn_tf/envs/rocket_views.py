"""RocketLander in a notebook: the rocket in close-up beside the scene, and its landing rate.

The rocket is a 3 x 39 pixel sliver in a 500 x 720 sky, one pixel wide once a frame is shrunk
for a notebook, so each frame is shown twice by :func:`close_up`; :func:`plot_landings` shows
how often training landed, the measure the game is judged by. Typical use::

    episode = record_episode(env, policy, every=4,
                             focus=lambda env: env.unwrapped.rocket_pixel_position())
    show_gif(close_up(episode), scale=1.0, every=1, fps=15)
    plot_landings(history["landed_episodes"], len(history["episode_rewards"]),
                  history["evaluations"], eval_episodes=10)

Not imported by :mod:`dqn_tf.envs`: playing the game needs none of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from dqn_tf.display import (
    Episode,
    Frames,
    check_frames,
    check_point,
    is_int,
    new_axes,
    require,
    trailing_mean,
)
from dqn_tf.errors import check_count

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["close_up", "plot_landings"]

# The separator between the panels, and the outline of the magnified region on the scene.
# Orange stands out from RocketLander's blue sky and sea, grey ship, white rocket and yellow
# flame, and from LunarLander's black sky and white ground.
_SEPARATOR_WIDTH = 2
_SEPARATOR_COLOR = (32, 32, 32)
_OUTLINE_COLOR = (255, 128, 0)


def close_up(
    frames: Frames | Episode,
    points: Sequence[Sequence[float]] | np.ndarray | None = None,
    *,
    size: tuple[int, int] = (72, 96),
    zoom: float = 3,
    context_scale: float | None = None,
    outline: bool = True,
) -> list[np.ndarray]:
    """Compose each frame as the whole scene, shrunk, beside a magnified crop that follows a point.

    The left panel shows where the subject is, the right one what it does (the rocket's
    attitude, flame, gimbal and legs), a thin dark line between them; the shorter panel is
    padded below. ``frames`` (``uint8`` H x W x 3|4, of one size) come with ``points``, one
    ``(x, y)`` pixel per frame (x right, y down), or as an :class:`~dqn_tf.display.Episode`
    recorded with ``focus``. The crop, ``size`` = (width, height) pixels, is centred on the
    point except near an edge, where it stops; ``zoom`` (>= 1) magnifies it nearest-neighbour,
    so that pixels stay sharp squares. The scene is scaled by ``context_scale`` in (0, 1]
    (default: as tall as the magnified crop), the crop's outline drawn on it in orange
    (``outline``). With the defaults a 500 x 720 RocketLander frame becomes 418 x 288 pixels: the
    scene at 0.4 and a 72 x 96 crop at 3x. A ValueError names what is missing or out of range.
    """
    from PIL import Image

    if isinstance(frames, Episode):
        given = "an Episode without focus points (Episode.focus is empty)"
        rule = "record it with record_episode(..., focus=...) or pass points"
        require(points is not None or bool(frames.focus), given, rule)
        frames, points = frames.frames, frames.focus if points is None else points
    checked = check_frames(frames)
    rule = "close_up needs points with plain frames: one (x, y) per frame, or an Episode with focus"
    require(points is not None, "frames without points", rule)
    points = list(points)
    given = f"{len(points)} points for {len(checked)} frames"
    require(len(points) == len(checked), given, "close_up needs one (x, y) per frame")
    centres = [check_point(point, f"points[{i}] is") for i, point in enumerate(points)]
    for i, (x, y) in enumerate(centres):
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"points[{i}] is {(x, y)!r}: each point must be finite numbers")
    frame_h, frame_w, channels = checked[0].shape
    for i, frame in enumerate(checked):
        if frame.shape != checked[0].shape:
            raise ValueError(
                f"frames[{i}] has shape {frame.shape} but frames[0] has {checked[0].shape}: "
                f"close_up needs frames of one size"
            )
    require(
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(map(is_int, size))
        and 1 <= size[0] <= frame_w
        and 1 <= size[1] <= frame_h,
        f"size={size!r}",
        f"size must be (width, height), two integers >= 1 and at most the frame's "
        f"{frame_w} x {frame_h}",
    )
    number = isinstance(zoom, int | float | np.integer | np.floating)
    require(number and 1 <= zoom < math.inf, f"zoom={zoom!r}", "zoom must be a number >= 1")
    require(
        context_scale is None or 0 < context_scale <= 1,
        f"context_scale={context_scale!r}",
        "context_scale must be None or in (0, 1]",
    )

    crop_w, crop_h = int(size[0]), int(size[1])
    zoomed = (round(crop_w * zoom), round(crop_h * zoom))
    if context_scale is None:
        context_scale = min(1.0, zoomed[1] / frame_h)
    context = (max(1, round(frame_w * context_scale)), max(1, round(frame_h * context_scale)))
    out_shape = (max(context[1], zoomed[1]), context[0] + _SEPARATOR_WIDTH + zoomed[0], channels)
    background = np.array((*_SEPARATOR_COLOR, 255)[:channels], np.uint8)
    orange = np.array((*_OUTLINE_COLOR, 255)[:channels], np.uint8)
    # Where the crop's rectangle falls on the shrunk scene: one scale for both axes, which
    # holds to within the rounding of the panel's sides.
    sx, sy = context[0] / frame_w, context[1] / frame_h
    composed = []
    for frame, (x, y) in zip(checked, centres, strict=True):
        # Pixel i spans [i, i + 1), so the crop [left, left + crop_w) is centred on x when
        # left = x - crop_w / 2, rounded half up (Python's round rounds half to even, which
        # would make the crop's offset depend on the parity of x); then clamped so that the
        # crop stays inside the frame.
        left = min(max(math.floor(x - crop_w / 2 + 0.5), 0), frame_w - crop_w)
        top = min(max(math.floor(y - crop_h / 2 + 0.5), 0), frame_h - crop_h)
        crop = Image.fromarray(frame[top : top + crop_h, left : left + crop_w])
        # BOX averages the pixels each output pixel covers, the right filter for shrinking.
        scene = np.array(Image.fromarray(frame).resize(context, Image.Resampling.BOX))
        if outline:
            x0 = min(int(left * sx), context[0] - 1)
            y0 = min(int(top * sy), context[1] - 1)
            x1 = min(max(x0, math.ceil((left + crop_w) * sx) - 1), context[0] - 1)
            y1 = min(max(y0, math.ceil((top + crop_h) * sy) - 1), context[1] - 1)
            scene[[y0, y1], x0 : x1 + 1] = orange
            scene[y0 : y1 + 1, [x0, x1]] = orange
        out = np.empty(out_shape, np.uint8)
        out[...] = background
        out[: context[1], : context[0]] = scene
        out[: zoomed[1], context[0] + _SEPARATOR_WIDTH :] = np.asarray(
            crop.resize(zoomed, Image.Resampling.NEAREST)
        )
        composed.append(out)
    return composed


def plot_landings(
    landed_episodes: Sequence[int] | np.ndarray,
    n_episodes: int,
    evaluations: Sequence[Sequence[float]] | None = None,
    eval_episodes: int | None = None,
    window: int = 100,
    ax: Axes | None = None,
    title: str | None = None,
    episode_lengths: Sequence[int] | np.ndarray | None = None,
) -> Axes:
    """Plot how often training landed, and the periodic evaluations' landings; return ``ax``.

    On ``ax`` (default: a new figure's), the share in percent of the last ``window`` training
    episodes that landed (``"training, last <window> episodes"``): at episode ``i`` of episodes
    ``max(0, i - window + 1) .. i``, as :func:`~dqn_tf.display.plot_learning_curve` averages.
    ``landed_episodes`` (increasing 0-based indices) and ``n_episodes`` are history.json's
    ``"landed_episodes"`` and ``len(episode_rewards)``. The ``evaluations`` (its rows ``[steps,
    mean_return, landings]``, of ``eval_episodes`` episodes each) are markers (``"greedy
    evaluation, <eval_episodes> episodes each"``): with ``episode_lengths`` on ``ax``, at the
    training episode during which the run reached the evaluation's step count; without, on a
    twin Axes (``ax.twiny()``) in environment steps, which also holds the legend of both, since
    it is drawn over ``ax``. A ValueError names an argument out of range or inconsistent.
    """
    check_count("window", window)
    require(
        is_int(n_episodes) and n_episodes >= 1,
        f"n_episodes={n_episodes!r}",
        "n_episodes must be an integer >= 1 (no episode played, nothing to plot)",
    )
    landed, previous = np.zeros(int(n_episodes)), -1
    for k, index in enumerate(landed_episodes):
        given = f"landed_episodes[{k}]={index!r}"
        require(is_int(index), given, "episode indices are integers")
        require(
            previous < index < n_episodes,
            given,
            f"indices must be increasing and in [0, n_episodes={n_episodes}), the previous one "
            f"being {previous}",
        )
        landed[index], previous = 1.0, int(index)
    rows = [] if evaluations is None else list(evaluations)
    require(
        evaluations is None or (is_int(eval_episodes) and eval_episodes >= 1),
        f"eval_episodes={eval_episodes!r}",
        "with evaluations, eval_episodes (episodes per evaluation) must be an integer >= 1",
    )
    table = np.zeros((len(rows), 3))
    for k, row in enumerate(rows):
        values = np.asarray(row, dtype=np.float64).reshape(-1)
        require(
            values.size == 3 and np.all(np.isfinite(values)) and 0 <= values[2] <= eval_episodes,
            f"evaluations[{k}]={row!r}",
            f"each evaluation must be [steps, mean_return, landings], three finite numbers with "
            f"landings in [0, eval_episodes={eval_episodes}] (a game that does not report "
            f"landings records [steps, mean_return] only)",
        )
        table[k] = values
    lengths = None
    if episode_lengths is not None:
        lengths = np.asarray(episode_lengths)
        require(
            lengths.shape == (n_episodes,)
            and np.issubdtype(lengths.dtype, np.integer)
            and bool((lengths >= 1).all()),
            f"episode_lengths of shape {lengths.shape} and dtype {lengths.dtype}",
            f"give one length per episode, n_episodes={n_episodes} integers >= 1",
        )

    ax = new_axes() if ax is None else ax
    rate = 100.0 * trailing_mean(landed, window)
    handles = ax.plot(
        np.arange(landed.size),
        rate,
        color="tab:green",
        linewidth=2,
        label=f"training, last {window} episodes",
    )
    ax.set(xlabel="training episode", ylabel="landed (%)")
    # Landings are rare on RocketLander (a few %): a fixed 0-100 % axis would flatten the curve
    # into the frame, so the top follows the highest rate shown, with room for the legend, and
    # a small margin below 0 keeps a rate of 0 % off the frame.
    evaluated = 100.0 * table[:, 2] / eval_episodes if rows else table[:, 2]
    top = min(103.0, max(10.0, 1.4 * max(rate.max(), evaluated.max(initial=0.0))))
    ax.set_ylim(-0.03 * top, top)
    ax.grid(True, alpha=0.3)
    if title is not None:
        ax.set_title(title)
    legend_ax = marker_ax = ax
    if rows and lengths is not None:
        # The episode during which the step count reached the evaluation's (evaluations
        # happen between episodes, so after it); past the last one, at the last one.
        where = np.minimum(np.searchsorted(np.cumsum(lengths), table[:, 0]), n_episodes - 1)
    elif rows:
        from matplotlib.ticker import EngFormatter

        where, marker_ax = table[:, 0], ax.twiny()
        marker_ax.set_xlabel("environment steps (greedy evaluations)", color="tab:purple")
        marker_ax.tick_params(axis="x", colors="tab:purple")
        # "200 k", "1 M" rather than a "1e6" offset above the axis, where the title is.
        marker_ax.xaxis.set_major_formatter(EngFormatter())
        legend_ax = marker_ax
    if rows:
        handles += marker_ax.plot(
            where,
            evaluated,
            color="tab:purple",
            linestyle="none",
            marker="o",
            markersize=5,
            label=f"greedy evaluation, {eval_episodes} episodes each",
        )
        if lengths is None:  # after plotting: a fixed left end stops autoscaling the right one
            marker_ax.set_xlim(left=0)
    legend_ax.legend(handles=handles, loc="upper left")
    return ax
