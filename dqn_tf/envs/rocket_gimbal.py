"""A RocketLander-v0 controller that turns the gimballed main engine against the spin.

``rocket_heuristic`` throttles up for 100 steps before it touches the gimbal, so a rocket
that starts spinning faster than about 0.2 rad/s is still turning when braking ends and
falls tilted. The main engine pushes at the body's origin, 8.29 units below the centre of
mass, so a gimballed engine is the strongest torque the rocket has (0.018 rad/s per step at
minimum power with the gimbal at 0.4, 0.045 at full power, against 0.0065 for a side
thruster). This controller uses it from the first throttle-up on:

1. Ramp: while falling fast and the throttle is not full, each step goes either to the
   throttle or to the gimbal, and every step the throttle loses stops the rocket lower (up
   to 1.2 units: 74 units/s for 1/60 s). So the gimbal aims at the smallest angle that,
   held until the throttle is full while the power grows, takes the spin out, and moves
   only when it is well off that angle: a small gimbal held for a second costs a few
   steps to set, where a PD law that follows the spin costs dozens.
2. Brake: full throttle holds itself, so the steps are free: the gimbal and the side
   thrusters turn the rocket toward a tilt that steers it over the deck.
3. Descend: the side thrusters hold the attitude, the gimbal goes back to 0 and the
   throttle follows a descent speed that shrinks with the height, as in ``rocket_heuristic``.

It reads only the observation, so it plays through any wrapper (an action repeat included)
and keeps no state between episodes. One set of gains (:data:`GAINS`) serves every start;
``bench/tune_gimbal.py`` found them on seeds 0-99, and ``bench/rocket_feasibility.py
--demonstrator rocket_gimbal`` measures them on held-out seeds (README, RocketLander).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dqn_tf.envs.rocket_heuristic import (
    GIMBAL_LEFT,
    GIMBAL_RIGHT,
    GRAVITY,
    NOOP,
    SIDE_NEG,
    SIDE_POS,
    THROTTLE_DOWN,
    THROTTLE_UP,
    THRUST_ACCEL,
)
from dqn_tf.envs.rocket_lander import (
    DECK_Y,
    FPS,
    GIMBAL_THRESHOLD,
    LEG_REACH,
    MIN_THROTTLE,
    START_SPEED,
    H,
    W,
    engine_power,
)


@dataclass(frozen=True)
class Gains:
    """The controller's gains (world units, seconds, radians); the defaults are what
    ``bench/tune_gimbal.py`` found on seeds 0-99, one action per step."""

    # Ramp (phase 1): the gimbal that would bring the spin (and part of the attitude error)
    # to 0 by the end of the ramp if held there, so that it moves as little as possible.
    ramp_k_omega: float = 1.693  # share of the angular velocity to kill
    ramp_k_angle: float = 0.5779  # 1/s: angular velocity wanted per rad of attitude error
    ramp_tol: float = 0.0324  # rad: a gimbal error worth a step taken from the ramp
    # Near the end of the ramp the time left goes to 0 and the wanted gimbal would grow
    # without bound: the time left is counted as at least this many steps.
    ramp_min_steps: float = 18.22
    ramp_steer: float = 0.4348  # share of the steering tilt aimed at during the ramp
    # Steering, in every phase: the wanted horizontal acceleration becomes a tilt.
    kx: float = 0.1225  # 1/s^2 per unit of offset from the ship centre
    kvx: float = 0.666  # 1/s per unit/s of horizontal speed
    max_tilt: float = 0.2588  # rad
    tilt_height: float = 6.854  # units: below this the tilt limit shrinks with the height
    # Brake (phase 2). Divided by the power, as the gimbal's torque grows with it.
    k_gimbal_angle: float = 0.2244  # gimbal * power per rad of attitude error
    k_gimbal_omega: float = 0.4168  # gimbal * power per rad/s
    gimbal_tol: float = 0.01492  # rad
    # Side thrusters (phases 2 and 3): they fire to bring the angular velocity to
    # -k_angle * attitude error, when it is further off than omega_tol.
    k_angle: float = 1.725  # 1/s
    omega_tol: float = 0.02341  # rad/s
    # Phase boundaries: vertical speeds.
    fast: float = 46.3  # units/s: the ramp while falling faster and the throttle not full
    slow: float = 18.09  # units/s: the descent once falling slower
    # Descent (phase 3).
    k_speed: float = 2.621  # wanted vertical acceleration per unit/s of speed error (1/s)
    descent_min: float = 1.131  # units/s at touchdown
    descent_per_height: float = 0.303  # 1/s: the target descent speed grows with the height
    throttle_tol: float = 0.0224


GAINS = Gains()


# Angular acceleration (rad/s^2) of the gimballed engine per unit of power and per unit of
# sin(gimbal): 0.045 rad/s per step at full power and gimbal 0.4 (measured in the port:
# 0.0448 at full power, 0.0182 at one throttle-up, whose power is 0.406).
SPIN_ACCEL = 0.045 * FPS / math.sin(GIMBAL_THRESHOLD)


def _toward(value: float, wanted: float) -> int:
    return GIMBAL_LEFT if wanted > value else GIMBAL_RIGHT


def gimbal_controller(s: np.ndarray, gains: Gains = GAINS) -> int:
    """The controller's discrete action for the observation ``s`` of RocketLander-v0.

    Args:
        s: the 10 observation values (see :mod:`dqn_tf.envs.rocket_lander`).
        gains: the controller's gains (default: :data:`GAINS`, tuned on seeds 0-99).

    Returns:
        An action in [0, 7).
    """
    g = gains
    x = float(s[0]) * W / 2
    h = (float(s[1]) / 2 + 0.5) * (H - DECK_Y) - LEG_REACH  # leg tips above the deck, roughly
    angle = float(s[2]) * math.pi
    throttle = (float(s[5]) + 1) / 2
    gimbal = float(s[6]) * GIMBAL_THRESHOLD
    vx, vy, omega = float(s[7]) * START_SPEED, float(s[8]) * START_SPEED, float(s[9])
    power = engine_power(throttle)

    # The engine pushes along -sin(angle): a wanted horizontal acceleration a needs the tilt
    # -a / thrust (small angles).
    accel_x = -g.kx * x - g.kvx * vx
    tilt = -accel_x / (THRUST_ACCEL * max(power, MIN_THROTTLE))
    # A tilted touchdown puts one leg down first and tips the rocket over.
    max_tilt = g.max_tilt * min(max(h, 0.0) / g.tilt_height, 1.0)
    tilt = min(max(tilt, -max_tilt), max_tilt)
    error = angle - tilt

    if vy < -g.fast and throttle < 1.0:  # phase 1
        if power > 0:
            # The gimbal that, held for the rest of the ramp while the power grows to 1,
            # takes the spin out: steps spent moving it are lost to braking, a gimbal left
            # standing when the throttle is full is not (phase 2 has steps to spare).
            remaining = max((1.0 - throttle) * 100, g.ramp_min_steps) / FPS
            authority = SPIN_ACCEL * (power + 1) / 2 * remaining
            omega_wanted = -g.ramp_k_angle * (angle - g.ramp_steer * tilt)
            # A positive gimbal turns the rocket clockwise, so it opposes a positive spin.
            wanted = g.ramp_k_omega * (omega - omega_wanted) / authority
            wanted = min(max(wanted, -GIMBAL_THRESHOLD), GIMBAL_THRESHOLD)
            if abs(wanted - gimbal) > g.ramp_tol:
                return _toward(gimbal, wanted)
        return THROTTLE_UP

    omega_wanted = -g.k_angle * error
    if vy < -g.slow:  # phase 2
        wanted = (g.k_gimbal_angle * error + g.k_gimbal_omega * omega) / max(power, MIN_THROTTLE)
        wanted = min(max(wanted, -GIMBAL_THRESHOLD), GIMBAL_THRESHOLD)
        if abs(wanted - gimbal) > g.gimbal_tol:
            return _toward(gimbal, wanted)
        if abs(omega - omega_wanted) > g.omega_tol:
            return SIDE_NEG if omega > omega_wanted else SIDE_POS
        return THROTTLE_UP if throttle < 1.0 else NOOP

    # Phase 3.
    if abs(omega - omega_wanted) > g.omega_tol:
        return SIDE_NEG if omega > omega_wanted else SIDE_POS
    if abs(gimbal) > 0.005:
        return GIMBAL_RIGHT if gimbal > 0 else GIMBAL_LEFT
    v_wanted = -min(g.descent_min + g.descent_per_height * max(h, 0.0), 60.0)
    accel_wanted = g.k_speed * (v_wanted - vy)
    # power = (a + g) / (thrust * cos(angle)), then power = MIN_THROTTLE + throttle * 0.6.
    power_wanted = (accel_wanted + GRAVITY) / (THRUST_ACCEL * max(math.cos(angle), 0.5))
    throttle_wanted = min(max((power_wanted - MIN_THROTTLE) / (1 - MIN_THROTTLE), 0.0), 1.0)
    if throttle < throttle_wanted - g.throttle_tol:
        return THROTTLE_UP
    if throttle > throttle_wanted + g.throttle_tol or (throttle_wanted == 0 and throttle > 0):
        return THROTTLE_DOWN
    return NOOP
