"""Tests for dqn_tf.player: seed 000's display_frames_as_gif, a player that needs no network."""

import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from IPython.display import HTML
from PIL import Image as PILImage

from dqn_tf.player import display_frames_as_gif

N_FRAMES = 10
HEIGHT, WIDTH = 30, 40


def _colour(i: int) -> tuple[int, int, int]:
    return (i * 25, 255 - i * 25, (i * 70) % 256)


@pytest.fixture
def frames() -> list[np.ndarray]:
    # Distinct flat colours, so Pillow never merges two consecutive frames into one.
    return [np.full((HEIGHT, WIDTH, 3), _colour(i), np.uint8) for i in range(N_FRAMES)]


@pytest.mark.parametrize(("every", "expected"), [(1, N_FRAMES), (3, 4)])
def test_display_frames_as_gif_returns_looping_player(frames, every, expected):
    import matplotlib.pyplot as plt

    figures_before = plt.get_fignums()
    html = display_frames_as_gif(frames, every=every, scale=0.5)

    assert isinstance(html, HTML)
    assert "<script" in html.data
    # to_jshtml declares the frame array, then assigns each embedded PNG.
    assert f"var frames = new Array({expected});" in html.data
    assert len(re.findall(r"frames\[\d+\] = \"data:image/png;base64,", html.data)) == expected
    # default_mode="loop": the "loop" radio button is the checked one.
    checked = re.findall(r'value="(\w+)"[^>]*\bchecked>', html.data)
    assert checked == ["loop"]
    assert plt.get_fignums() == figures_before  # closed: no extra static image in the notebook


