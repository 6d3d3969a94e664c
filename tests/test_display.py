"""Tests for dqn_tf.display: episode recording, GIF encoding and display, the learning curve."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen, no window

import base64  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402

import gymnasium as gym  # noqa: E402
import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from dqn_tf.display import (  # noqa: E402
    GIF,
    Episode,
    frames_to_gif,
    plot_learning_curve,
    record_episode,
    show_gif,
)

N_FRAMES = 10
HEIGHT, WIDTH = 30, 40


def _colour(i: int) -> tuple[int, int, int]:
    return (i * 25, 255 - i * 25, (i * 70) % 256)


@pytest.fixture
def frames() -> list[np.ndarray]:
    # Distinct flat colours, so Pillow never merges two consecutive frames into one.
    return [np.full((HEIGHT, WIDTH, 3), _colour(i), np.uint8) for i in range(N_FRAMES)]


def _decode(data: bytes) -> np.ndarray:
    return iio.imread(data, index=None, extension=".gif", plugin="pillow")


# --- frames_to_gif -------------------------------------------------------------------------


@pytest.mark.parametrize("every", [1, 2, 3])
def test_frames_to_gif_subsamples_scales_and_loops(frames, every):
    data = frames_to_gif(frames, scale=0.5, every=every, fps=25)
    assert data.startswith(b"GIF8")

    decoded = _decode(data)
    assert decoded.shape == (math.ceil(N_FRAMES / every), 15, 20, 3)
    for k, frame in enumerate(decoded):
        np.testing.assert_allclose(frame[7, 10], _colour(k * every), atol=8)

    with PILImage.open(io.BytesIO(data)) as im:
        assert im.info["loop"] == 0  # 0 = loop forever
        assert im.info["duration"] == 40  # 1000 ms / 25 fps


def test_frames_to_gif_full_scale_and_array_input(frames):
    decoded = _decode(frames_to_gif(np.stack(frames), scale=1.0, every=5))
    assert decoded.shape == (2, HEIGHT, WIDTH, 3)


def test_frames_to_gif_writes_path_atomically(frames, tmp_path):
    path = tmp_path / "episode.gif"
    data = frames_to_gif(frames, path)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode.gif"]

    # Overwriting an existing file goes through the same replace, leaving nothing behind.
    data2 = frames_to_gif(frames[:3], str(path), every=1)
    assert path.read_bytes() == data2 != data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode.gif"]


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"scale": 0}, "scale", "0"),
        ({"scale": 1.5}, "scale", "1.5"),
        ({"scale": -0.5}, "scale", "-0.5"),
        ({"every": 0}, "every", "0"),
        ({"every": -2}, "every", "-2"),
        ({"fps": 0}, "fps", "0"),
        ({"fps": -30}, "fps", "-30"),
    ],
)
def test_frames_to_gif_rejects_bad_arguments(frames, kwargs, field, value):
    # "scale=0 is not allowed: ..." or, for a count, "every must be an integer >= 1 (got 0)"
    shown = re.escape(value)
    with pytest.raises(ValueError, match=rf"{field}(={shown}\b| must be .*\(got {shown}\))") as err:
        frames_to_gif(frames, **kwargs)
    assert field in str(err.value)


def test_frames_to_gif_rejects_empty_frames():
    with pytest.raises(ValueError, match="frames is empty"):
        frames_to_gif([])
    with pytest.raises(ValueError, match="frames is empty"):
        frames_to_gif(np.zeros((0, HEIGHT, WIDTH, 3), np.uint8))


def test_frames_to_gif_rejects_bad_frame_shape():
    with pytest.raises(ValueError, match=r"frames\[0\] has shape \(30, 40\)"):
        frames_to_gif([np.zeros((HEIGHT, WIDTH), np.uint8)])


# --- record_episode ------------------------------------------------------------------------


def _rewards_without_rendering(seed: int, n: int) -> list[float]:
    env = gym.make("LunarLander-v3")
    try:
        env.reset(seed=seed)
        rewards = []
        for _ in range(n):
            _, reward, terminated, truncated, _ = env.step(0)
            rewards.append(float(reward))
            if terminated or truncated:
                break
        return rewards
    finally:
        env.close()


def test_record_episode_lunar_lander():
    env = gym.make("LunarLander-v3", render_mode="rgb_array")
    try:
        episode = record_episode(env, lambda obs: 0, seed=0, max_steps=20)
    finally:
        env.close()

    assert isinstance(episode, Episode)
    rewards = _rewards_without_rendering(seed=0, n=20)
    assert episode.steps == len(rewards) == 20
    assert len(episode.frames) == episode.steps  # every=1: one frame per step
    assert all(f.shape == (400, 600, 3) and f.dtype == np.uint8 for f in episode.frames)
    assert episode.total_reward == pytest.approx(sum(rewards), abs=1e-9)
    assert episode.truncated and not episode.terminated  # cut by max_steps
    assert episode.landed is None  # LunarLander does not report "landed"


def test_record_episode_every_keeps_first_and_last():
    env = gym.make("LunarLander-v3", render_mode="rgb_array")
    try:
        episode = record_episode(env, lambda obs: 0, seed=0, max_steps=10, every=4)
    finally:
        env.close()
    # Steps 1, 5, 9 by the stride, and step 10 because it is the last.
    assert episode.steps == 10
    assert len(episode.frames) == 4


class Landing(gym.Env):
    """Three steps of reward 1.5, then a landing; frame t is filled with t."""

    render_mode = "rgb_array"
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == 3
        info = {"landed": done}
        return np.full(1, self.t, np.float32), 1.5, done, False, info

    def render(self):
        return np.full((4, 6, 3), self.t, np.uint8)


def test_record_episode_passes_observations_and_reads_landed():
    seen = []

    def policy(obs):
        seen.append(float(obs[0]))
        return 1

    episode = record_episode(Landing(), policy)
    assert seen == [0.0, 1.0, 2.0]
    assert episode.steps == 3 and episode.total_reward == 4.5
    assert episode.terminated and not episode.truncated
    assert episode.landed is True
    assert [int(f[0, 0, 0]) for f in episode.frames] == [1, 2, 3]
    assert episode.focus == []  # no focus asked for


def test_record_episode_focus_is_called_after_each_kept_frame():
    calls = []

    def focus(env):
        calls.append(env.t)
        return np.array([env.t * 10, env.t + 0.5])  # any pair of numbers will do

    episode = record_episode(Landing(), lambda obs: 0, focus=focus)
    assert calls == [1, 2, 3]  # on the state each frame shows
    assert episode.focus == [(10.0, 1.5), (20.0, 2.5), (30.0, 3.5)]
    assert all(type(v) is float for point in episode.focus for v in point)

    episode = record_episode(Landing(), lambda obs: 0, every=2, focus=lambda env: (env.t, 0))
    assert [int(f[0, 0, 0]) for f in episode.frames] == [1, 3]
    assert episode.focus == [(1.0, 0.0), (3.0, 0.0)]


@pytest.mark.parametrize("bad", [None, 5.0, (1.0,), (1.0, 2.0, 3.0), ("x", 2)])
def test_record_episode_rejects_focus_that_is_not_a_point(bad):
    with pytest.raises(ValueError, match=r"focus\(env\) returned at step 1 .*two numbers"):
        record_episode(Landing(), lambda obs: 0, focus=lambda env: bad)


def test_record_episode_requires_rgb_array_render_mode():
    env = gym.make("LunarLander-v3")
    try:
        with pytest.raises(ValueError, match=r"render_mode=None.*render_mode='rgb_array'"):
            record_episode(env, lambda obs: 0)
    finally:
        env.close()


def test_record_episode_rejects_bad_every_and_max_steps():
    env = gym.make("LunarLander-v3", render_mode="rgb_array")
    try:
        with pytest.raises(ValueError, match=r"every must be an integer >= 1 \(got 0\)"):
            record_episode(env, lambda obs: 0, every=0)
        with pytest.raises(ValueError, match="max_steps=0"):
            record_episode(env, lambda obs: 0, max_steps=0)
    finally:
        env.close()


# --- show_gif and display_frames_as_gif ----------------------------------------------------


def test_show_gif_from_frames_bytes_path_and_episode(frames, tmp_path):
    image = show_gif(frames, every=1, scale=1.0)
    assert isinstance(image, GIF)
    assert image.data.startswith(b"GIF8")
    assert (image.n_frames, image.width, image.height) == (N_FRAMES, WIDTH, HEIGHT)

    path = tmp_path / "a.gif"
    data = frames_to_gif(frames, path)
    assert show_gif(data).data == data
    assert show_gif(path).data == data
    assert show_gif(str(path)).data == data

    episode = Episode(frames, total_reward=0.0, steps=10, terminated=True, truncated=False)
    assert show_gif(episode).data == data  # same defaults as frames_to_gif


def test_show_gif_rejects_non_gif_bytes_and_stray_keywords(frames):
    with pytest.raises(ValueError, match="GIF8"):
        show_gif(b"\x89PNG\r\n")
    with pytest.raises(ValueError, match="scale"):
        show_gif(frames_to_gif(frames), scale=0.25)


def test_gif_shows_as_html_img_with_data_uri_and_plain_text(frames):
    data = frames_to_gif(frames, scale=0.5, every=2)
    gif = GIF(data)

    # What a notebook stores: exactly HTML and text. No image/gif, which nbconvert's HTML and
    # the classic Notebook do not render, and which would store the GIF twice.
    bundle, _ = DisplayFormatter().format(gif)
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == f"<GIF: 5 frames, 20x15, {len(data):,} bytes>"
    assert repr(gif) == bundle["text/plain"]

    img = bundle["text/html"]
    match = re.fullmatch(
        r'<img src="data:image/gif;base64,([A-Za-z0-9+/=]+)" width="20" height="15" '
        r'alt="([^"]+)">',
        img,
    )
    assert match is not None, img
    assert base64.b64decode(match.group(1)) == data
    assert match.group(2) == f"animation, 5 frames, 20x15, {len(data):,} bytes"
    assert _decode(gif.data).shape == (5, 15, 20, 3)


def test_gif_alt_text_is_escaped_and_one_frame_is_singular(frames):
    gif = GIF(frames_to_gif(frames[:1]), alt='the "landing" <b>')
    assert 'alt="the &quot;landing&quot; &lt;b&gt;"' in gif._repr_html_()
    assert repr(gif).startswith("<GIF: 1 frame, ")


def test_gif_rejects_data_that_is_not_a_gif():
    with pytest.raises(ValueError, match=r"b'\\x89PNG.*must start with b'GIF8'"):
        GIF(b"\x89PNG\r\n\x1a\n")


# --- plot_learning_curve -------------------------------------------------------------------


@pytest.fixture
def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_learning_curve_rewards_and_running_average(pyplot):
    rewards = [0.0, 10.0, 20.0, 30.0, -60.0]
    ax = plot_learning_curve(rewards, window=3, title="LunarLander")

    reward_line, average_line = ax.get_lines()
    np.testing.assert_array_equal(reward_line.get_xdata(), np.arange(5))
    np.testing.assert_array_equal(reward_line.get_ydata(), rewards)
    # The first episodes average what has been played so far, as the book's deque(maxlen=100).
    np.testing.assert_allclose(average_line.get_ydata(), [0.0, 5.0, 10.0, 20.0, -10.0 / 3])
    assert reward_line.get_label() == "episode reward"
    assert average_line.get_label() == "average of last 3"
    assert ax.get_title() == "LunarLander"
    assert ax.get_xlabel() == "episode"
    assert ax.get_ylabel() == "reward"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "episode reward",
        "average of last 3",
    ]


def test_plot_learning_curve_default_window_is_100(pyplot):
    rewards = np.arange(250, dtype=float)
    ax = plot_learning_curve(rewards)
    average = ax.get_lines()[1].get_ydata()
    assert ax.get_lines()[1].get_label() == "average of last 100"
    assert average[99] == pytest.approx(np.mean(rewards[:100]))
    assert average[249] == pytest.approx(np.mean(rewards[150:]))
    assert ax.get_title() == ""


def test_plot_learning_curve_draws_on_given_axes(pyplot):
    fig, (left, right) = pyplot.subplots(1, 2)
    figures_before = pyplot.get_fignums()
    assert plot_learning_curve([1.0, 2.0], ax=right) is right
    assert len(right.get_lines()) == 2
    assert left.get_lines() == []
    assert pyplot.get_fignums() == figures_before  # no new figure


def test_plot_learning_curve_new_figure_when_no_axes(pyplot):
    figures_before = len(pyplot.get_fignums())
    ax = plot_learning_curve([1.0])
    assert len(pyplot.get_fignums()) == figures_before + 1
    assert ax.figure is pyplot.gcf()


@pytest.mark.parametrize(
    ("rewards", "kwargs", "message"),
    [
        ([], {}, "rewards is empty"),
        ([1.0, float("nan")], {}, "finite"),
        ([1.0], {"window": 0}, r"window must be an integer >= 1 \(got 0\)"),
        ([1.0], {"window": 2.5}, r"window must be an integer >= 1 \(got 2.5\)"),
    ],
)
def test_plot_learning_curve_rejects_bad_arguments(pyplot, rewards, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_learning_curve(rewards, **kwargs)
