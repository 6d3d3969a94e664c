"""Tests of the gymnasium port of RocketLander-v0 (dqn_tf.envs.rocket_lander)."""

from __future__ import annotations

import importlib
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dqn_tf  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.envs import rocket_lander as rl
from dqn_tf.envs.rocket_lander import RocketLander

SKY = (126, 150, 233)
WATER = (70, 96, 176)


def _run(env: RocketLander, actions, seed: int):
    """Reset with ``seed``, play ``actions`` until termination; return obs and rewards."""
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated:
            break
    return np.array(observations), np.array(rewards)


def _place_upright_on_deck(env: RocketLander, x: float, clearance: float = 0.02) -> None:
    """Put the rocket upright and at rest with its legs open, ``clearance`` above the deck."""
    lander = env.lander
    lander.position = (x, env.helipad_y + 10)
    lander.angle = 0.0
    lander.linearVelocity = (0, 0)
    lander.angularVelocity = 0.0
    for i, leg in zip((-1, 1), env.legs, strict=True):
        leg.position = lander.GetWorldPoint((i * rl.LEG_AWAY, rl.ROCKET_WIDTH * 0.2))
        # Joint angle at its open limit (+SPRING_ANGLE for the left leg, -SPRING_ANGLE right),
        # where the joint motor holds a deployed leg.
        leg.angle = lander.angle + leg.joint.GetReferenceAngle() - i * rl.SPRING_ANGLE
        leg.linearVelocity = (0, 0)
        leg.angularVelocity = 0.0
    lowest = min((leg.transform * v)[1] for leg in env.legs for v in leg.fixtures[0].shape.vertices)
    shift = env.helipad_y + clearance - lowest
    for body in (lander, *env.legs):
        body.position = (body.position[0], body.position[1] + shift)


# ---------------------------------------------------------------------------------------------
# Spaces and observations
# ---------------------------------------------------------------------------------------------
def test_spaces() -> None:
    discrete = RocketLander()
    assert isinstance(discrete.action_space, gymnasium.spaces.Discrete)
    assert discrete.action_space.n == 7

    continuous = RocketLander(continuous=True)
    assert isinstance(continuous.action_space, gymnasium.spaces.Box)
    assert continuous.action_space.shape == (3,)
    assert continuous.action_space.dtype == np.float32
    np.testing.assert_array_equal(continuous.action_space.low, -1.0)
    np.testing.assert_array_equal(continuous.action_space.high, 1.0)

    space = discrete.observation_space
    assert space.shape == (10,) and space.dtype == np.float32
    np.testing.assert_array_equal(space.high[:7], 1.0)
    np.testing.assert_array_equal(space.low[:7], -1.0)
    assert np.all(np.isinf(space.high[7:])) and np.all(np.isinf(space.low[7:]))
    assert RocketLander.metadata == {"render_modes": ["human", "rgb_array"], "render_fps": 60}


@pytest.mark.parametrize("continuous", [False, True])
def test_random_episode_observations_and_rewards(continuous: bool) -> None:
    env = RocketLander(continuous=continuous)
    env.action_space.seed(7)
    obs, info = env.reset(seed=7)
    assert obs.shape == (10,) and obs.dtype == np.float32
    assert obs in env.observation_space
    assert info == {"landed": False}
    terminated = False
    for _ in range(1000):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs.shape == (10,) and obs.dtype == np.float32
        assert obs in env.observation_space
        assert isinstance(reward, float) and -1.0 <= reward <= 1.0
        assert truncated is False
        assert isinstance(info["landed"], bool)
        if terminated:
            break
    assert terminated, "a random policy should crash well within 1000 steps"
    assert info["landed"] is False


