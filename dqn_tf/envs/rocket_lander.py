"""RocketLander-v0: land a Falcon-9-style first stage on a drone ship (gymnasium port).

A port of RocketLander from gym-rocketlander, https://github.com/EmbersArc/gym-rocketlander,
by Sven Niederberger, distributed under the MIT licence:

    Copyright (c) 2021 Sven Niederberger

    Permission is hereby granted, free of charge, to any person obtaining a copy of this
    software and associated documentation files (the "Software"), to deal in the Software
    without restriction, including without limitation the rights to use, copy, modify,
    merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
    permit persons to whom the Software is furnished to do so, subject to the following
    conditions:

    The above copyright notice and this permission notice shall be included in all copies
    or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
    INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
    PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
    HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
    CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
    THE USE OR OTHER DEALINGS IN THE SOFTWARE.

The original environment was written for the old ``gym`` API and never shipped with gym or
gymnasium. This module rebuilds it for gymnasium 1.x, keeping every constant, body, joint,
force, observation, reward and termination rule, in the original order of operations.
Rendering uses pygame, as gymnasium's own Box2D environments do, instead of the removed
``gym.envs.classic_control.rendering``.

Observation (10 float32 values):
    0. horizontal offset from the ship centre, ``2 * (x - W/2) / W``
    1. height above the deck, ``2 * (y_distance - 0.5)``
    2. angle in units of pi, wrapped into (-1, 1]
    3. left leg (``legs[0]``) touching, 0 or 1
    4. right leg (``legs[1]``) touching, 0 or 1
    5. throttle, ``2 * (throttle - 0.5)``
    6. engine gimbal, ``gimbal / GIMBAL_THRESHOLD``
    7. horizontal velocity / START_SPEED
    8. vertical velocity / START_SPEED
    9. angular velocity (rad/s)

Discrete actions (7): 0 gimbal left, 1 gimbal right, 2 throttle up, 3 throttle down,
4 side thruster -1, 5 side thruster +1, 6 no-op. Continuous actions (Box(-1, 1, (3,))):
gimbal rate, throttle rate, side thruster (fires when ``|a2| > 0.5``).

Deliberate deviations from the original, each marked ``DEVIATION`` where it happens:
    * every initial value is drawn from ``self.np_random`` (the original drew two of the three
      from numpy's global generator, so seeding did not make it reproducible);
    * continuous actions are clipped to [-1, 1] (the original called ``np.clip`` and dropped
      the result);
    * the first 7 observation entries are clipped to the declared ±1 bounds (the original could
      exceed them by a fraction of a percent, and only on the terminating step);
    * ``info["landed"]`` reports a landing (the original returned an empty info dict);
    * each reset builds a fresh ``b2World`` after destroying the previous bodies (the original
      reused one world), so ``reset(seed=s)`` cannot depend on earlier episodes;
    * rendering randomness (flame length, smoke) comes from a generator of its own, and smoke
      puffs age once per step rather than once per ``render()`` call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import Box2D
import gymnasium as gym
import numpy as np
from Box2D.b2 import (
    contactListener,
    distanceJointDef,
    fixtureDef,
    polygonShape,
    revoluteJointDef,
)
from gymnasium import spaces

if TYPE_CHECKING:  # pygame is imported lazily: training without rendering never loads it.
    import pygame

# ---------------------------------------------------------------------------------------------
# Constants (world units are Box2D metres; time is in simulation steps of 1/FPS s)
# ---------------------------------------------------------------------------------------------
FPS = 60
SCALE_S = 0.35  # temporal scaling: lower is faster; forces below are scaled to match
INITIAL_RANDOM = 0.4  # random scaling of the initial velocity; higher is harder

START_HEIGHT = 800.0
START_SPEED = 80.0
START_FRACTION = 0.95  # the rocket starts at START_FRACTION * H
MIN_START_FRACTION = 0.2  # lowest start of the curriculum variant (well above the deck)
# Near-deck starts (RocketLanderNearDeck-v0 only; not in the original). Heights are of the legs'
# tips above the deck, roughly, in world units: the hull's bottom starts LEG_REACH higher.
NEAR_DECK_HEIGHTS = (2.0, 60.0)
NEAR_DECK_X = 0.1  # |x0 - W/2| <= NEAR_DECK_X * W: over the deck (which spans 0.12 W each side)
NEAR_DECK_FALL = 15.0  # initial downward speed up to this (the original starts at 80)
NEAR_DECK_SIDE = 3.0  # initial horizontal speed within +-this
NEAR_DECK_SPIN = 0.2  # initial angular velocity within +-this rad/s (the original: 1.4)

# Rocket
MIN_THROTTLE = 0.4
GIMBAL_THRESHOLD = 0.4  # rad
MAIN_ENGINE_POWER = 1600 * SCALE_S  # N at full power
SIDE_ENGINE_POWER = 100 / FPS * SCALE_S  # N s per step (applied as an impulse)

ROCKET_WIDTH = 3.66 * SCALE_S
ROCKET_HEIGHT = ROCKET_WIDTH / 3.7 * 47.9
ENGINE_HEIGHT = ROCKET_WIDTH * 0.5
ENGINE_WIDTH = ENGINE_HEIGHT * 0.7
THRUSTER_HEIGHT = ROCKET_HEIGHT * 0.86

# Legs
LEG_LENGTH = ROCKET_WIDTH * 2.2
# How far the open legs reach below the hull, roughly (it grows a little as they settle).
LEG_REACH = 1.5
BASE_ANGLE = -0.27
SPRING_ANGLE = 0.27
LEG_AWAY = ROCKET_WIDTH / 2

# Ship
SHIP_HEIGHT = ROCKET_WIDTH
SHIP_WIDTH = SHIP_HEIGHT * 40

# Viewport (pixels) and world size (world units); both axes share one scale.
VIEWPORT_W = 500
VIEWPORT_H = 720
H = 1.1 * START_HEIGHT * SCALE_S
W = float(VIEWPORT_W) / VIEWPORT_H * H
DECK_Y = H / 20 + SHIP_HEIGHT  # the deck's height (terrain plus ship), the env's shipheight
PIXELS_PER_UNIT = VIEWPORT_H / H

# Smoke, for visuals only (in steps)
MAX_SMOKE_LIFETIME = 2 * FPS

NOOP_DISCRETE = 6

# Colours (0-255 RGB)
SKY_COLOR = (126, 150, 233)
SKY_COLOR_LIGHT = tuple((c + 255) / 2 for c in SKY_COLOR)  # "half transparent" sky
WATER_COLOR = (70, 96, 176)
SHIP_COLOR = (51, 51, 51)  # (0.2, 0.2, 0.2)
CONTAINER_COLOR = (206, 206, 2)
ROCKET_COLOR = (230, 230, 230)
LEG_COLOR = (64, 64, 64)  # (0.25, 0.25, 0.25)
ENGINE_COLOR = (102, 102, 102)  # (0.4, 0.4, 0.4)
FLAME_COLOR = (255, 230, 107)
HELIPAD_COLOR = (206, 206, 2)


class _ContactDetector(contactListener):
    """Turns Box2D contacts into the environment's game-over and leg-contact flags."""

    def __init__(self, env: RocketLander) -> None:
        contactListener.__init__(self)
        self.env = env

    def BeginContact(self, contact: Box2D.b2Contact) -> None:  # noqa: N802 (Box2D callback name)
        bodies = (contact.fixtureA.body, contact.fixtureB.body)
        env = self.env
        fatal = (env.water, env.lander, *env.containers)
        if any(body in bodies for body in fatal):
            env.game_over = True
        else:
            for leg in env.legs:
                if leg in bodies:
                    leg.ground_contact = True

    def EndContact(self, contact: Box2D.b2Contact) -> None:  # noqa: N802 (Box2D callback name)
        bodies = (contact.fixtureA.body, contact.fixtureB.body)
        for leg in self.env.legs:
            if leg in bodies:
                leg.ground_contact = False


