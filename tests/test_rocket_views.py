"""Tests for dqn_tf.envs.rocket_views: close-ups that follow the rocket, the landing plot."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen, no window

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dqn_tf.display import Episode, record_episode  # noqa: E402
from dqn_tf.envs.rocket_views import close_up, plot_landings  # noqa: E402

# --- close_up and RocketLander's rocket_pixel_position -------------------------------------

GREY, RED = (50, 50, 50), (255, 0, 0)
SEPARATOR, ORANGE = (32, 32, 32), (255, 128, 0)
SCENE_H, SCENE_W = 60, 80


def _marked(*pixels: tuple[int, int], channels: int = 3) -> np.ndarray:
    """A grey SCENE_W x SCENE_H frame with a red pixel at each (column, row)."""
    frame = np.full((SCENE_H, SCENE_W, channels), (*GREY, 255)[:channels], np.uint8)
    for col, row in pixels:
        frame[row, col, :3] = RED
    return frame


def _red_pixels(panel: np.ndarray) -> list[tuple[int, int]]:
    rows, cols = np.nonzero(np.all(panel[..., :3] == RED, axis=2))
    return sorted(zip(cols.tolist(), rows.tolist(), strict=True))


# (marker column, row) -> where the 9 x 7 crop puts it: in the middle (4, 3) unless the crop
# stops at an edge of the 80 x 60 frame.
@pytest.mark.parametrize(
    ("marker", "in_crop"),
    [
        ((40, 30), (4, 3)),
        ((13, 50), (4, 3)),
        ((0, 0), (0, 0)),  # top-left corner: the crop starts at the frame's edge
        ((2, 30), (2, 3)),
        ((79, 59), (8, 6)),  # bottom-right corner
        ((40, 57), (4, 4)),  # near the bottom only
    ],
)
def test_close_up_crop_follows_the_point_and_stops_at_edges(marker, in_crop):
    point = (marker[0] + 0.5, marker[1] + 0.5)  # the pixel's centre
    (out,) = close_up([_marked(marker)], [point], size=(9, 7), zoom=2, context_scale=0.5)

    # Context 40 x 30, separator 2, close-up 18 x 14; the close-up is top-aligned.
    assert out.shape == (30, 60, 3) and out.dtype == np.uint8
    magnified = out[:14, 42:]
    col, row = in_crop
    assert _red_pixels(magnified) == [
        (2 * col + dx, 2 * row + dy) for dx in (0, 1) for dy in (0, 1)
    ]
    assert np.all(out[:, 40:42] == SEPARATOR)
    assert np.all(out[14:, 42:] == SEPARATOR)  # under the shorter close-up


def test_close_up_follows_a_moving_point_frame_by_frame():
    markers = [(5, 5), (30, 20), (60, 40), (79, 10)]
    frames = [_marked(m) for m in markers]
    points = [(c + 0.5, r + 0.5) for c, r in markers]
    composed = close_up(frames, points, size=(9, 7), zoom=1, context_scale=0.25, outline=False)
    assert [f.shape for f in composed] == [(15, 20 + 2 + 9, 3)] * 4
    assert [_red_pixels(f[:7, 22:]) for f in composed] == [[(4, 3)], [(4, 3)], [(4, 3)], [(8, 3)]]


def test_close_up_point_outside_the_frame_is_clamped():
    # A rocket that left the world: the crop stays at the nearest edge, nothing wraps round.
    (out,) = close_up([_marked((0, 59), (79, 0))], [(-50.0, 500.0)], size=(9, 7), zoom=1)
    assert _red_pixels(out[:, -9:]) == [(0, 6)]


def test_close_up_draws_the_crop_outline_on_the_scene():
    frame = _marked()
    kwargs = {"size": (20, 14), "zoom": 1, "context_scale": 0.5}
    (plain,) = close_up([frame], [(40.0, 30.0)], outline=False, **kwargs)
    (marked,) = close_up([frame], [(40.0, 30.0)], **kwargs)
    # The crop is columns 30-49 and rows 23-36; on the half-size scene columns 15-24, rows 11-18.
    rows, cols = np.nonzero(np.all(marked[:, :40] == ORANGE, axis=2))
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (15, 24, 11, 18)
    border = np.zeros(marked.shape[:2], bool)
    border[11:19, 15:25] = True
    border[12:18, 16:24] = False
    assert np.array_equal(np.all(marked == ORANGE, axis=2), border)
    assert np.array_equal(marked[~border], plain[~border])  # nothing else changes
    assert np.all(plain[:, :40] == GREY)


def test_close_up_defaults_on_rocket_lander_sized_frames():
    frames = [np.zeros((720, 500, 3), np.uint8)] * 2
    composed = close_up(frames, [(250.0, 360.0), (10.0, 700.0)])
    # The scene at 0.4 (200 x 288), a separator of 2, a 72 x 96 crop at 3x (216 x 288).
    assert [f.shape for f in composed] == [(288, 418, 3)] * 2

    # A taller scene than the close-up: the close-up is padded below.
    (out,) = close_up(frames[:1], [(250.0, 360.0)], context_scale=0.5, outline=False)
    assert out.shape == (360, 250 + 2 + 216, 3)
    assert np.all(out[288:, 252:] == SEPARATOR)
    assert np.all(out[:288, 252:] == 0)


def test_close_up_keeps_rgba_and_takes_an_episode():
    frames = [_marked((10, 10), channels=4), _marked((70, 50), channels=4)]
    points = [(10.5, 10.5), (70.5, 50.5)]
    episode = Episode(frames, 0.0, 2, True, False, focus=points)
    composed = close_up(episode, size=(9, 7), zoom=2)
    # context_scale=None: the scene as tall as the close-up, 80 x 60 -> 19 x 14.
    assert [f.shape for f in composed] == [(14, 19 + 2 + 18, 4)] * 2
    assert np.all(composed[0][..., 3] == 255)
    expected = close_up(frames, points, size=(9, 7), zoom=2)
    assert all(np.array_equal(a, b) for a, b in zip(composed, expected, strict=True))
    # Points given with an Episode replace its focus.
    moved = close_up(episode, [(70.5, 50.5)] * 2, size=(9, 7), zoom=1, context_scale=0.5)
    assert _red_pixels(moved[0][:7, -9:]) == []
    assert _red_pixels(moved[1][:7, -9:]) == [(4, 3)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": (0, 7)}, r"size=\(0, 7\) is not allowed.*80 x 60"),
        ({"size": (81, 7)}, r"size=\(81, 7\)"),
        ({"size": (9, 61)}, r"size=\(9, 61\)"),
        ({"size": (9.5, 7)}, r"size=\(9.5, 7\)"),
        ({"size": 9}, r"size=9\b"),
        ({"zoom": 0.5}, r"zoom=0.5 is not allowed: zoom must be a number >= 1"),
        ({"zoom": float("inf")}, r"zoom=inf"),
        ({"context_scale": 0}, r"context_scale=0 is not allowed"),
        ({"context_scale": 1.5}, r"context_scale=1.5"),
    ],
)
def test_close_up_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        close_up([_marked()], [(1.0, 1.0)], **{"size": (9, 7), **kwargs})


def test_close_up_rejects_bad_frames_and_points():
    frame = _marked()
    with pytest.raises(ValueError, match="frames is empty"):
        close_up([], [])
    with pytest.raises(ValueError, match="needs points with plain frames"):
        close_up([frame])
    with pytest.raises(ValueError, match=r"Episode\.focus is empty.*focus="):
        close_up(Episode([frame], 0.0, 1, True, False))
    with pytest.raises(ValueError, match="2 points for 1 frames"):
        close_up([frame], [(1, 1), (2, 2)])
    with pytest.raises(ValueError, match=r"points\[1\] is \(nan, 2\.0\).*finite"):
        close_up([frame, frame], [(1, 1), (float("nan"), 2)])
    with pytest.raises(ValueError, match=r"points\[0\] is \(1, 2, 3\).*two numbers"):
        close_up([frame], [(1, 2, 3)])
    with pytest.raises(ValueError, match=r"frames\[1\] has shape \(30, 80, 3\).*one size"):
        close_up([frame, frame[:30]], [(1, 1), (1, 1)])


def test_rocket_pixel_position_is_on_the_rocket_in_rendered_frames():
    from dqn_tf.envs.rocket_lander import ROCKET_COLOR
    from dqn_tf.games import make_env

    # Wrapped as the notebook plays it; the method is reached through env.unwrapped.
    env = make_env("RocketLander-v0", render_mode="rgb_array", action_repeat=4)
    try:
        with pytest.raises(RuntimeError, match="reset"):
            env.unwrapped.rocket_pixel_position()
        rng = np.random.default_rng(0)
        episode = record_episode(
            env,
            lambda obs: int(rng.integers(7)),
            seed=17,
            max_steps=40,
            every=5,
            focus=lambda env: env.unwrapped.rocket_pixel_position(),
        )
    finally:
        env.close()

    assert len(episode.focus) == len(episode.frames) == 9  # steps 1, 6, ..., 36 and 40
    for frame, (x, y) in zip(episode.frames, episode.focus, strict=True):
        assert 0 <= x < frame.shape[1] and 0 <= y < frame.shape[0]
        assert tuple(frame[int(y), int(x)]) == ROCKET_COLOR
        # The hull (3 x 39 pixels) is centred on the point, up to its grid fins and leg struts.
        rows, cols = np.nonzero(np.all(frame == ROCKET_COLOR, axis=2))
        assert 30 <= rows.size <= 160
        assert abs(cols.mean() + 0.5 - x) < 1.5 and abs(rows.mean() + 0.5 - y) < 1.5


@pytest.fixture
def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


# --- plot_landings -------------------------------------------------------------------------


def test_plot_landings_rolling_rate_of_training_episodes(pyplot):
    ax = plot_landings([1, 2, 5], 6, window=3, title="RocketLander-v0")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(6))
    # Landed: 0 1 1 0 0 1; the first window - 1 episodes average what has been played.
    np.testing.assert_allclose(line.get_ydata(), [0, 50, 200 / 3, 200 / 3, 100 / 3, 100 / 3])
    assert line.get_label() == "training, last 3 episodes"
    assert ax.get_xlabel() == "training episode"
    assert ax.get_ylabel() == "landed (%)"
    assert ax.get_title() == "RocketLander-v0"
    assert ax.figure.axes == [ax]  # no evaluations, no twin axis
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training, last 3 episodes"]
    top = 1.4 * 200 / 3  # the highest rate, with room above it
    np.testing.assert_allclose(ax.get_ylim(), (-0.03 * top, top))


def test_plot_landings_axis_follows_rare_landings(pyplot):
    # RocketLander lands a few % of episodes: the axis is not 0-100 % then.
    ax = plot_landings([150], 200, [[1_000, -1.0, 1]], eval_episodes=20)  # 1 % and 5 %
    assert ax.get_ylim() == pytest.approx((-0.3, 10.0))  # at least 10 %
    ax = plot_landings(list(range(200)), 200)  # every episode: 100 %, capped at 103
    assert ax.get_ylim() == pytest.approx((-0.03 * 103, 103))


def test_plot_landings_default_window_and_no_landing(pyplot):
    ax = plot_landings(np.arange(0, 300, 2), 300)  # every other episode lands
    rate = ax.get_lines()[0].get_ydata()
    assert ax.get_lines()[0].get_label() == "training, last 100 episodes"
    assert rate[0] == 100.0 and rate[1] == 50.0 and rate[299] == 50.0
    np.testing.assert_array_equal(plot_landings([], 4).get_lines()[0].get_ydata(), [0.0] * 4)


def test_plot_landings_evaluations_on_a_twin_step_axis(pyplot):
    evaluations = [[10_000, -0.4, 0], [20_000, 0.1, 3], [30_000, 0.6, 10]]
    ax = plot_landings([4], 5, evaluations, eval_episodes=10, window=2)
    fig = ax.figure
    assert len(fig.axes) == 2
    twin = fig.axes[1]
    assert twin.get_shared_y_axes().joined(ax, twin)
    (markers,) = twin.get_lines()
    np.testing.assert_array_equal(markers.get_xdata(), [10_000, 20_000, 30_000])
    np.testing.assert_allclose(markers.get_ydata(), [0.0, 30.0, 100.0])
    assert markers.get_linestyle() == "None" and markers.get_marker() == "o"
    assert twin.get_xlabel() == "environment steps (greedy evaluations)"
    assert ax.get_lines()[0].get_color() != markers.get_color()
    # One legend names both, on the twin (drawn over ax, it would cover a legend of ax).
    assert ax.get_legend() is None
    assert [t.get_text() for t in twin.get_legend().get_texts()] == [
        "training, last 2 episodes",
        "greedy evaluation, 10 episodes each",
    ]


def test_plot_landings_evaluations_above_the_episodes_they_followed(pyplot):
    # Episodes of 100, 300, 100, 500 steps end at steps 100, 400, 500, 1000: an evaluation
    # at step 400 comes after episode 1, one at 450 during episode 2, one past the end at
    # the last episode.
    evaluations = [[400, -0.4, 0], [450, 0.1, 3], [1_200, 0.6, 10]]
    ax = plot_landings(
        [3], 4, evaluations, eval_episodes=10, window=2, episode_lengths=[100, 300, 100, 500]
    )
    assert ax.figure.axes == [ax]  # no twin axis
    line, markers = ax.get_lines()
    np.testing.assert_array_equal(markers.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(markers.get_ydata(), [0.0, 30.0, 100.0])
    assert markers.get_linestyle() == "None" and markers.get_marker() == "o"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training, last 2 episodes",
        "greedy evaluation, 10 episodes each",
    ]
    for bad in ([100, 300, 100], [100, 300, 0, 5], [1.5, 2.0, 3.0, 4.0]):
        with pytest.raises(ValueError, match=r"episode_lengths of shape .* n_episodes=4"):
            plot_landings([3], 4, evaluations, eval_episodes=10, episode_lengths=bad)


def test_plot_landings_empty_evaluations_and_given_axes(pyplot):
    fig, (left, right) = pyplot.subplots(1, 2)
    figures_before = pyplot.get_fignums()
    assert plot_landings([0], 1, [], eval_episodes=5, ax=right) is right
    assert fig.axes == [left, right]  # nothing evaluated yet: no twin
    assert left.get_lines() == []
    assert pyplot.get_fignums() == figures_before


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([], 0), {}, r"n_episodes=0 is not allowed"),
        (([], 2.0), {}, r"n_episodes=2\.0 is not allowed"),
        (([6], 6), {}, r"landed_episodes\[0\]=6 is not allowed.*\[0, n_episodes=6\)"),
        (([-1], 6), {}, r"landed_episodes\[0\]=-1"),
        (([3, 2], 6), {}, r"landed_episodes\[1\]=2 is not allowed.*increasing"),
        (([2, 2], 6), {}, r"landed_episodes\[1\]=2"),
        (([1.5], 6), {}, r"landed_episodes\[0\]=1\.5 is not allowed: episode indices are"),
        (([], 6, [[100, 0.5]]), {"eval_episodes": 10}, r"evaluations\[0\]=\[100, 0\.5\]"),
        (([], 6, [[1, 0.5, 2], [2, 0.1, 11]]), {"eval_episodes": 10}, r"evaluations\[1\].*11"),
        (([], 6, [[1, 0.5, -1]]), {"eval_episodes": 10}, r"evaluations\[0\]"),
        (([], 6, [[1, 0.5, 2]]), {}, r"eval_episodes=None is not allowed"),
        (([], 6, [[1, 0.5, 2]]), {"eval_episodes": 0}, r"eval_episodes=0 is not allowed"),
        (([], 6), {"window": 0}, r"window must be an integer >= 1 \(got 0\)"),
    ],
)
def test_plot_landings_rejects_bad_arguments(pyplot, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_landings(*args, **kwargs)
