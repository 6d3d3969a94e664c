"""Show episodes in a notebook: record frames, encode them as inline GIFs or animated HTML.

Named ``display`` rather than ``replay`` because "replay" already means experience replay in
this project (``Agent.replay``).

This module is deliberately light: numpy, Pillow, imageio, matplotlib and IPython only, no
TensorFlow, so a notebook (or a test) can show an episode without paying for a TF import.

Everything it shows is self-contained: GIFs are ``<img>`` tags with a ``data:`` URI (HTML, which
every notebook front end and nbconvert's HTML export renders, unlike an ``image/gif`` output),
and seed 000's player loads nothing from the network.

Typical use in a notebook cell::

    env = gymnasium.make("LunarLander-v3", render_mode="rgb_array")
    episode = record_episode(env, agent.act, seed=0)
    show_gif(episode.frames)              # last expression of the cell: an inline GIF
    display_frames_as_gif(episode.frames, every=2, scale=0.5)   # seed 000's player, with controls
    plot_learning_curve(lunar_lander.episode_rewards)   # rewards and their 100-episode average

A small subject in a large frame (RocketLander's rocket is 3 x 39 pixels in a 500 x 720 sky) is
followed with a close-up next to the whole scene::

    episode = record_episode(env, policy, every=4,
                             focus=lambda env: env.unwrapped.rocket_pixel_position())
    show_gif(close_up(episode), scale=1.0, every=1, fps=15)
    plot_landings(history["landed_episodes"], len(history["episode_rewards"]),
                  history["evaluations"], eval_episodes=10)
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.files import atomic_path

if TYPE_CHECKING:  # IPython is imported lazily, only by the functions that return its objects
    from IPython.display import HTML
    from matplotlib.axes import Axes

__all__ = [
    "GIF",
    "Episode",
    "close_up",
    "display_frames_as_gif",
    "frames_to_gif",
    "plot_landings",
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
        focus: one ``(x, y)`` pixel position per frame (x right, y down), of the point that
            ``record_episode(focus=...)`` follows, for :func:`close_up`; empty when no
            ``focus`` was given.
    """

    frames: list[np.ndarray]
    total_reward: float
    steps: int
    terminated: bool
    truncated: bool
    landed: bool | None = None
    focus: list[tuple[float, float]] = field(default_factory=list)


def record_episode(
    env: Any,
    policy: Callable[[np.ndarray], Any],
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    every: int = 1,
    focus: Callable[[Any], tuple[float, float]] | None = None,
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
        focus: called as ``focus(env)`` right after each kept frame is rendered; returns the
            ``(x, y)`` pixel position (x right, y down, in the frame's pixels) of what a
            :func:`close_up` should follow, stored in ``Episode.focus``. For RocketLander:
            ``lambda env: env.unwrapped.rocket_pixel_position()``. Default ``None``: no
            positions.

    Returns:
        An :class:`Episode`. With ``every=1`` it holds exactly ``steps`` frames, and as many
        ``focus`` points as frames when ``focus`` is given.

    Raises:
        ValueError: the environment does not render ``rgb_array`` frames, ``every`` /
            ``max_steps`` is below 1, or ``focus`` returned something other than two numbers.
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
    points: list[tuple[float, float]] = []
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
            if focus is not None:
                points.append(_check_point(focus(env), f"focus(env) returned at step {steps}"))

    landed = info.get("landed") if isinstance(info, dict) else None
    return Episode(
        frames=frames,
        total_reward=total_reward,
        steps=steps,
        terminated=bool(terminated),
        truncated=bool(truncated),
        landed=None if landed is None else bool(landed),
        focus=points,
    )


def _check_point(point: Any, what: str) -> tuple[float, float]:
    """Return ``point`` as a pair of floats, or raise ValueError naming ``what`` produced it."""
    try:
        x, y = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} {point!r}: a point must be two numbers (x, y) in pixels"
        ) from None
    return (x, y)


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


