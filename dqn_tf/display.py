"""Show what a run did in a notebook: its episodes as inline GIFs and its learning curve.

Named ``display`` because "replay" already means experience replay (``Agent.replay``). It
imports no TensorFlow, so showing an episode costs no TF start-up. Typical use::

    env = gymnasium.make("LunarLander-v3", render_mode="rgb_array")
    episode = record_episode(env, agent.act, seed=0)
    show_gif(episode.frames)              # last expression of the cell: an inline GIF
    plot_learning_curve(lunar_lander.episode_rewards)   # rewards and their 100-episode average
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.errors import check_count
from dqn_tf.files import atomic_path

if TYPE_CHECKING:  # matplotlib is imported lazily, only by the functions that draw
    from matplotlib.axes import Axes

__all__ = ["GIF", "Episode", "frames_to_gif", "plot_learning_curve", "record_episode", "show_gif"]

Frames = Sequence[np.ndarray] | np.ndarray


@dataclass
class Episode:
    """One episode of :func:`record_episode`."""

    frames: list[np.ndarray]  # the kept frames, uint8 H x W x 3, each rendered after a step
    total_reward: float  # the sum of every step's reward
    steps: int
    terminated: bool
    truncated: bool  # also when max_steps cut the episode
    landed: bool | None = None  # the last step's info["landed"] (RocketLander), else None
    focus: list[tuple[float, float]] = field(default_factory=list)  # (x, y) per frame of focus=


def record_episode(
    env: Any,
    policy: Callable[[np.ndarray], Any],
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    every: int = 1,
    focus: Callable[[Any], tuple[float, float]] | None = None,
) -> Episode:
    """Play one episode of ``policy(obs) -> action``, rendering only every ``every``-th step.

    ``env`` is reset with ``seed`` and left open; the first and last frames are always kept.
    ``max_steps`` cuts the episode (a truncation). ``focus(env)``, called after each kept frame,
    gives the ``(x, y)`` pixel a close-up follows (``env.unwrapped.rocket_pixel_position()``)."""
    render_mode = getattr(env, "render_mode", None)
    rule = "record_episode needs gymnasium.make(..., render_mode='rgb_array')"
    require(render_mode == "rgb_array", f"an environment with render_mode={render_mode!r}", rule)
    check_count("every", every)
    rule = "max_steps must be None or an integer >= 1"
    require(max_steps is None or max_steps >= 1, f"max_steps={max_steps!r}", rule)
    obs, info = env.reset(seed=seed)
    frames: list[np.ndarray] = []
    points: list[tuple[float, float]] = []
    total_reward, steps, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        steps += 1
        total_reward += float(reward)
        truncated = truncated or (max_steps is not None and steps >= max_steps)
        # Frames are taken after the step so that the last one shows how the episode ended
        # (the landing or the crash), which is the frame worth looking at.
        if (steps - 1) % every == 0 or terminated or truncated:
            frames.append(np.asarray(env.render()))
            if focus is not None:
                points.append(check_point(focus(env), f"focus(env) returned at step {steps}"))
    landed = info.get("landed") if isinstance(info, dict) else None
    landed = None if landed is None else bool(landed)
    return Episode(frames, total_reward, steps, bool(terminated), bool(truncated), landed, points)


def require(ok: bool, given: str, rule: str) -> None:
    """Every argument check's one-line error: what was given, then the rule it breaks."""
    if not ok:
        raise ValueError(f"{given} is not allowed: {rule}")