# ---------------------------------------------------------------------------------------------
# Seeding and determinism
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_trajectory() -> None:
    actions = np.random.default_rng(0).integers(0, 7, size=300)
    obs_a, rew_a = _run(RocketLander(), actions, seed=11)
    obs_b, rew_b = _run(RocketLander(), actions, seed=11)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)

    # The same env replays the episode exactly after an unrelated episode in between.
    env = RocketLander()
    _run(env, actions[::-1], seed=99)
    obs_c, rew_c = _run(env, actions, seed=11)
    np.testing.assert_array_equal(obs_a, obs_c)
    np.testing.assert_array_equal(rew_a, rew_c)


def test_different_seeds_different_starts() -> None:
    env = RocketLander()
    starts = [env.reset(seed=seed)[0] for seed in range(5)]
    for i in range(len(starts)):
        for j in range(i + 1, len(starts)):
            assert not np.array_equal(starts[i], starts[j])


def test_rendering_does_not_change_dynamics() -> None:
    # Throttle up (flame, smoke) and side thrusters (puff) exercise every random draw of
    # rendering. Dynamics only draw from np_random at reset, so the second, unseeded episode is
    # where a rendering draw from np_random would show.
    actions = [2] * 80 + [4, 5, 0, 1] * 30
    plain = RocketLander()
    rendered = RocketLander(render_mode="rgb_array")
    for seed in (5, None):
        obs_p, _ = plain.reset(seed=seed)
        obs_r, _ = rendered.reset(seed=seed)
        np.testing.assert_array_equal(obs_p, obs_r)
        for action in actions:
            rendered.render()
            step_p = plain.step(action)
            step_r = rendered.step(action)
            np.testing.assert_array_equal(step_p[0], step_r[0])
            assert step_p[1:] == step_r[1:]
            if step_p[2]:
                break
        assert len(rendered.smoke) > 0
    rendered.close()


def _reset_capturing_start(env: RocketLander, seed: int):
    """``env.reset(seed=seed)``, also returning the rocket's drawn start (position, velocity,
    angular velocity) and the action of reset's no-op step, captured before that step."""
    captured = {}
    real_step = env.step

    def spy(action):
        if not captured:  # reset's no-op step: the rocket's state is still the drawn one
            captured["x"] = env.lander.position[0]
            captured["y"] = env.lander.position[1]
            captured["v"] = tuple(env.lander.linearVelocity)
            captured["w"] = env.lander.angularVelocity
            captured["action"] = action
        return real_step(action)

    env.step = spy
    try:
        obs, _ = env.reset(seed=seed)
    finally:
        env.step = real_step
    return obs, captured


def test_initial_values_drawn_from_np_random_within_original_bounds() -> None:
    for seed in range(20):
        env = RocketLander()
        obs, captured = _reset_capturing_start(env, seed)

        # gymnasium seeds np_random as default_rng(seed); the three draws, in order.
        rng = np.random.default_rng(seed)
        u_x, u_v, u_w = rng.uniform(-0.3, 0.3), rng.uniform(0, 0.4), rng.uniform(-1, 1)
        x0 = rl.W / 2 + rl.W * u_x
        assert captured["action"] == 6
        assert captured["x"] == pytest.approx(x0, abs=1e-4)
        assert captured["y"] == pytest.approx(0.95 * rl.H, abs=1e-4)
        vx = -u_v * rl.START_SPEED * (x0 - rl.W / 2) / rl.W
        assert captured["v"][0] == pytest.approx(vx, abs=1e-4)
        assert captured["v"][1] == pytest.approx(-rl.START_SPEED)
        assert captured["w"] == pytest.approx((1 + rl.INITIAL_RANDOM) * u_w, abs=1e-5)

        # The original bounds, as seen in the observation after the no-op step.
        assert abs(captured["x"] - rl.W / 2) <= 0.3 * rl.W
        assert abs(obs[0]) <= 0.6 + 1e-3  # 2 * x_distance, x0 within W/2 +- 0.3 W
        assert obs[1] == pytest.approx(0.89, abs=0.01)  # starts at 0.95 H
        assert obs[5] == -1.0 and obs[6] == 0.0  # throttle 0, gimbal 0
        assert abs(obs[7]) <= 0.4 * 0.3 + 1e-3  # |vx| / START_SPEED <= INITIAL_RANDOM * 0.3
        # Roughly -START_SPEED: the legs start at rest and share the rocket's momentum.
        assert -1.01 <= obs[8] <= -0.9
        assert abs(obs[9]) <= 1 + rl.INITIAL_RANDOM + 0.05