# close_up's layout: the separator between the panels, and the outline of the magnified region
# drawn on the whole scene. Orange stands out from RocketLander's blue sky and sea, grey ship,
# white rocket and yellow flame, and from LunarLander's black sky and white ground.
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
    """Compose each frame as the whole scene, shrunk, next to a magnified crop that follows a point.

    For a subject too small to see in its frame: RocketLander's rocket is about 3 x 39 pixels in
    a 500 x 720 sky, one pixel wide once the frame is shrunk for a notebook. The left panel
    shows where it is (the whole scene), the right one what it does (its attitude, flame,
    gimbal and legs), separated by a thin dark line. With the defaults a RocketLander frame
    becomes 418 x 288 pixels: the scene at 0.4 (200 x 288) and a 72 x 96 crop at 3x (216 x 288).

    Args:
        frames: a non-empty sequence of ``uint8`` H x W x 3 (or x 4) arrays, all of one size, or
            an :class:`Episode` recorded with ``focus`` (its frames and its ``focus`` points).
        points: one ``(x, y)`` per frame, in the frame's pixels (x right, y down), the centre of
            each crop. Default ``None``: the Episode's ``focus``; needed with plain frames.
        size: ``(width, height)`` of the crop in the frame's pixels (default ``(72, 96)``, room
            for RocketLander's rocket lying on its side, its flame and its legs). At most the
            frame's size. The crop stays inside the frame: near an edge it stops there, the
            point off its centre, rather than wrapping round or padding.
        zoom: magnification of the crop, a number >= 1 (default 3). Nearest-neighbour, so that
            pixels stay sharp squares; an integer gives them all the same size.
        context_scale: size factor in (0, 1] of the whole scene; default ``None`` makes it as
            tall as the magnified crop. When the two panels differ in height they are aligned
            at the top and the shorter one is padded with the separator's colour.
        outline: draw the crop's rectangle on the whole scene, in orange (default ``True``), so
            that the eye finds the subject there.

    Returns:
        The composed frames, ``uint8``, one per input frame, with the input's channels.

    Raises:
        ValueError: empty or unevenly sized ``frames``; ``points`` missing, of another length
            than ``frames`` or not finite pairs; ``size`` not two integers >= 1 that fit in the
            frame; ``zoom`` < 1; ``context_scale`` not in (0, 1]. The message names the value.
    """
    from PIL import Image

    if isinstance(frames, Episode):
        if points is None:
            if not frames.focus:
                raise ValueError(
                    "close_up got an Episode without focus points (Episode.focus is empty): "
                    "record it with record_episode(..., focus=...) or pass points"
                )
            points = frames.focus
        frames = frames.frames
    checked = _check_frames(frames)
    if points is None:
        raise ValueError(
            "close_up needs points with plain frames: one (x, y) per frame, or an Episode "
            "recorded with record_episode(..., focus=...)"
        )
    points = list(points)
    if len(points) != len(checked):
        raise ValueError(
            f"close_up got {len(points)} points for {len(checked)} frames: it needs one (x, y) "
            f"per frame"
        )
    centres = [_check_point(point, f"points[{i}] is") for i, point in enumerate(points)]
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

    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in size)
        or not (1 <= size[0] <= frame_w and 1 <= size[1] <= frame_h)
    ):
        raise ValueError(
            f"size={size!r} is not allowed: size must be (width, height), two integers >= 1 "
            f"and at most the frame's {frame_w} x {frame_h}"
        )
    if not isinstance(zoom, int | float | np.integer | np.floating) or not 1 <= zoom < math.inf:
        raise ValueError(f"zoom={zoom!r} is not allowed: zoom must be a number >= 1")
    if context_scale is not None and not 0 < context_scale <= 1:
        raise ValueError(
            f"context_scale={context_scale!r} is not allowed: context_scale must be None or in "
            f"(0, 1]"
        )

    crop_w, crop_h = int(size[0]), int(size[1])
    zoomed = (round(crop_w * zoom), round(crop_h * zoom))
    if context_scale is None:
        context_scale = min(1.0, zoomed[1] / frame_h)
    context = (
        max(1, round(frame_w * context_scale)),
        max(1, round(frame_h * context_scale)),
    )
    out_h = max(context[1], zoomed[1])
    out_w = context[0] + _SEPARATOR_WIDTH + zoomed[0]
    background = np.array((*_SEPARATOR_COLOR, 255)[:channels], np.uint8)
    orange = np.array((*_OUTLINE_COLOR, 255)[:channels], np.uint8)
    # Where the crop's rectangle falls on the shrunk scene: one scale for both axes, which
    # holds to within the rounding of the panel's sides.
    sx, sy = context[0] / frame_w, context[1] / frame_h

    composed = []
    for frame, (x, y) in zip(checked, centres, strict=True):
        # Pixel i spans [i, i + 1), so the crop [left, left + crop_w) is centred on x when
        # left = x - crop_w / 2, rounded half up (not Python's round, which rounds half to
        # even and would make the crop's offset depend on the parity of x); then clamped so
        # that the crop stays inside the frame.
        left = min(max(math.floor(x - crop_w / 2 + 0.5), 0), frame_w - crop_w)
        top = min(max(math.floor(y - crop_h / 2 + 0.5), 0), frame_h - crop_h)
        crop = frame[top : top + crop_h, left : left + crop_w]
        magnified = np.asarray(Image.fromarray(crop).resize(zoomed, Image.Resampling.NEAREST))
        # BOX averages the pixels each output pixel covers, the right filter for shrinking.
        scene = np.array(Image.fromarray(frame).resize(context, Image.Resampling.BOX))
        if outline:
            x0 = min(int(left * sx), context[0] - 1)
            y0 = min(int(top * sy), context[1] - 1)
            x1 = min(max(x0, math.ceil((left + crop_w) * sx) - 1), context[0] - 1)
            y1 = min(max(y0, math.ceil((top + crop_h) * sy) - 1), context[1] - 1)
            scene[y0, x0 : x1 + 1] = orange
            scene[y1, x0 : x1 + 1] = orange
            scene[y0 : y1 + 1, x0] = orange
            scene[y0 : y1 + 1, x1] = orange
        out = np.empty((out_h, out_w, channels), np.uint8)
        out[...] = background
        out[: context[1], : context[0]] = scene
        out[: zoomed[1], context[0] + _SEPARATOR_WIDTH :] = magnified
        composed.append(out)
    return composed


