"""The Keras notebook's ``display_frames_as_gif``: frames as an HTML player with controls, offline.

The notebook's JSAnimation no longer installs, and matplotlib's ``to_jshtml`` labels its
buttons with icons from a CDN, blank offline. So each frame here is a PNG ``data:`` URI, the
buttons are text, and the first frame shows where scripts do not run (an untrusted notebook).
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from dqn_tf.display import Frames, subsample_and_scale

if TYPE_CHECKING:
    from IPython.display import HTML

# (action, title, label) of each button, in matplotlib's order. Triangles and bars are in every
# common text font, where the media symbols ⏮ ⏸ ⏭ showed as empty boxes in headless Chromium;
# U+FE0E asks for a glyph's text, not emoji, form.
_T = "\ufe0e"
_BUTTONS = [
    ("slower", "Decrease speed", "\u2212"),
    ("first", "First frame", f"|\u25c0{_T}\u25c0{_T}"),
    ("previous", "Previous frame", f"|\u25c0{_T}"),
    ("backwards", "Play backwards", f"\u25c0{_T}"),
    ("pause", "Pause", "\u2016"),
    ("play", "Play", f"\u25b6{_T}"),
    ("next", "Next frame", f"\u25b6{_T}|"),
    ("last", "Last frame", f"\u25b6{_T}\u25b6{_T}|"),
    ("faster", "Increase speed", "+"),
]
_MODES = ["once", "loop", "reflect"]

# The page (player.html): the controls and a few lines of JavaScript, with $-placeholders.
_PAGE = Template(resources.files("dqn_tf").joinpath("player.html").read_text())


def display_frames_as_gif(
    frames: Frames,
    interval: int = 50,
    *,
    every: int = 1,
    scale: float = 1.0,
    display: bool = False,
) -> HTML:
    """Every ``every``-th frame, sides scaled by ``scale``, as a player ``interval`` ms apart;
    ``display`` also shows it. Each frame is a base64 PNG in the notebook: long episodes want
    ``every`` > 1 or ``scale`` < 1."""
    from IPython import display as ipy_display
    from PIL import Image

    uris = []
    for frame in subsample_and_scale(frames, every, scale):
        png = io.BytesIO()
        Image.fromarray(frame).save(png, format="PNG")
        uris.append("data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii"))
    id_ = uuid.uuid4().hex
    buttons = "".join(
        f'<button data-action="{action}" title="{title}" aria-label="{title}">'
        f'<span class="anim-glyph">{label}</span></button>'
        for action, title, label in _BUTTONS
    )
    modes = "".join(
        f'<input type="radio" name="state" value="{mode}" id="_anim_{mode}{id_}"'
        f"{' checked' if mode == 'loop' else ''}>"
        f'<label for="_anim_{mode}{id_}" style="margin-right: 8px">{mode.title()}</label>'
        for mode in _MODES
    )
    fill = "\n".join(f"  frames[{i}] = {json.dumps(uri)};" for i, uri in enumerate(uris))
    page = _PAGE.substitute(
        id=id_, first=uris[0], last=len(uris) - 1, n=len(uris), fill=fill,
        interval=float(interval), buttons=buttons, modes=modes
    )  # fmt: skip
    result = ipy_display.HTML(page)
    if display:
        ipy_display.display(result)
    return result