# ---------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------
def test_continuous_actions_are_clipped() -> None:
    clipped, wild = RocketLander(continuous=True), RocketLander(continuous=True)
    clipped.reset(seed=3)
    wild.reset(seed=3)
    for _ in range(20):
        step_c = clipped.step(np.array([1.0, 1.0, 0.0], dtype=np.float32))
        step_w = wild.step(np.array([40.0, 9.0, 0.0], dtype=np.float32))
        np.testing.assert_array_equal(step_c[0], step_w[0])
        assert step_c[1:] == step_w[1:]
    assert wild.throttle == pytest.approx(20 * 0.5 / rl.FPS)
    assert wild.gimbal == pytest.approx(20 * 0.15 / rl.FPS)


def test_discrete_actions_move_gimbal_and_throttle() -> None:
    env = RocketLander()
    env.reset(seed=0)
    obs, *_ = env.step(2)
    assert obs[5] == pytest.approx(2 * (0.01 - 0.5))
    obs, *_ = env.step(0)
    assert obs[6] == pytest.approx(0.01 / rl.GIMBAL_THRESHOLD)
    for _ in range(100):
        obs, *_ = env.step(1)
    assert obs[6] == pytest.approx(-1.0)  # gimbal clipped at -GIMBAL_THRESHOLD
    with pytest.raises(ValueError):
        env.step(7)


# ---------------------------------------------------------------------------------------------
# Termination and landing
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("continuous", "action"), [(False, 6), (False, 3), (True, np.array([0, -1, 0], np.float32))]
)
def test_free_fall_crashes(continuous: bool, action) -> None:
    env = RocketLander(continuous=continuous)
    env.reset(seed=2)
    steps = 0
    terminated = False
    while not terminated and steps < 1000:
        _, reward, terminated, truncated, info = env.step(action)
        steps += 1
    assert terminated and not truncated
    assert info["landed"] is False
    assert steps < 400  # falling from 0.95 H at START_SPEED takes a few seconds
    assert reward < 0
    assert env.game_over


def test_hard_touchdown_on_the_ship_is_a_crash() -> None:
    env = RocketLander()
    env.reset(seed=0)
    _place_upright_on_deck(env, rl.W / 2, clearance=2.0)
    for body in (env.lander, *env.legs):
        body.linearVelocity = (0, -60)
    for _ in range(120):
        _, reward, terminated, _, info = env.step(6)
        if terminated:
            break
    assert terminated and info["landed"] is False
    assert reward < 0


def test_landing_is_detected() -> None:
    env = RocketLander()
    env.reset(seed=4)
    _place_upright_on_deck(env, rl.W / 2)
    steps = 0
    terminated = False
    while not terminated and steps < 200:
        obs, reward, terminated, truncated, info = env.step(6)
        steps += 1
        assert info["landed"] is terminated  # landed only on the step that ends the episode
    assert terminated and not truncated
    assert info["landed"] is True
    # FPS consecutive landed steps are needed; contact starts after a step or two.
    assert rl.FPS <= steps <= rl.FPS + 5
    assert obs[3] == 1.0 and obs[4] == 1.0
    # The landing reward is 1, plus the terminal term max(-1, -2 (speed+distance+|angle|+|w|)),
    # which is tiny for a rocket at rest on the deck centre.
    x_distance = obs[0] / 2
    y_distance = obs[1] / 2 + 0.5
    distance = np.hypot(3 * x_distance, y_distance)
    speed = np.hypot(obs[7], obs[8])
    expected = 1.0 + max(-1.0, -2 * (speed + distance + abs(obs[2]) + abs(obs[9])))
    assert reward == pytest.approx(expected, abs=1e-5)
    assert reward == pytest.approx(1.0, abs=0.02)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def test_rgb_array_frame() -> None:
    env = RocketLander(render_mode="rgb_array")
    env.reset(seed=1)
    for _ in range(40):
        env.step(2)  # throttle up: the flame shows
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    assert frame.shape == (720, 500, 3) and frame.dtype == np.uint8
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert len(colours) >= 6
    assert SKY in colours and WATER in colours
    assert (230, 230, 230) in colours  # rocket
    assert (255, 230, 107) in colours  # flame
    # y is up: sky on the top row, water on the bottom row.
    assert {tuple(c) for c in frame[0]} == {SKY}
    assert {tuple(c) for c in frame[-1]} == {WATER}
    # The rocket (its white pixels) is above the ship deck.
    rocket_rows = np.nonzero(np.all(frame == (230, 230, 230), axis=2))[0]
    deck_row = rl.VIEWPORT_H - rl.PIXELS_PER_UNIT * env.helipad_y
    assert rocket_rows.max() < deck_row
    env.close()
    env.close()