class GIF:
    """An animated GIF that shows inline in every notebook front end.

    ``IPython.display.Image(format="gif")`` makes an ``image/gif`` output, which nbconvert's HTML
    exporter and the classic Notebook do not render (they print
    ``<IPython.core.display.Image object>`` instead). This object's output is HTML, an ``<img>``
    whose ``src`` is a ``data:`` URI, which JupyterLab (also in an untrusted notebook: its
    sanitizer keeps ``data:`` images), VS Code, the classic Notebook and nbconvert all show.
    It deliberately carries no ``image/gif`` alternative, which would store the GIF twice in
    the ``.ipynb``.

    Args:
        data: the GIF file's bytes.
        alt: the ``<img>``'s alternative text; default ``None`` describes the animation
            (frames and size).

    Attributes:
        data: the GIF file's bytes, as given.
        width, height: the GIF's size in pixels (from its header).
        n_frames: the number of frames.

    Raises:
        ValueError: ``data`` does not start with a GIF signature (``b"GIF8"``).
    """

    def __init__(self, data: bytes, alt: str | None = None) -> None:
        data = bytes(data)
        if not data.startswith(b"GIF8") or len(data) < 10:
            raise ValueError(
                f"GIF got data starting with {data[:6]!r}: a GIF must start with b'GIF8'"
            )
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
    """Return an inline GIF for a notebook: make it the last expression of a cell.

    Args:
        frames_or_path_or_bytes: frames (encoded with :func:`frames_to_gif`), an
            :class:`Episode` (its frames), the path of a GIF file, or GIF bytes.
        **kw: passed to :func:`frames_to_gif` (``path``, ``scale``, ``every``, ``fps``); only
            allowed with frames or an Episode.

    Returns:
        A :class:`GIF`: shown as an HTML ``<img>`` with a ``data:`` URI, its bytes in ``.data``.

    Raises:
        ValueError: bytes that are not a GIF, or keyword arguments given with a path or bytes
            (they would be ignored silently otherwise).
    """
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
    return GIF(data)


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

    matplotlib's player draws its buttons with Font Awesome icons from a CDN, blank offline;
    here they are Unicode glyphs and the HTML loads nothing from the network. Its image also
    starts on the first frame, so that where scripts do not run (an untrusted notebook in
    JupyterLab strips them) the first frame still shows instead of an empty box.

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
        ``IPython.display.HTML`` holding the player (``.data`` is its HTML).

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
        html = ipy_display.HTML(_offline_player(anim.to_jshtml(default_mode="loop")))
    finally:
        # Closed so that the inline backend does not also draw the figure as a static image
        # under the player.
        plt.close(fig)
    if display:
        ipy_display.display(html)
    return html


