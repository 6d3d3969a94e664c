"""Tests for dqn_tf.player: seed 000's display_frames_as_gif, a player that needs no network."""

import base64
import io
import re

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
    with pytest.raises(ValueError, match="every=0"):
        display_frames_as_gif(frames, every=0)
    with pytest.raises(ValueError, match="scale=2"):
        display_frames_as_gif(frames, scale=2)
