"""A hand-written controller for RocketLander-v0 (as gymnasium ships ``heuristic`` for LunarLander).

It is not a learner and not part of the original game. It serves two purposes:

* a yardstick: how many of RocketLander-v0's starts can be landed at all with the 7 discrete
  actions (``bench/rocket_feasibility.py`` reports it);
* demonstrations: ``Config.demonstrator`` can name it, and the training loop then stores its
  episodes in the replay memory before learning starts (README, RocketLander).

It reads only the observation, so it plays through any wrapper, an action repeat included.
The plan has three phases, because one action per step cannot brake, steer and straighten at
once, and braking cannot wait: from 0.95 H at 80 units/s, throttling up on every step from the
start stops an upright rocket only about 20 units above the deck (README, feasibility).

1. Brake: throttle up on every step until the throttle is full (100 steps).
2. Full throttle needs no action to hold, so the steps are free until the fall is slow: the
   engine gimbal (a strong torque while the engine burns at full power) turns the rocket
   toward an attitude that steers it over the deck, the side thrusters help when the power is
   low.
3. Descend: the side thrusters hold the attitude, the gimbal goes back to 0, and the throttle
   follows a target descent speed that shrinks with the height, down to a gentle touchdown;
   on the deck the engine is cut.

Spin is what it cannot handle: every start it lands spins slower than 0.2 rad/s (measured on
seeds 0-99); a faster one is still turning when the braking phase ends, and the rocket falls
tilted. Measured landing rates are in the
README (RocketLander).
"""

from __future__ import annotations

import math

import numpy as np

from dqn_tf.envs.rocket_lander import (
    DECK_Y,
    GIMBAL_THRESHOLD,
    LEG_REACH,
    MAIN_ENGINE_POWER,
    MIN_THROTTLE,
    START_SPEED,
    H,
    W,
    engine_power,
)

# Rocket body plus both legs at density 1 (Box2D's masses; tests/test_rocket_heuristic.py).
ROCKET_MASS = 22.96
THRUST_ACCEL = MAIN_ENGINE_POWER / ROCKET_MASS  # units/s^2 at full power (gravity is 10)
GRAVITY = 10.0

# Discrete actions (see rocket_lander): the heuristic returns one of these.
GIMBAL_LEFT, GIMBAL_RIGHT, THROTTLE_UP, THROTTLE_DOWN, SIDE_NEG, SIDE_POS, NOOP = range(7)

# Gains, picked by hand on seeds 0-99 of RocketLander-v0 and on near-deck starts.
KX = 0.15  # wanted horizontal acceleration per unit of offset from the ship centre (1/s^2)
KVX = 0.6  # ... and per unit/s of horizontal speed (1/s)
MAX_TILT = 0.15  # rad: the steering tilt is clipped to this
K_ANGLE = 2.0  # wanted angular velocity per rad of attitude error (1/s)
OMEGA_TOL = 0.03  # rad/s: the side thrusters fire when the angular velocity is further off
K_GIMBAL_ANGLE = 0.6  # gimbal (rad) per rad of attitude error while braking
K_GIMBAL_OMEGA = 0.8  # gimbal (rad) per rad/s of angular velocity while braking
GIMBAL_TOL = 0.02  # rad
FAST = 40.0  # units/s: phase 1 while falling faster than this and the throttle is not full
SLOW = 20.0  # units/s: phase 3 once falling slower than this
K_SPEED = 2.0  # wanted vertical acceleration per unit/s of speed error (1/s)
DESCENT_MIN = 1.5  # units/s: the descent speed at touchdown
DESCENT_PER_HEIGHT = 0.3  # 1/s: the target descent speed grows with the height
THROTTLE_TOL = 0.012


def heuristic(s: np.ndarray) -> int:
    """The controller's discrete action for the observation ``s`` of RocketLander-v0.

    Args:
        s: the 10 observation values (see :mod:`dqn_tf.envs.rocket_lander`).

    Returns:
        An action in [0, 7).
    """
    x = s[0] * W / 2  # units right of the ship centre
    h = (s[1] / 2 + 0.5) * (H - DECK_Y) - LEG_REACH  # leg tips above the deck, roughly
    angle = s[2] * math.pi
    throttle = (s[5] + 1) / 2
    gimbal = s[6] * GIMBAL_THRESHOLD
    vx, vy, omega = s[7] * START_SPEED, s[8] * START_SPEED, s[9]
    power = engine_power(throttle)

    if vy < -FAST and throttle < 1.0:  # phase 1: nothing else matters until braking is full
        return THROTTLE_UP

    # Steering: the engine pushes along -sin(angle), so a wanted acceleration a_x needs the
    # tilt -a_x / thrust (small angles).
    accel_x = -KX * x - KVX * vx
    tilt = float(np.clip(-accel_x / (THRUST_ACCEL * max(power, MIN_THROTTLE)), -MAX_TILT, MAX_TILT))
    omega_wanted = -K_ANGLE * (angle - tilt)

    if vy < -SLOW:  # phase 2
        if power > 0.6:
            # A positive gimbal turns the rocket clockwise (negative angular acceleration).
            gimbal_wanted = K_GIMBAL_ANGLE * (angle - tilt) + K_GIMBAL_OMEGA * omega
            gimbal_wanted = float(np.clip(gimbal_wanted, -GIMBAL_THRESHOLD, GIMBAL_THRESHOLD))
            if abs(gimbal - gimbal_wanted) > GIMBAL_TOL:
                return GIMBAL_LEFT if gimbal_wanted > gimbal else GIMBAL_RIGHT
        if abs(omega - omega_wanted) > OMEGA_TOL:
            return SIDE_NEG if omega > omega_wanted else SIDE_POS
        return THROTTLE_UP if throttle < 1.0 else NOOP

    # Phase 3.
    if abs(omega - omega_wanted) > OMEGA_TOL:
        return SIDE_NEG if omega > omega_wanted else SIDE_POS
    if abs(gimbal) > 0.005:
        return GIMBAL_RIGHT if gimbal > 0 else GIMBAL_LEFT
    v_wanted = -min(DESCENT_MIN + DESCENT_PER_HEIGHT * max(h, 0.0), 60.0)
    accel_wanted = K_SPEED * (v_wanted - vy)
    # Throttle for that acceleration: power = (a + g) / (thrust * cos(angle)), then invert
    # power = MIN_THROTTLE + throttle * (1 - MIN_THROTTLE).
    power_wanted = (accel_wanted + GRAVITY) / (THRUST_ACCEL * max(math.cos(angle), 0.5))
    throttle_wanted = float(np.clip((power_wanted - MIN_THROTTLE) / (1 - MIN_THROTTLE), 0, 1))
    if throttle < throttle_wanted - THROTTLE_TOL:
        return THROTTLE_UP
    if throttle > throttle_wanted + THROTTLE_TOL or (throttle_wanted == 0 and throttle > 0):
        return THROTTLE_DOWN
    return NOOP