# Font Awesome classes of matplotlib's player buttons (matplotlib/_animation_data.py, 3.11) and
# the glyphs that replace them: triangles, bars and the double vertical line, which every
# common text font has (DejaVu, Liberation, Arial); the media symbols ⏮ ⏸ ⏭ are missing from
# many and showed as empty boxes in headless Chromium. U+FE0E asks for the text (not emoji)
# presentation where a font has both.
_TEXT = "\ufe0e"
_PLAYER_GLYPHS = {
    "fa-minus": "\u2212",  # − decrease speed
    "fa-fast-backward": "|\u25c0" + _TEXT + "\u25c0" + _TEXT,  # |◀◀ first frame
    "fa-step-backward": "|\u25c0" + _TEXT,  # |◀ previous frame
    "fa-play fa-flip-horizontal": "\u25c0" + _TEXT,  # ◀ play backwards
    "fa-pause": "\u2016",  # ‖ pause
    "fa-play": "\u25b6" + _TEXT,  # ▶ play
    "fa-step-forward": "\u25b6" + _TEXT + "|",  # ▶| next frame
    "fa-fast-forward": "\u25b6" + _TEXT + "\u25b6" + _TEXT + "|",  # ▶▶| last frame
    "fa-plus": "+",  # increase speed
}
_FA_STYLESHEET = re.compile(r"<link\b[^>]*font-awesome[^>]*>\s*", re.IGNORECASE)
_FA_ICON = re.compile(r'<i class="fa ([^"]*)"></i>')
_FIRST_FRAME = re.compile(r'frames\[0\] = "(data:image/[a-z+]+;base64,[^"]*)"')
_PLAYER_IMG = re.compile(r'<img id="(_anim_img\w+)">')