def engine_power(throttle: float) -> float:
    """The main engine's power for a throttle in [0, 1]: off at 0, else MIN_THROTTLE to 1."""
    if throttle == 0.0:
        return 0.0
    return MIN_THROTTLE + throttle * (1 - MIN_THROTTLE)


class RocketLander(gym.Env):
    """Land a rocket upright on a drone ship (Box2D, gymnasium API).

    Args:
        render_mode: ``None`` (default, no rendering), ``"human"`` (a pygame window, drawn at
            the end of every ``step``) or ``"rgb_array"`` (``render()`` returns a
            (720, 500, 3) uint8 frame).
        continuous: ``False`` (default) for Discrete(7) actions, ``True`` for
            ``Box(-1, 1, (3,), float32)`` actions.
        start_heights: ``None`` (default: the original game, which starts every episode at
            0.95 H falling at START_SPEED) or ``(low, high)``: each reset draws the start
            height fraction from ``uniform(low, high)`` and scales the start speed with it.
            Not in the original; ``RocketLanderCurriculum-v0`` registers ``(0.2, 0.95)``.
        near_deck: probability (default 0: the original game) that a reset starts the rocket
            close above the deck instead: 2 to 60 units up, over the deck, falling slowly
            with little spin and a random throttle (the ``NEAR_DECK_*`` constants). Other
            resets are the original start. Not in the original; ``RocketLanderNearDeck-v0``
            registers 0.5. Cannot be combined with ``start_heights``.

    An episode terminates when the rocket touches the water or a container, touches anything
    with its hull, breaks a leg, leaves the world, or stands on both legs with
    ``|v| < 0.1 * START_SPEED`` for FPS consecutive steps (a landing, ``info["landed"]``).
    The 1000-step time limit comes from the ``TimeLimit`` wrapper of the registration.
    Rewards lie in [-1, 1].
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(
        self,
        render_mode: str | None = None,
        continuous: bool = False,
        start_heights: tuple[float, float] | None = None,
        near_deck: float = 0.0,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if start_heights is not None:
            lo, hi = start_heights
            if not MIN_START_FRACTION <= lo <= hi <= START_FRACTION:
                raise ValueError(
                    f"start_heights must be (low, high) fractions of the world height with "
                    f"{MIN_START_FRACTION} <= low <= high <= {START_FRACTION}, "
                    f"got {start_heights!r}"
                )
        if not 0.0 <= near_deck <= 1.0:
            raise ValueError(f"near_deck must be a probability in [0, 1], got {near_deck!r}")
        if near_deck > 0 and start_heights is not None:
            raise ValueError(
                f"near_deck={near_deck!r} and start_heights={start_heights!r} are two different "
                f"start rules; give one of them"
            )
        self.render_mode = render_mode
        self.continuous = continuous
        self.start_heights = start_heights
        self.near_deck = near_deck

        high = np.array([1, 1, 1, 1, 1, 1, 1, np.inf, np.inf, np.inf], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        if continuous:
            self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)
        else:
            self.action_space = spaces.Discrete(7)

        self.world: Box2D.b2World | None = None
        self.water: Box2D.b2Body | None = None
        self.ship: Box2D.b2Body | None = None
        self.containers: list[Box2D.b2Body] = []
        self.lander: Box2D.b2Body | None = None
        self.legs: list[Box2D.b2Body] = []

        self.prev_shaping: float | None = None
        self._clear_episode_state()
        self.terrain_height = H / 20
        self.shipheight = self.terrain_height + SHIP_HEIGHT
        self.helipad_x1 = W / 2 - SHIP_WIDTH / 2
        self.helipad_x2 = W / 2 + SHIP_WIDTH / 2
        self.helipad_y = self.shipheight

        # Rendering state. Smoke puffs are [total lifetime, age, size, (x, y)].
        self._render_rng: np.random.Generator | None = None
        self.smoke: list[list[Any]] = []
        self.screen: pygame.Surface | None = None
        self.clock: pygame.time.Clock | None = None

    # -----------------------------------------------------------------------------------------
    # World construction
    # -----------------------------------------------------------------------------------------
    def _clear_episode_state(self) -> None:
        """Controls, counters and flags at the start of an episode."""
        self.game_over = False
        self.prev_shaping = None
        self.throttle = 0.0
        self.gimbal = 0.0
        self.power = 0.0
        self.force_dir = 0
        self.landed_ticks = 0
        self.stepnumber = 0

    def _destroy(self) -> None:
        """Destroy the bodies of the current episode (no-op before the first reset)."""
        if self.world is None or self.water is None:
            return
        self.world.contactListener = None
        for body in (self.water, self.ship, *self.containers, self.lander, *self.legs):
            self.world.DestroyBody(body)
        self.water = self.ship = self.lander = None
        self.containers = []
        self.legs = []

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Rebuild the world, throw the rocket in, and return the observation after one no-op.

        Args:
            seed: seeds ``self.np_random`` (dynamics) and the rendering generator; ``None``
                keeps the current generators (default).
            options: unused, accepted for the gymnasium API.

        Returns:
            ``(observation, info)`` of the no-op step that the original reset performs.
        """
        super().reset(seed=seed)
        # DEVIATION: rendering draws from its own generator so that rendering or not never
        # changes the dynamics' stream. It is derived from the reset seed (spawn key 1 keeps it
        # independent of np_random, which uses the same seed without a spawn key).
        if seed is not None or self._render_rng is None:
            base_seed = self.np_random_seed
            entropy = base_seed if base_seed is not None and base_seed >= 0 else None
            self._render_rng = np.random.default_rng(
                np.random.SeedSequence(entropy, spawn_key=(1,))
            )

        self._destroy()
        # DEVIATION: a fresh world per episode (the original kept one world for the env's life).
        # Nothing of an earlier episode (broad-phase tree, freed proxy ids) can then carry over
        # into contact ordering; no difference from a reused world has been observed.
        self.world = Box2D.b2World()  # gravity (0, -10)
        self.world.contactListener_keepref = _ContactDetector(self)
        self.world.contactListener = self.world.contactListener_keepref

        self._clear_episode_state()
        self.smoke = []

        h_t = H / 20
        self.terrain_height = h_t
        self.shipheight = h_t + SHIP_HEIGHT
        ship_x = W / 2
        self.helipad_x1 = ship_x - SHIP_WIDTH / 2
        self.helipad_x2 = self.helipad_x1 + SHIP_WIDTH
        self.helipad_y = h_t + SHIP_HEIGHT

        # Bodies are created in the original order (it fixes Box2D's solver order).
        self.water = self.world.CreateStaticBody(
            fixtures=fixtureDef(
                shape=polygonShape(vertices=((0, 0), (W, 0), (W, h_t), (0, h_t))),
                friction=0.1,
                restitution=0.0,
            )
        )
        self.ship = self.world.CreateStaticBody(
            fixtures=fixtureDef(
                shape=polygonShape(
                    vertices=(
                        (self.helipad_x1, h_t),
                        (self.helipad_x2, h_t),
                        (self.helipad_x2, h_t + SHIP_HEIGHT),
                        (self.helipad_x1, h_t + SHIP_HEIGHT),
                    )
                ),
                friction=0.5,
                restitution=0.0,
            )
        )
        self.containers = []
        for side in (-1, 1):
            outer_x = ship_x + side * 0.95 * SHIP_WIDTH / 2
            inner_x = outer_x - side * SHIP_HEIGHT
            top = self.helipad_y + SHIP_HEIGHT
            self.containers.append(
                self.world.CreateStaticBody(
                    fixtures=fixtureDef(
                        shape=polygonShape(
                            vertices=(
                                (outer_x, self.helipad_y),
                                (outer_x, top),
                                (inner_x, top),
                                (inner_x, self.helipad_y),
                            )
                        ),
                        friction=0.2,
                        restitution=0.0,
                    )
                )
            )

        # NOT IN THE ORIGINAL, and only in the named variants. RocketLanderCurriculum-v0 draws
        # the start height from ``start_heights`` and scales the start speed with it.
        # RocketLanderNearDeck-v0 starts a ``near_deck`` share of its episodes just above the
        # deck, where a landing is a few seconds of careful descent away (the hand-written
        # controller landed 37 of 40 such starts; random play none of 300), so that a learner
        # meets landings. RocketLander-v0 draws nothing here and starts at 0.95 H and START_SPEED.
        fraction = START_FRACTION
        if self.start_heights is not None:
            fraction = float(self.np_random.uniform(*self.start_heights))
        start_speed = START_SPEED * fraction / START_FRACTION
        near_deck = self.near_deck > 0 and float(self.np_random.uniform()) < self.near_deck
        if near_deck:
            initial_x = W / 2 + W * self.np_random.uniform(-NEAR_DECK_X, NEAR_DECK_X)
            initial_y = self.shipheight + LEG_REACH + self.np_random.uniform(*NEAR_DECK_HEIGHTS)
        else:
            # DEVIATION: the original drew x0 (and the angular velocity) from numpy's global RNG.
            initial_x = W / 2 + W * self.np_random.uniform(-0.3, 0.3)
            initial_y = H * fraction
        self.lander = self.world.CreateDynamicBody(
            position=(initial_x, initial_y),
            angle=0.0,
            fixtures=fixtureDef(
                # The body origin is the bottom centre of the hull: the engine force acts there.
                shape=polygonShape(
                    vertices=(
                        (-ROCKET_WIDTH / 2, 0),
                        (+ROCKET_WIDTH / 2, 0),
                        (ROCKET_WIDTH / 2, +ROCKET_HEIGHT),
                        (-ROCKET_WIDTH / 2, +ROCKET_HEIGHT),
                    )
                ),
                density=1.0,
                friction=0.5,
                categoryBits=0x0010,
                maskBits=0x001,  # collide with the static world only, not with the legs
                restitution=0.0,
            ),
        )

        self.legs = []
        for i in (-1, +1):
            # The leg starts at x0 - i*LEG_AWAY while its joint anchor is at x0 + i*LEG_AWAY:
            # the original's placement, which the joint solver snaps together in the first steps.
            leg = self.world.CreateDynamicBody(
                position=(initial_x - i * LEG_AWAY, initial_y + ROCKET_WIDTH * 0.2),
                angle=i * BASE_ANGLE,
                fixtures=fixtureDef(
                    shape=polygonShape(
                        vertices=(
                            (0, 0),
                            (0, LEG_LENGTH / 25),
                            (i * LEG_LENGTH, 0),
                            (i * LEG_LENGTH, -LEG_LENGTH / 20),
                            (i * LEG_LENGTH / 3, -LEG_LENGTH / 7),
                        )
                    ),
                    density=1,
                    restitution=0.0,
                    friction=0.2,
                    categoryBits=0x0020,
                    maskBits=0x001,
                ),
            )
            leg.ground_contact = False
            revolute = revoluteJointDef(
                bodyA=self.lander,
                bodyB=leg,
                localAnchorA=(i * LEG_AWAY, ROCKET_WIDTH * 0.2),
                localAnchorB=(0, 0),
                enableLimit=True,
                maxMotorTorque=2500.0,
                motorSpeed=-0.05 * i,  # pushes the leg open, against the landing load
                enableMotor=True,
            )
            # pybox2d's def sets referenceAngle = leg angle - rocket angle (i*BASE_ANGLE), so the
            # joint angle starts at 0 and these limits are relative to the initial leg pose;
            # a leg pushed past 0 (see brokenleg in step) counts as broken.
            if i == 1:
                revolute.lowerAngle = -SPRING_ANGLE
                revolute.upperAngle = 0
            else:
                revolute.lowerAngle = 0
                revolute.upperAngle = +SPRING_ANGLE
            # Both anchors are world points at creation. The rocket-side point is the rocket's
            # *local* (i*LEG_AWAY, ROCKET_HEIGHT/8) used as a world point, as in the original;
            # with frequencyHz=0.01 the spring is nearly inert, and it is kept for faithfulness.
            distance = distanceJointDef(
                bodyA=self.lander,
                bodyB=leg,
                anchorA=(i * LEG_AWAY, ROCKET_HEIGHT / 8),
                anchorB=leg.transform * (i * LEG_LENGTH, 0),
                collideConnected=False,
                frequencyHz=0.01,
                dampingRatio=0.9,
            )
            leg.joint = self.world.CreateJoint(revolute)
            leg.joint2 = self.world.CreateJoint(distance)
            self.legs.append(leg)

        if near_deck:
            self.lander.linearVelocity = (
                self.np_random.uniform(-NEAR_DECK_SIDE, NEAR_DECK_SIDE),
                -self.np_random.uniform(0, NEAR_DECK_FALL),
            )
            self.lander.angularVelocity = self.np_random.uniform(-NEAR_DECK_SPIN, NEAR_DECK_SPIN)
            # A braking rocket arrives with its throttle anywhere; the observation shows it.
            self.throttle = float(self.np_random.uniform(0, 1))
        else:
            # DEVIATION (angular velocity): np_random instead of numpy's global generator.
            self.lander.linearVelocity = (
                -self.np_random.uniform(0, INITIAL_RANDOM) * start_speed * (initial_x - W / 2) / W,
                -start_speed,
            )
            self.lander.angularVelocity = (1 + INITIAL_RANDOM) * self.np_random.uniform(-1, 1)

        noop: Any = np.zeros(3, dtype=np.float32) if self.continuous else NOOP_DISCRETE
        obs, _, _, _, info = self.step(noop)
        return obs, info

    # -----------------------------------------------------------------------------------------
    # Dynamics
    # -----------------------------------------------------------------------------------------
    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply one action, advance the world by 1/FPS s, and score the new state.

        Args:
            action: an int in [0, 7) (discrete) or 3 floats (continuous; clipped to [-1, 1]).

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``truncated`` is always
            ``False`` (the time limit is the registration's ``TimeLimit`` wrapper) and
            ``info["landed"]`` is True only on the step that ends the episode with a landing.
        """
        assert self.world is not None and self.lander is not None, "call reset() before step()"

        self.force_dir = 0
        if self.continuous:
            # DEVIATION: the original called np.clip without using its result.
            a = np.clip(np.asarray(action, dtype=np.float64).reshape(3), -1.0, 1.0)
            self.gimbal += float(a[0]) * 0.15 / FPS
            self.throttle += float(a[1]) * 0.5 / FPS
            if a[2] > 0.5:
                self.force_dir = 1
            elif a[2] < -0.5:
                self.force_dir = -1
        else:
            a_int = int(action)
            if not 0 <= a_int < 7:
                raise ValueError(f"discrete action must be in [0, 7), got {action!r}")
            if a_int == 0:
                self.gimbal += 0.01
            elif a_int == 1:
                self.gimbal -= 0.01
            elif a_int == 2:
                self.throttle += 0.01
            elif a_int == 3:
                self.throttle -= 0.01
            elif a_int == 4:
                self.force_dir = -1
            elif a_int == 5:
                self.force_dir = 1

        self.gimbal = min(max(self.gimbal, -GIMBAL_THRESHOLD), GIMBAL_THRESHOLD)
        self.throttle = min(max(self.throttle, 0.0), 1.0)
        self.power = engine_power(self.throttle)

        lander = self.lander
        angle = lander.angle
        # Main engine: thrust along the gimballed rocket axis, applied at the body origin.
        force = (
            -math.sin(angle + self.gimbal) * MAIN_ENGINE_POWER * self.power,
            math.cos(angle + self.gimbal) * MAIN_ENGINE_POWER * self.power,
        )
        lander.ApplyForce(force=force, point=tuple(lander.position), wake=False)

        # Side thruster: an impulse near the top. The point uses (sin, cos) rather than the
        # rocket axis (-sin, cos): the original's sign convention, kept on purpose.
        pos = lander.position
        thruster_pos = (
            pos[0] + THRUSTER_HEIGHT * math.sin(angle),
            pos[1] + THRUSTER_HEIGHT * math.cos(angle),
        )
        impulse = (
            -self.force_dir * math.cos(angle) * SIDE_ENGINE_POWER,
            self.force_dir * math.sin(angle) * SIDE_ENGINE_POWER,
        )
        lander.ApplyLinearImpulse(impulse=impulse, point=thruster_pos, wake=False)

        self.world.Step(1.0 / FPS, 60, 60)

        pos = lander.position
        vel_l = np.array(lander.linearVelocity) / START_SPEED
        vel_a = lander.angularVelocity
        x_distance = (pos.x - W / 2) / W
        y_distance = (pos.y - self.shipheight) / (H - self.shipheight)
        angle_n = (lander.angle / np.pi) % 2
        if angle_n > 1:
            angle_n -= 2
        leg0, leg1 = self.legs

        state = [
            2 * x_distance,
            2 * (y_distance - 0.5),
            angle_n,
            1.0 if leg0.ground_contact else 0.0,
            1.0 if leg1.ground_contact else 0.0,
            2 * (self.throttle - 0.5),
            self.gimbal / GIMBAL_THRESHOLD,
            vel_l[0],
            vel_l[1],
            vel_a,
        ]

        # Reward and termination, in the original order.
        distance = np.linalg.norm((3 * x_distance, y_distance))  # x weighted more
        speed = np.linalg.norm(vel_l)
        groundcontact = leg0.ground_contact or leg1.ground_contact
        brokenleg = (leg0.joint.angle < 0 or leg1.joint.angle > 0) and groundcontact
        outside = abs(pos.x - W / 2) > W / 2 or pos.y > H
        fuelcost = 0.1 * (0.5 * self.power + abs(self.force_dir)) / FPS
        landed = leg0.ground_contact and leg1.ground_contact and speed < 0.1

        terminated = False
        landing = False
        reward = -fuelcost

        if outside or brokenleg:
            self.game_over = True

        if self.game_over:
            terminated = True
        else:
            shaping = -0.5 * (distance + speed + abs(angle_n) ** 2 + abs(vel_a) ** 2)
            shaping += 0.1 * (leg0.ground_contact + leg1.ground_contact)
            if self.prev_shaping is not None:
                reward += shaping - self.prev_shaping
            self.prev_shaping = shaping

            if landed:
                self.landed_ticks += 1
            else:
                self.landed_ticks = 0
            if self.landed_ticks == FPS:
                reward = 1.0
                terminated = True
                landing = True

        if terminated:
            reward += max(-1, 0 - 2 * (speed + distance + abs(angle_n) + abs(vel_a)))

        reward = float(np.clip(reward, -1, 1))

        self.stepnumber += 1

        obs = np.array(state, dtype=np.float32)
        # DEVIATION: keep the observation inside observation_space. Only a terminating step
        # (rocket in the water, outside, or above H) can exceed ±1, by well under 1%.
        np.clip(obs[:7], -1.0, 1.0, out=obs[:7])

        if self.render_mode is not None:
            self._update_smoke()
            if self.render_mode == "human":
                self.render()

        # DEVIATION: the original returned {}; evaluations count landings from info["landed"].
        return obs, reward, terminated, False, {"landed": landing}

    # -----------------------------------------------------------------------------------------
    # Rendering
    # -----------------------------------------------------------------------------------------
    def _update_smoke(self) -> None:
        """Emit a smoke puff every FPS/10 steps while the engine burns; age and expire puffs."""
        assert self.lander is not None and self._render_rng is not None
        rng = self._render_rng
        if self.stepnumber % round(FPS / 10) == 0 and self.power > 0:
            thrust_angle = self.lander.angle + self.gimbal
            position = (
                np.array(self.lander.position)
                + self.power
                * ROCKET_WIDTH
                * 10
                * np.array((math.sin(thrust_angle), -math.cos(thrust_angle)))
                + self.power * 5 * (rng.random(2) - 0.5)
            )
            size = self.power * (1 + 0.2 * rng.random())
            self.smoke.append([MAX_SMOKE_LIFETIME * self.power, 0, size, position])
        for puff in self.smoke:
            puff[1] += 1
        # The original removed puffs while iterating (skipping the next one); filter instead.
        self.smoke = [puff for puff in self.smoke if puff[1] <= puff[0]]

    def rocket_pixel_position(self) -> tuple[float, float]:
        """The rocket's centre of mass in the pixel coordinates of ``render()``'s frames.

        For following the rocket in a close-up (``dqn_tf.envs.rocket_views.close_up``): at
        full size the rocket is a 3 x 39 pixel sliver in a 500 x 720 frame. Reach it through
        ``env.unwrapped`` when the environment is wrapped.

        Returns:
            ``(x, y)`` in pixels, x to the right from the left edge and y down from the top
            (``render()`` draws y-up, then flips). It is the hull's centre of mass, the legs
            (separate bodies) not included, and it is not clipped to the frame: a rocket
            leaving the world gives a point outside it.

        Raises:
            RuntimeError: called before ``reset()``.
        """
        if self.lander is None:
            raise RuntimeError("rocket_pixel_position() needs a rocket: call reset() first")
        center = self.lander.worldCenter
        return (
            float(center[0] * PIXELS_PER_UNIT),
            float(VIEWPORT_H - center[1] * PIXELS_PER_UNIT),
        )

    def _rocket_points(
        self, points: list[tuple[float, float]], gimbal: float = 0.0
    ) -> list[tuple[float, float]]:
        """Map points in the rocket frame (turned by ``gimbal`` first) to y-up pixels."""
        assert self.lander is not None
        c, s = math.cos(gimbal), math.sin(gimbal)
        transform = self.lander.transform
        out = []
        for x, y in points:
            world = transform * (c * x - s * y, s * x + c * y)
            out.append((world[0] * PIXELS_PER_UNIT, world[1] * PIXELS_PER_UNIT))
        return out

    def render(self) -> np.ndarray | None:
        """Draw the current state.

        Returns:
            For ``render_mode="rgb_array"`` a (720, 500, 3) uint8 frame (row 0 is the top of the
            sky); ``None`` for ``"human"`` (the window is updated at ``render_fps``) and when no
            render mode was given (with a warning, as gymnasium's environments do).
        """
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'You can specify the render_mode at initialization, e.g. gymnasium.make("'
                f'{self.spec.id if self.spec else "RocketLander-v0"}", render_mode="rgb_array")'
            )
            return None
        assert self.lander is not None and self._render_rng is not None, "call reset() first"

        try:
            import pygame
            from pygame import gfxdraw
        except ImportError as e:  # pragma: no cover - pygame ships with gymnasium[box2d]
            raise gym.error.DependencyNotInstalled(
                'pygame is not installed, run `pip install "gymnasium[box2d]"`'
            ) from e

        if self.render_mode == "human" and self.screen is None:
            pygame.display.init()
            self.screen = pygame.display.set_mode((VIEWPORT_W, VIEWPORT_H))
        if self.clock is None:
            self.clock = pygame.time.Clock()

        scale = PIXELS_PER_UNIT
        # Drawn y-up in world orientation, flipped to image orientation at the end.
        surf = pygame.Surface((VIEWPORT_W, VIEWPORT_H))

        def polygon(points: list[tuple[float, float]], color: tuple[float, ...]) -> None:
            color = tuple(int(round(c)) for c in color)
            pygame.draw.polygon(surf, color, points)
            gfxdraw.aapolygon(surf, points, color)

        def body_polygons(body: Box2D.b2Body, color: tuple[int, int, int]) -> None:
            transform = body.transform
            for fixture in body.fixtures:
                path = [transform * v for v in fixture.shape.vertices]
                polygon([(p[0] * scale, p[1] * scale) for p in path], color)

        surf.fill(SKY_COLOR)

        # Drawing order follows the original viewer: its permanent geometry (engine nozzle,
        # side-thruster puff), then smoke, flame, grid fins, bodies, leg struts, helipad line.
        polygon(
            self._rocket_points(
                [(0, 0), (ENGINE_WIDTH / 2, -ENGINE_HEIGHT), (-ENGINE_WIDTH / 2, -ENGINE_HEIGHT)],
                self.gimbal,
            ),
            ENGINE_COLOR,
        )
        if self.force_dir != 0:
            d = self.force_dir  # the puff is mirrored onto the side the gas leaves from
            polygon(
                self._rocket_points(
                    [
                        (d * ROCKET_WIDTH / 2, THRUSTER_HEIGHT * 1),
                        (d * ROCKET_WIDTH * 3, THRUSTER_HEIGHT * 1.03),
                        (d * ROCKET_WIDTH * 4, THRUSTER_HEIGHT * 1),
                        (d * ROCKET_WIDTH * 3, THRUSTER_HEIGHT * 0.97),
                    ]
                ),
                SKY_COLOR_LIGHT,
            )

        sky = np.array(SKY_COLOR, dtype=np.float64)
        sky_light = np.array(SKY_COLOR_LIGHT, dtype=np.float64)
        for lifetime, age, size, position in self.smoke:
            # Puffs rise, grow, and fade in and out between the sky and a lighter sky.
            color = sky + (1 - (2 * age / lifetime - 1) ** 2) / 3 * (sky_light - sky)
            center = (position[0] * scale, (position[1] + H * age / 2000) * scale)
            radius = (0.05 * age + size) * scale
            pygame.draw.circle(surf, tuple(int(round(c)) for c in color), center, radius)

        stretch = self.power * self._render_rng.uniform(1, 1.3)
        if self.power > 0:
            flame = [
                (ENGINE_WIDTH * 0.4, 0),
                (-ENGINE_WIDTH * 0.4, 0),
                (-ENGINE_WIDTH * 1.2, -ENGINE_HEIGHT * 5),
                (0, -ENGINE_HEIGHT * 8),
                (ENGINE_WIDTH * 1.2, -ENGINE_HEIGHT * 5),
            ]
            # Stretched vertically, then moved below the nozzle, then turned with the gimbal.
            flame = [(x, y * stretch - ENGINE_HEIGHT) for x, y in flame]
            polygon(self._rocket_points(flame, self.gimbal), FLAME_COLOR)

        for i in (-1, 1):
            fin = [
                (i * ROCKET_WIDTH * 1.1, THRUSTER_HEIGHT * 1.01),
                (i * ROCKET_WIDTH * 0.4, THRUSTER_HEIGHT * 1.01),
                (i * ROCKET_WIDTH * 0.4, THRUSTER_HEIGHT * 0.99),
                (i * ROCKET_WIDTH * 1.1, THRUSTER_HEIGHT * 0.99),
            ]
            polygon(self._rocket_points(fin), LEG_COLOR)

        for leg in self.legs:
            body_polygons(leg, LEG_COLOR)
        body_polygons(self.water, WATER_COLOR)
        body_polygons(self.ship, SHIP_COLOR)
        for container in self.containers:
            body_polygons(container, CONTAINER_COLOR)
        body_polygons(self.lander, ROCKET_COLOR)

        for i, leg in zip((-1, 1), self.legs, strict=True):
            start = self.lander.transform * (i * ROCKET_WIDTH / 2, ROCKET_HEIGHT / 8)
            end = leg.transform * (i * LEG_LENGTH * 0.8, 0)
            pygame.draw.line(
                surf,
                LEG_COLOR,
                (start[0] * scale, start[1] * scale),
                (end[0] * scale, end[1] * scale),
                1,
            )
        pygame.draw.line(
            surf,
            HELIPAD_COLOR,
            (self.helipad_x2 * scale, self.helipad_y * scale),
            (self.helipad_x1 * scale, self.helipad_y * scale),
            1,
        )

        surf = pygame.transform.flip(surf, False, True)

        if self.render_mode == "human":
            assert self.screen is not None
            self.screen.blit(surf, (0, 0))
            pygame.event.pump()
            self.clock.tick(self.metadata["render_fps"])
            pygame.display.flip()
            return None
        return np.transpose(np.array(pygame.surfarray.pixels3d(surf)), axes=(1, 0, 2))

    def close(self) -> None:
        """Close the window (human mode) and release pygame; safe to call more than once."""
        if self.screen is not None:
            import pygame

            pygame.display.quit()
            pygame.quit()
            self.screen = None
        self.clock = None
