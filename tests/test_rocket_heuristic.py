"""The hand-written RocketLander controller: its physics constants and what it does."""

import gymnasium
import numpy as np
import pytest

import dqn_tf  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.envs import rocket_heuristic as rh
from dqn_tf.envs.rocket_lander import RocketLander


def play(seed: int) -> tuple[dict, list[int]]:
    env = gymnasium.make("RocketLander-v0")
    s, _ = env.reset(seed=seed)
    actions = []
    while True:
        a = rh.heuristic(s)
        actions.append(a)
        s, _, terminated, truncated, info = env.step(a)
        if terminated or truncated:
            env.close()
            return info, actions


def test_mass_is_the_rocket_and_its_legs():
    env = RocketLander()
    env.reset(seed=0)
    mass = env.lander.mass + sum(leg.mass for leg in env.legs)
    assert mass == pytest.approx(rh.ROCKET_MASS, rel=1e-3)
    # Upright at full power the rocket decelerates by thrust - gravity.
    assert rh.THRUST_ACCEL - rh.GRAVITY == pytest.approx(14.39, abs=0.01)


def test_lands_from_a_start_it_can_handle_and_crashes_from_a_spinning_one():
    info, actions = play(17)  # |omega0| = 0.15 rad/s
    assert info["landed"]
    # Phase 1: a hundred "throttle up" in a row take the throttle from 0 to 1.
    assert actions[:100] == [rh.THROTTLE_UP] * 100
    assert set(actions) <= set(range(7))

    info, _ = play(0)  # |omega0| = 1.0 rad/s: still turning when the braking ends
    assert not info["landed"]


def obs(x=0.0, height=0.5, angle=0.0, throttle=0.0, gimbal=0.0, vx=0.0, vy=0.0, omega=0.0):
    """An observation from physical values (units, rad, units/s)."""
    from dqn_tf.envs.rocket_lander import GIMBAL_THRESHOLD, START_SPEED, H, W

    y = height / (H - rh.DECK_Y)
    return np.array(
        [2 * x / W, 2 * (y - 0.5), angle / np.pi, 0, 0, 2 * (throttle - 0.5),
         gimbal / GIMBAL_THRESHOLD, vx / START_SPEED, vy / START_SPEED, omega],
        dtype=np.float32,
    )  # fmt: skip


def test_each_phase_picks_the_hand_worked_action():
    # Phase 1: falling fast with throttle left: throttle up, whatever the attitude.
    assert rh.heuristic(obs(height=200, vy=-70, throttle=0.5, omega=1.0)) == rh.THROTTLE_UP
    # Phase 2 at full throttle, upright over the centre but turning anticlockwise at
    # 0.5 rad/s: the wanted gimbal is 0.8 * 0.5 = 0.4, so the gimbal moves left (+).
    assert rh.heuristic(obs(height=100, vy=-30, throttle=1.0, omega=0.5)) == rh.GIMBAL_LEFT
    # With the gimbal already there, the side thruster helps against the turn ...
    assert rh.heuristic(obs(height=100, vy=-30, throttle=1.0, gimbal=0.4, omega=0.5)) == rh.SIDE_NEG
    # ... and turning within OMEGA_TOL, nothing is left to do: full throttle holds itself.
    assert rh.heuristic(obs(height=100, vy=-30, throttle=1.0, gimbal=0.016, omega=0.02)) == rh.NOOP
    # Phase 3, legs 1.5 units above the deck: the target speed is -(1.5 + 0.3 * 1.5) = -1.95.
    # Falling at 1.5 units/s: wanted accel 2 * (-1.95 + 1.5) = -0.9, power (10 - 0.9) / 24.39
    # = 0.373, below MIN_THROTTLE: the wanted throttle is 0, so the throttle goes down.
    h = 1.5 + rh.LEG_REACH
    assert rh.heuristic(obs(height=h, vy=-1.5, throttle=0.3)) == rh.THROTTLE_DOWN
    # Falling at 11.5: wanted accel 2 * (-1.95 + 11.5) = 19.1, power 29.1 / 24.39 > 1: up.
    assert rh.heuristic(obs(height=h, vy=-11.5, throttle=0.3)) == rh.THROTTLE_UP
    # Phase 3 upright and level, but turning: the side thruster opposes the turn.
    assert rh.heuristic(obs(height=h, vy=-1.5, omega=0.2)) == rh.SIDE_NEG
    assert rh.heuristic(obs(height=h, vy=-1.5, omega=-0.2)) == rh.SIDE_POS