def test_display_frames_as_gif_needs_no_network_and_shows_first_frame(frames):
    page = display_frames_as_gif(frames, scale=0.5).data

    # Nothing from a CDN: no URL at all, no Font Awesome stylesheet or icon class.
    assert re.search(r"https?://", page) is None
    assert "font-awesome" not in page
    assert re.search(r"\bfa-", page) is None
    assert "<i " not in page
    # Each of the nine buttons has a text glyph instead.
    glyphs = re.findall(r'<span class="anim-glyph">([^<]+)</span></button>', page)
    assert [g.replace("\ufe0e", "") for g in glyphs] == [
        "\u2212", "|\u25c0\u25c0", "|\u25c0", "\u25c0", "\u2016",
        "\u25b6", "\u25b6|", "\u25b6\u25b6|", "+",
    ]  # fmt: skip

    # Without scripts the image still shows frame 0: the same PNG as the player's frames[0].
    img = re.search(r'<img id="_anim_img\w+" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert img is not None
    first = re.search(r'frames\[0\] = "data:image/png;base64,([^"]+)"', page).group(1)
    assert img.group(1) == first.replace("\\\n", "")
    with PILImage.open(io.BytesIO(base64.b64decode(img.group(1)))) as png:
        np.testing.assert_allclose(np.asarray(png.convert("RGB"))[7, 10], _colour(0), atol=2)

    # And the player still holds every frame.
    assert f"var frames = new Array({N_FRAMES});" in page
    assert len(re.findall(r"frames\[\d+\] = \"data:image/png;base64,", page)) == N_FRAMES


def test_display_frames_as_gif_display_flag(frames, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert display_frames_as_gif(frames[:2]) is not None
    assert shown == []
    html = display_frames_as_gif(frames[:2], display=True)
    assert shown == [html]


def test_display_frames_as_gif_rejects_bad_arguments(frames):
    with pytest.raises(ValueError, match="frames is empty"):
        display_frames_as_gif([])
    with pytest.raises(ValueError, match=r"every must be an integer >= 1 \(got 0\)"):
        display_frames_as_gif(frames, every=0)
    with pytest.raises(ValueError, match="scale=2"):
        display_frames_as_gif(frames, scale=2)


# --- the player's script, run in Node.js against a stand-in for the page -------------------

# The page's elements as far as the script uses them, timers that tick on demand, and one line
# of JSON out: after each step, the frame shown, the slider's value and the running timer's
# delay (null when paused).
NODE_PAGE = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const page = input.page;
const script = page.match(/<script>([\s\S]*)<\/script>/)[1];
const frames = [...page.matchAll(/frames\[\d+\] = ("[^"]*");/g)].map((m) => JSON.parse(m[1]));
const buttons = [...page.matchAll(/data-action="(\w+)"/g)].map((m) => ({
  action: m[1], getAttribute: (name) => (name === "data-action" ? m[1] : null),
}));
let mode = [...page.matchAll(/value="(\w+)"[^>]*\bchecked>/g)][0][1];
const img = { src: "" }, slider = { value: 0 };
const document = {
  getElementById: (id) =>
    id.startsWith("_anim_img") ? img :
    id.startsWith("_anim_slider") ? slider :
    id.startsWith("_anim_buttons") ? { querySelectorAll: () => buttons } :
    { querySelector: (selector) => ({ value: mode }) },
};
const later = [], timers = new Map();
let next = 1;
const setTimeout = (f) => later.push(f);
const setInterval = (f, delay) => { timers.set(next, [f, delay]); return next++; };
const clearInterval = (handle) => timers.delete(handle);
new Function("document", "setTimeout", "setInterval", "clearInterval", script)(
  document, setTimeout, setInterval, clearInterval);
later.forEach((f) => f());
const seen = [];
for (const step of input.steps) {
  const [what, arg] = step.split(":");
  if (what === "tick") [...timers.values()].forEach(([f]) => f());
  else if (what === "mode") mode = arg;
  else if (what === "slider") { slider.value = arg; slider.oninput(); }
  else buttons.find((b) => b.action === what).onclick();
  if (timers.size > 1) throw new Error("two timers run at once");
  const running = [...timers.values()][0];
  seen.push([frames.indexOf(img.src), Number(slider.value), running ? running[1] : null]);
}
console.log(JSON.stringify(seen));
"""


def _play(page: str, steps: list[str]) -> list[list]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed: the player's script is not run")
    stdin = json.dumps({"page": page, "steps": steps})
    out = subprocess.run(
        [node, "-e", NODE_PAGE], input=stdin, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_player_script_plays_steps_and_follows_the_repetition_mode(frames):
    page = display_frames_as_gif(frames[:4], interval=40).data
    shown = _play(page, ["tick", "play", "tick", "tick", "tick", "tick", "pause", "tick"])
    assert shown == [
        [-1, 0, None],  # nothing before a button is pressed: the <img> shows frame 0 itself
        [-1, 0, 40],
        [1, 1, 40],
        [2, 2, 40],
        [3, 3, 40],
        [0, 0, 40],  # "loop", checked by default: after the last frame, the first
        [0, 0, None],
        [0, 0, None],
    ]
    steps = ["next", "last", "previous", "first", "slider:2", "backwards", "tick", "tick", "tick"]
    frames_shown = [frame for frame, _, _ in _play(page, steps)]
    assert frames_shown == [1, 3, 2, 0, 2, 2, 1, 0, 3]  # backwards, looping at the start

    steps = ["last", "mode:reflect", "play", "tick", "tick", "mode:once", "backwards"]
    steps += ["tick", "tick", "tick", "tick"]
    shown = _play(page, steps)
    # "reflect" turns back at the end; "once" stops at the end, whichever way it plays.
    assert [frame for frame, _, _ in shown] == [3, 3, 3, 3, 2, 2, 2, 1, 0, 0, 0]
    assert [delay for _, _, delay in shown][-3:] == [40, None, None]


def test_player_script_speed_buttons_change_the_delay(frames):
    page = display_frames_as_gif(frames[:4], interval=100).data
    shown = _play(page, ["faster", "play", "faster", "slower", "slower", "pause", "tick"])
    delays = [delay for _, _, delay in shown]
    assert delays[:1] == [None]  # paused: the new speed waits for play
    assert delays[1:5] == pytest.approx([70, 49, 70, 100])
    assert delays[5:] == [None, None]
    assert [frame for frame, _, _ in shown][-1] == -1  # no tick ran while playing
