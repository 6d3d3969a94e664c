"""Show episodes in a notebook: record frames, encode them as inline GIFs or animated HTML.

Named ``display`` rather than ``replay`` because "replay" already means experience replay in
this project (``Agent.replay``).

This module is deliberately light: numpy, Pillow, imageio, matplotlib and IPython only, no
TensorFlow, so a notebook (or a test) can show an episode without paying for a TF import.

Typical use in a notebook cell::

    env = gymnasium.make("LunarLander-v3", render_mode="rgb_array")
    episode = record_episode(env, agent.act, seed=0)
    show_gif(episode.frames)              # last expression of the cell: an inline GIF
    display_frames_as_gif(episode.frames, every=2, scale=0.5)   # seed 000's player, with controls
    plot_learning_curve(lunar_lander.episode_rewards)   # rewards and their 100-episode average
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.files import atomic_path

if TYPE_CHECKING:  # IPython is imported lazily, only by the functions that return its objects
    from IPython.display import HTML, Image
    from matplotlib.axes import Axes

__all__ = [
    "Episode",
    "display_frames_as_gif",
    "frames_to_gif",
    "plot_learning_curve",
    "record_episode",
    "show_gif",
]

Frames = Sequence[np.ndarray] | np.ndarray


@dataclass
class Episode:
    """One recorded episode.

    Attributes:
        frames: RGB frames (``uint8``, height x width x 3) from ``env.render()``, each taken right
            after an ``env.step``; subsampled by ``record_episode(every=...)``, the last step's
            frame always kept.
        total_reward: sum of the rewards of every step (not only of the kept frames).
        steps: number of ``env.step`` calls made.
        terminated: the environment ended the episode (landing, crash, ...).
        truncated: the episode was cut by the environment's time limit or by ``max_steps``.
        landed: ``info["landed"]`` of the last step when the environment reports it (the
            RocketLander port does), else ``None``.
    """

    frames: list[np.ndarray]
    total_reward: float
    steps: int
    terminated: bool
    truncated: bool
    landed: bool | None = None


def record_episode(
    env: Any,
    policy: Callable[[np.ndarray], Any],
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    every: int = 1,
) -> Episode:
    """Run one episode with ``policy`` and capture its rendered frames.

    Args:
        env: a gymnasium environment created with ``render_mode="rgb_array"``. It is reset here
            and left open; the caller owns (and closes) it.
        policy: called as ``policy(obs)`` once per step; returns the action (an ``int`` for a
            discrete action space, an array for a continuous one).
        seed: passed to ``env.reset(seed=seed)``; ``None`` (default) does not reseed.
        max_steps: stop after this many steps (counted as truncation); ``None`` (default) runs
            until the environment terminates or truncates the episode itself.
        every: keep every ``every``-th frame (default 1: all of them). The first and the last
            step's frames are always kept. Frames that are not kept are not rendered at all,
            which also saves the (software) rendering time.

    Returns:
        An :class:`Episode`. With ``every=1`` it holds exactly ``steps`` frames.

    Raises:
        ValueError: the environment does not render ``rgb_array`` frames, or ``every`` /
            ``max_steps`` is below 1.
    """
    render_mode = getattr(env, "render_mode", None)
    if render_mode != "rgb_array":
        raise ValueError(
            f"record_episode needs an environment created with render_mode='rgb_array', "
            f"this one has render_mode={render_mode!r}; create it with "
            f"gymnasium.make(..., render_mode='rgb_array')"
        )
    _check_every(every)
    if max_steps is not None and max_steps < 1:
        raise ValueError(
            f"max_steps={max_steps!r} is not allowed: max_steps must be None or an integer >= 1"
        )

    obs, info = env.reset(seed=seed)
    frames: list[np.ndarray] = []
    total_reward = 0.0
    steps = 0
    terminated = truncated = False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        steps += 1
        total_reward += float(reward)
        if max_steps is not None and steps >= max_steps:
            truncated = True
        # Frames are taken after the step so that the last one shows how the episode ended
        # (the landing or the crash), which is the frame worth looking at.
        if (steps - 1) % every == 0 or terminated or truncated:
            frames.append(np.asarray(env.render()))

    landed = info.get("landed") if isinstance(info, dict) else None
    return Episode(
        frames=frames,
        total_reward=total_reward,
        steps=steps,
        terminated=bool(terminated),
        truncated=bool(truncated),
        landed=None if landed is None else bool(landed),
    )


def _check_frames(frames: Frames) -> list[np.ndarray]:
    """Return ``frames`` as a list of uint8 H x W x 3|4 arrays, or raise ValueError."""
    if frames is None or len(frames) == 0:
        raise ValueError("frames is empty: at least one frame (an H x W x 3 array) is needed")
    out = []
    for i, frame in enumerate(frames):
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ValueError(
                f"frames[{i}] has shape {arr.shape}: each frame must be height x width x 3 (RGB) "
                f"or x 4 (RGBA)"
            )
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        out.append(arr)
    return out


def _check_every(every: int) -> None:
    if not isinstance(every, int | np.integer) or every < 1:
        raise ValueError(f"every={every!r} is not allowed: every must be an integer >= 1")


def _check_scale(scale: float) -> None:
    if not 0 < scale <= 1:
        raise ValueError(f"scale={scale!r} is not allowed: scale must be in (0, 1]")


def _subsample_and_scale(frames: list[np.ndarray], every: int, scale: float) -> list[np.ndarray]:
    # Subsampling and downscaling are what keep a notebook small: a 1,000-step LunarLander
    # episode at full size is 1,000 x 600 x 400 x 3 bytes = 720 MB of raw pixels, and every
    # byte of the GIF or HTML is stored base64-encoded in the .ipynb.
    kept = frames[::every]
    if scale == 1:
        return kept
    from PIL import Image

    height, width = kept[0].shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # BOX averages the pixels each output pixel covers: the right filter for shrinking, and it
    # keeps the lander's thin legs and flags visible where nearest-neighbour could drop them.
    return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BOX)) for f in kept]


def frames_to_gif(
    frames: Frames,
    path: str | os.PathLike[str] | None = None,
    *,
    scale: float = 0.5,
    every: int = 2,
    fps: float = 30,
) -> bytes:
    """Encode frames as an animated, endlessly looping GIF.

    Args:
        frames: a non-empty sequence of ``uint8`` H x W x 3 (or x 4) arrays, or one
            N x H x W x 3 array.
        path: when given, the GIF is also written there, atomically (a temporary file in the same
            folder, then ``os.replace``), so a reader never sees half a file. Missing parent
            folders are created. Default ``None``: nothing is written.
        scale: size factor in (0, 1] applied to width and height (default 0.5: 600 x 400
            LunarLander frames become 300 x 200). Each side is rounded to the nearest pixel.
        every: keep frames ``0, every, 2 * every, ...`` (default 2), i.e. ``ceil(n / every)``
            frames.
        fps: playback rate of the GIF in frames per second (default 30). GIFs store delays in
            hundredths of a second, so the delay is rounded down to a multiple of 10 ms, and
            browsers slow delays under 20 ms (fps above 50) down to 100 ms.

    Returns:
        The GIF file's bytes (they start with ``b"GIF89a"``).

    Note:
        Pillow merges identical consecutive frames into one frame with a longer delay, so the
        decoded GIF can hold fewer frames than ``ceil(n / every)`` while playing just as long.

    Raises:
        ValueError: empty ``frames``, a frame that is not H x W x 3|4, ``scale`` not in (0, 1],
            ``every`` < 1 or ``fps`` <= 0; the message names the field, its value and what is
            allowed.
    """
    _check_scale(scale)
    _check_every(every)
    if not fps > 0:
        raise ValueError(f"fps={fps!r} is not allowed: fps must be a number > 0")
    kept = _subsample_and_scale(_check_frames(frames), every, scale)

    import imageio.v3 as iio

    # imageio 2.38's pillow plugin hands `duration` to Pillow's GIF writer, which takes
    # milliseconds per frame; loop=0 means loop forever.
    data = iio.imwrite(
        "<bytes>",
        kept,
        extension=".gif",
        plugin="pillow",
        duration=round(1000 / fps),
        loop=0,
    )
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return data


def show_gif(
    frames_or_path_or_bytes: Frames | str | os.PathLike[str] | bytes | Episode, **kw: Any
) -> Image:
    """Return an inline GIF for a notebook: make it the last expression of a cell.

    Args:
        frames_or_path_or_bytes: frames (encoded with :func:`frames_to_gif`), an
            :class:`Episode` (its frames), the path of a GIF file, or GIF bytes.
        **kw: passed to :func:`frames_to_gif` (``path``, ``scale``, ``every``, ``fps``); only
            allowed with frames or an Episode.

    Returns:
        ``IPython.display.Image(data=..., format="gif")``.

    Raises:
        ValueError: bytes that are not a GIF, or keyword arguments given with a path or bytes
            (they would be ignored silently otherwise).
    """
    from IPython.display import Image

    source = frames_or_path_or_bytes
    if isinstance(source, Episode):
        source = source.frames
    if isinstance(source, bytes | bytearray | str | os.PathLike):
        if kw:
            raise ValueError(
                f"show_gif got keyword arguments {sorted(kw)} with an encoded GIF; they apply "
                f"only when frames are given"
            )
        data = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
        if not data.startswith(b"GIF8"):
            raise ValueError(
                f"show_gif got data starting with {data[:6]!r}: a GIF must start with b'GIF8'"
            )
    else:
        data = frames_to_gif(source, **kw)
    return Image(data=data, format="gif")


def display_frames_as_gif(
    frames: Frames,
    interval: int = 50,
    *,
    every: int = 1,
    scale: float = 1.0,
    display: bool = False,
) -> HTML:
    """Seed 000's ``display_frames_as_gif``: the frames as an animation with play controls.

    The seed drew the frames with matplotlib's ``FuncAnimation`` and showed them with
    ``JSAnimation``'s ``display_animation(anim, default_mode='loop')``. JSAnimation is
    unmaintained and no longer installs; matplotlib has since absorbed it as
    ``Animation.to_jshtml``, which produces the same looping HTML/JavaScript player, so that is
    used here with the same ``default_mode="loop"``.

    Args:
        frames: a non-empty sequence of ``uint8`` H x W x 3 arrays (or one N x H x W x 3 array).
        interval: delay between frames in milliseconds (default 50, as in the seed).
        every: keep every ``every``-th frame (default 1: all, as in the seed).
        scale: size factor in (0, 1] (default 1.0: full size, as in the seed). Each frame is
            embedded as a base64 PNG, and matplotlib stops embedding frames past
            ``rcParams["animation.embed_limit"]`` (20 MB), so long episodes need ``every`` > 1
            or ``scale`` < 1.
        display: also call ``IPython.display.display`` on the result, as the seed did (default
            ``False``: only return it, so it shows when it is the cell's last expression and is
            not shown twice).

    Returns:
        ``IPython.display.HTML`` holding the player.

    Raises:
        ValueError: empty ``frames``, ``every`` < 1 or ``scale`` not in (0, 1].
    """
    import matplotlib.pyplot as plt
    from IPython import display as ipy_display
    from matplotlib import animation

    _check_scale(scale)
    _check_every(every)
    kept = _subsample_and_scale(_check_frames(frames), every, scale)

    # Size the figure to the frames at 72 dpi (the seed's commented-out line) so that each frame
    # is shown at its own pixel size instead of matplotlib's default 6.4 x 4.8 inch canvas.
    height, width = kept[0].shape[:2]
    fig = plt.figure(figsize=(width / 72.0, height / 72.0), dpi=72)
    try:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        patch = ax.imshow(kept[0])
        ax.axis("off")

        def animate(i: int):
            patch.set_data(kept[i])
            return (patch,)

        anim = animation.FuncAnimation(fig, animate, frames=len(kept), interval=interval)
        html = ipy_display.HTML(anim.to_jshtml(default_mode="loop"))
    finally:
        # Closed so that the inline backend does not also draw the figure as a static image
        # under the player.
        plt.close(fig)
    if display:
        ipy_display.display(html)
    return html


def plot_learning_curve(
    rewards: Sequence[float] | np.ndarray,
    ax: Axes | None = None,
    window: int = 100,
    title: str | None = None,
) -> Axes:
    """Plot each episode's reward and its running average over the last ``window`` episodes.

    The average at episode ``i`` is the mean of episodes ``max(0, i - window + 1) .. i``, the
    book's ``avg_score`` (a ``deque(maxlen=100)`` of the returns): over the first ``window - 1``
    episodes it averages the episodes played so far.

    Args:
        rewards: the return of every episode, in order (e.g. ``Environment.episode_rewards``).
        ax: matplotlib Axes to draw on; default ``None`` makes a new figure (8 x 4 inches).
        window: number of episodes in the running average (default 100, as in the book).
        title: the Axes' title; default ``None`` sets none.

    Returns:
        The Axes drawn on, holding two lines: the rewards (labelled ``"episode reward"``) and
        their running average (``"average of last <window>"``).

    Raises:
        ValueError: empty ``rewards``, a reward that is not a finite number, or ``window`` < 1.
    """
    if not isinstance(window, int | np.integer) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window={window!r} is not allowed: window must be an integer >= 1")
    values = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("rewards is empty: at least one episode reward is needed")
    if not np.all(np.isfinite(values)):
        raise ValueError("rewards must be finite numbers (got NaN or infinity)")

    # Trailing mean from cumulative sums: O(n), and exact counts for the first episodes.
    sums = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    average = (sums[ends] - sums[starts]) / (ends - starts)

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    episodes = np.arange(values.size)
    ax.plot(episodes, values, color="tab:blue", alpha=0.35, linewidth=1, label="episode reward")
    ax.plot(episodes, average, color="tab:orange", linewidth=2, label=f"average of last {window}")
    ax.set_xlabel("episode")
    ax.set_ylabel("reward")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    return ax
