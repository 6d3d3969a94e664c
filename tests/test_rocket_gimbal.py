"""The RocketLander controller that gimbals against the spin: its actions, phase by phase, two
pinned starts, and its registration as a demonstrator."""

import gymnasium
import numpy as np
import pytest

import dqn_tf  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.envs import rocket_gimbal as rg
from dqn_tf.envs import rocket_heuristic as rh
from dqn_tf.envs.rocket_lander import DECK_Y, GIMBAL_THRESHOLD, LEG_REACH, START_SPEED, H, W
from dqn_tf.presets import DEMONSTRATORS, get_preset, load_demonstrator


def obs(x=0.0, height=200.0, angle=0.0, throttle=0.0, gimbal=0.0, vx=0.0, vy=0.0, omega=0.0):
    """An observation from physical values (units above the deck, rad, units/s)."""
    y = height / (H - DECK_Y)
    return np.array(
        [2 * x / W, 2 * (y - 0.5), angle / np.pi, 0, 0, 2 * (throttle - 0.5),
         gimbal / GIMBAL_THRESHOLD, vx / START_SPEED, vy / START_SPEED, omega],
        dtype=np.float32,
    )  # fmt: skip


def act(**values) -> int:
    return rg.gimbal_controller(obs(**values))


def play(seed: int, policy=rg.gimbal_controller) -> tuple[float, bool, list[int]]:
    env = gymnasium.make("RocketLander-v0")
    s, _ = env.reset(seed=seed)
    omega0 = float(s[9])
    actions = []
    while True:
        actions.append(policy(s))
        s, _, terminated, truncated, info = env.step(actions[-1])
        if terminated or truncated:
            env.close()
            return omega0, bool(info["landed"]), actions


def test_gains_the_hand_worked_cases_use():
    # The numbers below are worked out with these gains; a new tuning must redo them.
    g = rg.GAINS
    assert (g.ramp_k_omega, g.ramp_tol, g.ramp_min_steps) == (1.693, 0.0324, 18.22)
    assert (g.kx, g.k_gimbal_angle, g.k_gimbal_omega, g.gimbal_tol) == (
        0.1225,
        0.2244,
        0.4168,
        0.01492,
    )
    assert (g.fast, g.slow, g.k_speed, g.descent_min, g.descent_per_height) == (
        46.3,
        18.09,
        2.621,
        1.131,
        0.303,
    )
    # 0.045 rad/s per step at full power and gimbal 0.4: 2.7 / sin(0.4) rad/s^2.
    assert rg.SPIN_ACCEL == pytest.approx(6.933, abs=1e-3)


def test_ramp_gimbals_against_the_spin_from_the_first_throttle_up():
    # At the start the engine is off: the gimbal has no torque, so the throttle goes first.
    assert act(vy=-74, omega=0.3) == rh.THROTTLE_UP
    # One throttle-up later (power 0.406), spinning anticlockwise at 0.3 rad/s, upright over
    # the centre: 99 ramp steps (1.65 s) are left, over which a gimbal held at 1 would take
    # out 6.933 * (0.406 + 1) / 2 * 1.65 = 8.04 rad/s; the gimbal wanted is
    # 1.693 * 0.3 / 8.04 = 0.063, further than 0.0324 from 0: it moves left (+), which turns
    # the rocket clockwise, against the spin.
    assert act(vy=-74, throttle=0.01, omega=0.3) == rh.GIMBAL_LEFT
    assert act(vy=-74, throttle=0.01, omega=-0.3) == rh.GIMBAL_RIGHT
    # With the gimbal at 0.04 (within 0.0324 of 0.063) the step goes back to the ramp.
    assert act(vy=-74, throttle=0.01, gimbal=0.04, omega=0.3) == rh.THROTTLE_UP
    # Late in the ramp (throttle 0.9, power 0.94) only max(10, 18.22) steps are counted:
    # 6.933 * 0.97 * 0.304 = 2.04 rad/s per unit gimbal, so 0.3 rad/s wants 0.249: the same
    # gimbal of 0.04 is now too small.
    assert act(vy=-74, throttle=0.9, gimbal=0.04, omega=0.3) == rh.GIMBAL_LEFT
    # No spin, no attitude error: nothing but the ramp.
    assert act(vy=-74, throttle=0.5) == rh.THROTTLE_UP