def is_int(value: Any) -> bool:
    """An integer, numpy's included; not a bool, which Python counts as one."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_point(point: Any, what: str) -> tuple[float, float]:
    """Return ``point`` as a pair of floats, or raise ValueError naming ``what`` produced it."""
    try:
        x, y = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} {point!r}: a point must be two numbers (x, y) in pixels"
        ) from None
    return (x, y)


def check_frames(frames: Frames) -> list[np.ndarray]:
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
        out.append(arr if arr.dtype == np.uint8 else np.clip(arr, 0, 255).astype(np.uint8))
    return out


def subsample_and_scale(frames: Frames, every: int, scale: float) -> list[np.ndarray]:
    """Every ``every``-th of the checked ``frames``, each side scaled by ``scale``."""
    require(0 < scale <= 1, f"scale={scale!r}", "scale must be in (0, 1]")
    check_count("every", every)
    # Subsampling and downscaling keep a notebook small: a 1,000-step LunarLander episode is
    # 720 MB of raw pixels, and a GIF or a player is stored base64-encoded in the .ipynb.
    kept = check_frames(frames)[::every]
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
    """Encode every ``every``-th frame, each side scaled by ``scale``, as a looping GIF's bytes,
    also written (atomically) to ``path`` if given. Browsers show an ``fps`` above 50 at 10."""
    require(fps > 0, f"fps={fps!r}", "fps must be a number > 0")
    kept = subsample_and_scale(frames, every, scale)
    import imageio.v3 as iio

    # duration: milliseconds per frame; loop=0: loop forever.
    data = iio.imwrite(
        "<bytes>", kept, extension=".gif", plugin="pillow", duration=round(1000 / fps), loop=0
    )
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return data


class GIF:
    """A GIF's bytes, shown inline in every notebook front end as an ``<img>`` with a ``data:``
    URI: nbconvert's HTML and the classic Notebook do not render ``image/gif``, which would also
    store the GIF twice in the ``.ipynb``; JupyterLab's sanitizer keeps ``data:`` images."""

    def __init__(self, data: bytes, alt: str | None = None) -> None:
        data = bytes(data)
        ok = data.startswith(b"GIF8") and len(data) >= 10
        require(ok, f"GIF data starting with {data[:6]!r}", "a GIF must start with b'GIF8'")
        from PIL import Image

        self.data = data
        # The logical screen size: two little-endian 16-bit integers after the 6-byte signature.
        self.width = int.from_bytes(data[6:8], "little")
        self.height = int.from_bytes(data[8:10], "little")
        with Image.open(io.BytesIO(data)) as im:
            self.n_frames = int(getattr(im, "n_frames", 1))
        self.alt = alt if alt is not None else f"animation, {self._description()}"

    def _description(self) -> str:
        frames = "1 frame" if self.n_frames == 1 else f"{self.n_frames} frames"
        return f"{frames}, {self.width}x{self.height}, {len(self.data):,} bytes"

    def __repr__(self) -> str:
        return f"<GIF: {self._description()}>"

    def _repr_html_(self) -> str:
        encoded = base64.b64encode(self.data).decode("ascii")
        return (
            f'<img src="data:image/gif;base64,{encoded}" width="{self.width}" '
            f'height="{self.height}" alt="{html.escape(self.alt)}">'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        # Exactly these two: HTML for the front ends, text for consoles and for the .ipynb's
        # plain-text fallback (which would otherwise read "<dqn_tf.display.GIF object at ...>").
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}


def show_gif(
    frames_or_path_or_bytes: Frames | str | os.PathLike[str] | bytes | Episode, **kw: Any
) -> GIF:
    """An inline :class:`GIF` to end a notebook cell with; frames and an :class:`Episode` are
    encoded by :func:`frames_to_gif` with ``**kw``."""
    source = frames_or_path_or_bytes
    if isinstance(source, Episode):
        source = source.frames
    if not isinstance(source, bytes | bytearray | str | os.PathLike):
        return GIF(frames_to_gif(source, **kw))
    rule = "keyword arguments apply only to frames, not to an encoded GIF"
    require(not kw, f"show_gif(gif, **{kw!r})", rule)
    return GIF(source if isinstance(source, bytes | bytearray) else Path(source).read_bytes())


def plot_learning_curve(
    rewards: Sequence[float] | np.ndarray,
    ax: Axes | None = None,
    window: int = 100,
    title: str | None = None,
) -> Axes:
    """Plot on ``ax`` (default: a new figure's) each episode's reward and their mean over the
    last ``window`` episodes, as the book's ``avg_score`` (a ``deque(maxlen=100)``)."""
    check_count("window", window)
    values = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("rewards is empty: at least one episode reward is needed")
    if not np.all(np.isfinite(values)):
        raise ValueError("rewards must be finite numbers (got NaN or infinity)")
    ax = new_axes() if ax is None else ax
    episodes = np.arange(values.size)
    ax.plot(episodes, values, color="tab:blue", alpha=0.35, linewidth=1, label="episode reward")
    average = trailing_mean(values, window)
    ax.plot(episodes, average, color="tab:orange", linewidth=2, label=f"average of last {window}")
    ax.set(xlabel="episode", ylabel="reward", **({} if title is None else {"title": title}))
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    return ax


def new_axes() -> Axes:
    """A new figure's Axes, 8 x 4 inches: the size of every training plot here."""
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 4))[1]


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``values[max(0, i - window + 1) : i + 1]`` for each ``i``."""
    # From cumulative sums: O(n), and exact counts for the first window - 1 entries.
    sums = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)