def test_human_mode_runs_headless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = RocketLander(render_mode="human")
    env.reset(seed=0)
    assert env.screen is not None
    for _ in range(3):
        env.step(2)
    assert env.render() is None
    env.close()
    assert env.screen is None
    env.close()


def test_render_without_mode_warns() -> None:
    env = RocketLander()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


# ---------------------------------------------------------------------------------------------
# Registration and gymnasium API
# ---------------------------------------------------------------------------------------------
def test_registration_after_import_dqn_tf() -> None:
    env = gymnasium.make("RocketLander-v0")
    assert env.spec.max_episode_steps == 1000
    assert env.spec.reward_threshold == 0
    assert env.spec.entry_point == "dqn_tf.envs.rocket_lander:RocketLander"
    assert isinstance(env.unwrapped, RocketLander)
    assert env.action_space.n == 7
    env.close()
    cont = gymnasium.make("RocketLander-v0", continuous=True)
    assert cont.action_space.shape == (3,)
    cont.close()

    # The time limit truncates (checked with a short limit to stay fast).
    short = gymnasium.make("RocketLander-v0", max_episode_steps=3)
    short.reset(seed=0)
    results = [short.step(6) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    short.close()


def test_registration_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(importlib.import_module("dqn_tf.envs"))
    assert "RocketLander-v0" in gymnasium.registry


def test_check_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # check_env also opens the "human" render mode through the spec: keep SDL headless.
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = gymnasium.make("RocketLander-v0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    # The only expected complaints: the velocity entries are unbounded, as in the original.
    messages = [str(w.message) for w in caught if "infinity" not in str(w.message)]
    assert messages == []
    assert len(caught) == 2
    env.close()

    cont = gymnasium.make("RocketLander-v0", continuous=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity")
        check_env(cont.unwrapped, skip_render_check=True)
    cont.close()


# ---------------------------------------------------------------------------------------------
# The named curriculum variant (not the original game)
# ---------------------------------------------------------------------------------------------
def test_curriculum_variant_draws_its_start_height_first_and_scales_the_speed() -> None:
    heights = []
    for seed in range(20):
        env = gymnasium.make("RocketLanderCurriculum-v0").unwrapped
        _, captured = _reset_capturing_start(env, seed)
        # One extra draw, before the original three: the start height fraction.
        rng = np.random.default_rng(seed)
        f = rng.uniform(0.2, 0.95)
        u_x, u_v, u_w = rng.uniform(-0.3, 0.3), rng.uniform(0, 0.4), rng.uniform(-1, 1)
        speed = rl.START_SPEED * f / 0.95
        x0 = rl.W / 2 + rl.W * u_x
        assert captured["y"] == pytest.approx(f * rl.H, abs=1e-4)
        assert captured["x"] == pytest.approx(x0, abs=1e-4)
        assert captured["v"][0] == pytest.approx(-u_v * speed * (x0 - rl.W / 2) / rl.W, abs=1e-4)
        assert captured["v"][1] == pytest.approx(-speed, abs=1e-4)
        assert captured["w"] == pytest.approx((1 + rl.INITIAL_RANDOM) * u_w, abs=1e-5)
        heights.append(captured["y"] / rl.H)
    assert 0.2 <= min(heights) < 0.5 < max(heights) <= 0.95


def test_curriculum_variant_is_its_own_id_and_the_original_is_untouched() -> None:
    variant = gymnasium.make("RocketLanderCurriculum-v0")
    original = gymnasium.make("RocketLander-v0")
    assert variant.unwrapped.start_heights == (0.2, 0.95)
    assert original.unwrapped.start_heights is None
    assert variant.spec.max_episode_steps == original.spec.max_episode_steps == 1000
    # Same seed, different starts: the variant's extra draw moves everything after it.
    a, _ = variant.reset(seed=3)
    b, _ = original.reset(seed=3)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("bad", [(0.1, 0.5), (0.5, 0.3), (0.3, 0.99)])
def test_bad_start_heights_are_named(bad) -> None:
    with pytest.raises(ValueError, match=r"start_heights must be .* got"):
        RocketLander(start_heights=bad)


# ---------------------------------------------------------------------------------------------
# The named near-deck variant (not the original game)
# ---------------------------------------------------------------------------------------------
def test_near_deck_variant_draws_a_coin_then_either_start() -> None:
    near = 0
    for seed in range(30):
        env = gymnasium.make("RocketLanderNearDeck-v0").unwrapped
        _, captured = _reset_capturing_start(env, seed)
        rng = np.random.default_rng(seed)
        if rng.uniform() < 0.5:  # near the deck: six draws in this order
            near += 1
            u_x, u_h = rng.uniform(-0.1, 0.1), rng.uniform(2.0, 60.0)
            u_vx, u_vy = rng.uniform(-3.0, 3.0), rng.uniform(0, 15.0)
            u_w, u_t = rng.uniform(-0.2, 0.2), rng.uniform(0, 1)
            deck = env.shipheight
            assert deck == pytest.approx(rl.DECK_Y)
            assert captured["x"] == pytest.approx(rl.W / 2 + rl.W * u_x, abs=1e-4)
            assert captured["y"] == pytest.approx(deck + rl.LEG_REACH + u_h, abs=1e-4)
            assert captured["v"] == pytest.approx((u_vx, -u_vy), abs=1e-4)
            assert captured["w"] == pytest.approx(u_w, abs=1e-5)
            assert env.throttle == pytest.approx(u_t)
        else:  # the original start, drawn after the coin
            u_x, u_v, u_w = rng.uniform(-0.3, 0.3), rng.uniform(0, 0.4), rng.uniform(-1, 1)
            x0 = rl.W / 2 + rl.W * u_x
            assert captured["y"] == pytest.approx(0.95 * rl.H, abs=1e-4)
            assert captured["x"] == pytest.approx(x0, abs=1e-4)
            vx = -u_v * rl.START_SPEED * (x0 - rl.W / 2) / rl.W
            assert captured["v"] == pytest.approx((vx, -rl.START_SPEED), abs=1e-4)
            assert captured["w"] == pytest.approx((1 + rl.INITIAL_RANDOM) * u_w, abs=1e-5)
            assert env.throttle == 0.0
    assert 8 <= near <= 22


def test_near_deck_variant_is_its_own_id() -> None:
    assert gymnasium.make("RocketLanderNearDeck-v0").unwrapped.near_deck == 0.5
    assert gymnasium.make("RocketLander-v0").unwrapped.near_deck == 0.0


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(near_deck=1.5), r"near_deck must be a probability in \[0, 1\], got 1.5"),
        (dict(near_deck=0.5, start_heights=(0.2, 0.95)), "two different start rules"),
    ],
)
def test_bad_near_deck_is_named(kwargs, needle) -> None:
    with pytest.raises(ValueError, match=needle):
        RocketLander(**kwargs)