def test_brake_steers_with_the_gimbal_and_the_side_thrusters():
    # Full throttle, falling at 30 (between 18.09 and 46.3): phase 2. Upright over the
    # centre, turning at 0.5 rad/s: the gimbal wanted is 0.4168 * 0.5 / 1 = 0.208.
    assert act(vy=-30, throttle=1.0, omega=0.5) == rh.GIMBAL_LEFT
    # Gimbal there: the side thruster helps against the turn ...
    assert act(vy=-30, throttle=1.0, gimbal=0.208, omega=0.5) == rh.SIDE_NEG
    # ... and with nothing left to correct, full throttle holds itself.
    assert act(vy=-30, throttle=1.0, gimbal=0.004, omega=0.01) == rh.NOOP
    # 20 units left of the ship centre, at rest sideways: the wanted acceleration
    # 0.1225 * 20 = 2.45 needs the tilt -2.45 / 24.39 = -0.100 rad (clockwise), so the gimbal
    # wanted is 0.2244 * 0.100 = 0.0225 > 0.01492: left (+), turning the rocket clockwise.
    assert act(x=-20, vy=-30, throttle=1.0) == rh.GIMBAL_LEFT


def test_descent_follows_a_speed_that_shrinks_with_the_height():
    h = 1.5 + LEG_REACH  # leg tips 1.5 units above the deck
    # Target speed -(1.131 + 0.303 * 1.5) = -1.59; falling at 1.5: wanted acceleration
    # 2.621 * (-1.59 + 1.5) = -0.22, power 9.78 / 24.39 = 0.401, a throttle of 0.001:
    # the throttle (0.3) goes down.
    assert act(height=h, vy=-1.5, throttle=0.3) == rh.THROTTLE_DOWN
    # Falling at 11.5: wanted acceleration 26.0, power > 1: up.
    assert act(height=h, vy=-11.5, throttle=0.3) == rh.THROTTLE_UP
    # Turning near the deck: the side thrusters oppose the turn before anything else.
    assert act(height=h, vy=-1.5, omega=0.2) == rh.SIDE_NEG
    assert act(height=h, vy=-1.5, omega=-0.2) == rh.SIDE_POS
    # A gimbal left over from braking goes back to 0.
    assert act(height=h, vy=-1.5, gimbal=0.1) == rh.GIMBAL_RIGHT


def test_lands_a_spinning_start_the_heuristic_crashes_and_crashes_a_fast_spinner():
    omega0, landed, actions = play(9)
    assert omega0 == pytest.approx(0.276, abs=1e-3) and landed
    # One throttle-up, then the gimbal against the anticlockwise spin, then the ramp.
    assert actions[:4] == [rh.THROTTLE_UP, rh.GIMBAL_LEFT, rh.GIMBAL_LEFT, rh.THROTTLE_UP]
    assert set(actions) <= set(range(7))
    assert not play(9, rh.heuristic)[1]

    omega0, landed, actions = play(0)  # 1.0 rad/s: beyond what any controller is known to land
    assert omega0 == pytest.approx(-1.014, abs=1e-3) and not landed
    assert actions[1:6] == [rh.GIMBAL_RIGHT] * 5


def test_registered_as_a_demonstrator():
    assert DEMONSTRATORS["rocket_gimbal"] == "dqn_tf.envs.rocket_gimbal:gimbal_controller"
    assert load_demonstrator("rocket_gimbal") is rg.gimbal_controller
    # A run can name it as it names the heuristic.
    config = get_preset("rocket", demonstrator="rocket_gimbal")
    assert config.demonstrator == "rocket_gimbal"