def _offline_player(page: str) -> str:
    """matplotlib's ``to_jshtml`` player made self-contained, showing frame 0 without scripts.

    Written against matplotlib 3.11's template (``matplotlib/_animation_data.py``). Should a
    later matplotlib lay it out differently, the parts not found are left as they are, with a
    ``RuntimeWarning``: a player that needs the network beats no player at all.
    """

    def glyph(match: re.Match[str]) -> str:
        classes = match.group(1)
        # An icon this table does not know (a newer matplotlib) gets its name as the label:
        # uglier, but never a blank button and never a class that asks for the CDN's font.
        text = _PLAYER_GLYPHS.get(classes, classes.split()[0].removeprefix("fa-"))
        return f'<span class="anim-glyph">{html.escape(text)}</span>'

    page = _FA_STYLESHEET.sub("", page)
    page = _FA_ICON.sub(glyph, page)
    first = _FIRST_FRAME.search(page)
    img = _PLAYER_IMG.search(page)
    if first is not None and img is not None:
        # The JavaScript string continues its lines with a backslash and a newline (base64
        # wraps at 76 characters); an attribute's data: URI must be one unbroken string.
        src = re.sub(r"\\\n|\s", "", first.group(1))
        page = page[: img.start()] + f'<img id="{img.group(1)}" src="{src}">' + page[img.end() :]
    else:
        warnings.warn(
            "display_frames_as_gif: matplotlib's player has no 'frames[0] = \"data:...\"' or "
            "no '<img id=\"_anim_img...\">' (its template changed after 3.11); the player "
            "shows nothing where scripts do not run",
            RuntimeWarning,
            stacklevel=3,
        )
    leftover = re.search(r"https?://|\bfa-", page)
    if leftover is not None:
        warnings.warn(
            f"display_frames_as_gif: matplotlib's player still holds "
            f"{page[leftover.start() : leftover.start() + 60]!r} (its template changed after "
            f"3.11); offline, some of it may not show",
            RuntimeWarning,
            stacklevel=3,
        )
    return page


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
    _check_window(window)
    values = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("rewards is empty: at least one episode reward is needed")
    if not np.all(np.isfinite(values)):
        raise ValueError("rewards must be finite numbers (got NaN or infinity)")
    average = trailing_mean(values, window)

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


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``values[max(0, i - window + 1) : i + 1]`` for each ``i``."""
    # From cumulative sums: O(n), and exact counts for the first window - 1 entries.
    sums = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _check_window(window: int) -> None:
    if not isinstance(window, int | np.integer) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window={window!r} is not allowed: window must be an integer >= 1")


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
    """Plot how often a game that reports landings (RocketLander) was landed, over training.

    The training episodes' landing rate, in percent, is drawn against the episode index: at
    episode ``i`` the share of episodes ``max(0, i - window + 1) .. i`` that landed (over the
    first ``window - 1`` episodes, of those played so far, as :func:`plot_learning_curve`
    averages). The periodic greedy evaluations, when given, are drawn as markers: with
    ``episode_lengths``, on the same axis, at the training episode during which the run
    reached the evaluation's step count (so a marker stands above the episodes it followed);
    without, against a second x axis at the top, in environment steps (episodes and steps do
    not map onto each other linearly). One legend names both.

    Args:
        landed_episodes: the 0-based indices of the training episodes that landed, increasing
            (``Environment.landed_episodes``, history.json's ``"landed_episodes"``).
        n_episodes: the number of training episodes played (e.g. ``len(episode_rewards)``).
        evaluations: history.json's ``"evaluations"``, rows ``[steps, mean_return, landings]``
            where ``landings`` counts the landed episodes of that evaluation; default ``None``
            draws none (an empty list draws none either).
        eval_episodes: episodes per evaluation (``Config.eval_episodes``), turning ``landings``
            into a percentage; needed with ``evaluations``.
        window: number of training episodes in the rolling rate (default 100).
        ax: matplotlib Axes to draw on; default ``None`` makes a new figure (8 x 4 inches).
        title: the Axes' title; default ``None`` sets none.
        episode_lengths: the training episodes' lengths in environment steps
            (``Environment.episode_lengths``, history.json's ``"episode_lengths"``), one per
            episode; they place the evaluations on the episode axis.

    Returns:
        The Axes of the training rate, x in episodes, y in percent (0 to 100), holding one line
        (labelled ``"training, last <window> episodes"``). With evaluations and
        ``episode_lengths``, ``ax`` also holds their markers (``"greedy evaluation,
        <eval_episodes> episodes each"``); with evaluations only, a twin Axes
        (``ax.twiny()``, shared y, x in environment steps at the top) holds them and the
        legend of both, put there because the twin is drawn over ``ax`` and would cover a
        legend of ``ax``.

    Raises:
        ValueError: ``n_episodes`` not an integer >= 1; a landed index that is not an integer
            in ``[0, n_episodes)`` or not above the previous one; an evaluation row that is not
            ``[steps, mean_return, landings]`` with ``0 <= landings <= eval_episodes``;
            ``eval_episodes`` missing or < 1 with evaluations; ``window`` < 1;
            ``episode_lengths`` not ``n_episodes`` integers >= 1.
    """
    _check_window(window)
    if not isinstance(n_episodes, int | np.integer) or isinstance(n_episodes, bool):
        raise ValueError(
            f"n_episodes={n_episodes!r} is not allowed: n_episodes must be an integer >= 1"
        )
    if n_episodes < 1:
        raise ValueError(
            f"n_episodes={n_episodes!r} is not allowed: n_episodes must be an integer >= 1 "
            f"(no episode played, nothing to plot)"
        )
    landed = np.zeros(int(n_episodes), dtype=np.float64)
    previous = -1
    for k, index in enumerate(landed_episodes):
        if not isinstance(index, int | np.integer) or isinstance(index, bool):
            raise ValueError(
                f"landed_episodes[{k}]={index!r} is not allowed: episode indices are integers"
            )
        if not previous < index < n_episodes:
            raise ValueError(
                f"landed_episodes[{k}]={index!r} is not allowed: indices must be increasing and "
                f"in [0, n_episodes={n_episodes}), the previous one being {previous}"
            )
        landed[index] = 1.0
        previous = int(index)

    eval_rows = [] if evaluations is None else list(evaluations)
    if evaluations is not None:
        if (
            not isinstance(eval_episodes, int | np.integer)
            or isinstance(eval_episodes, bool)
            or eval_episodes < 1
        ):
            raise ValueError(
                f"eval_episodes={eval_episodes!r} is not allowed: with evaluations, "
                f"eval_episodes (episodes per evaluation) must be an integer >= 1"
            )
    for k, row in enumerate(eval_rows):
        values = np.asarray(row, dtype=np.float64).reshape(-1)
        if values.size != 3 or not np.all(np.isfinite(values)):
            raise ValueError(
                f"evaluations[{k}]={row!r} is not allowed: each evaluation must be "
                f"[steps, mean_return, landings], three finite numbers (a game that does not "
                f"report landings records [steps, mean_return] only)"
            )
        assert eval_episodes is not None  # checked above whenever there are rows
        if not 0 <= values[2] <= eval_episodes:
            raise ValueError(
                f"evaluations[{k}]={row!r} is not allowed: its landings {row[2]!r} must be in "
                f"[0, eval_episodes={eval_episodes}]"
            )

    lengths = None
    if episode_lengths is not None:
        lengths = np.asarray(episode_lengths)
        if (
            lengths.shape != (n_episodes,)
            or not np.issubdtype(lengths.dtype, np.integer)
            or (lengths < 1).any()
        ):
            raise ValueError(
                f"episode_lengths of shape {lengths.shape} and dtype {lengths.dtype} (smallest "
                f"{lengths.min() if lengths.size else None}) is not allowed: give one length per "
                f"episode, n_episodes={n_episodes} integers >= 1"
            )

    from matplotlib.ticker import EngFormatter

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    rate = 100.0 * trailing_mean(landed, window)
    line = ax.plot(
        np.arange(landed.size),
        rate,
        color="tab:green",
        linewidth=2,
        label=f"training, last {window} episodes",
    )
    ax.set_xlabel("training episode")
    ax.set_ylabel("landed (%)")
    # Landings are rare on RocketLander (a few %): a fixed 0-100 % axis would flatten the curve
    # into the frame, so the top follows the highest rate shown, with room for the legend.
    # The small margin below 0 keeps a rate of 0 % off the frame.
    highest = float(rate.max(initial=0.0))
    if eval_rows:
        highest = max(highest, 100.0 * max(float(r[2]) for r in eval_rows) / eval_episodes)
    top = min(103.0, max(10.0, 1.4 * highest))
    ax.set_ylim(-0.03 * top, top)
    ax.grid(True, alpha=0.3)
    if title is not None:
        ax.set_title(title)
    legend_ax, handles = ax, list(line)
    if eval_rows:
        table = np.asarray(eval_rows, dtype=np.float64)
        assert eval_episodes is not None
        if lengths is not None:
            # The episode during which the step count reached the evaluation's (evaluations
            # happen between episodes, so after it); past the last one, at the last one.
            where = np.minimum(np.searchsorted(np.cumsum(lengths), table[:, 0]), n_episodes - 1)
            marker_ax = ax
        else:
            where, marker_ax = table[:, 0], ax.twiny()
            marker_ax.set_xlabel("environment steps (greedy evaluations)", color="tab:purple")
            marker_ax.tick_params(axis="x", colors="tab:purple")
            # "200 k", "1 M" rather than a "1e6" offset above the axis, where the title is.
            marker_ax.xaxis.set_major_formatter(EngFormatter())
            legend_ax = marker_ax
        handles += marker_ax.plot(
            where,
            100.0 * table[:, 2] / eval_episodes,
            color="tab:purple",
            linestyle="none",
            marker="o",
            markersize=5,
            label=f"greedy evaluation, {eval_episodes} episodes each",
        )
        if lengths is None:
            marker_ax.set_xlim(left=0)
    legend_ax.legend(handles=handles, loc="upper left")
    return ax
