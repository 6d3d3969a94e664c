"""Tune the gains of ``dqn_tf.envs.rocket_gimbal`` with the cross-entropy method.

    python bench/tune_gimbal.py [--seeds 0 100] [--iterations 12] [--population 16]
                                [--elite 4] [--sigma 0.3] [--rng 0] [--repeat 1]
                                [--from-gains]

One gain set for all starts: each candidate plays RocketLander-v0 from ``reset(seed=s)``
for every s in ``range(*--seeds)``, deciding on every ``--repeat``-th step, and scores the
number of landings (``info["landed"]``). The search works on the logarithms of the gains
(all are positive), starting from :data:`START` (``--from-gains`` starts from
``rocket_gimbal.GAINS`` instead, to refine them); each iteration keeps the
``--elite`` best of ``--population`` candidates (the current mean among them) and refits a
normal distribution to them. It prints every iteration, the best gains as a ``Gains(...)``
to paste into ``rocket_gimbal.py``, and the command. Single process: 11-15 minutes with
the defaults.

Only tuning seeds are played here; ``bench/rocket_feasibility.py --demonstrator
rocket_gimbal`` measures the result on held-out ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence

import numpy as np

import dqn_tf  # noqa: F401  (registers RocketLander-v0)
from dqn_tf.envs.rocket_gimbal import GAINS, Gains, gimbal_controller
from dqn_tf.games import make_env

NAMES = [f.name for f in dataclasses.fields(Gains)]

# Where the search for rocket_gimbal.GAINS started (30/100 on seeds 0-99): the steering,
# braking and descent gains that an earlier search found for the same controller with a
# simpler ramp law (a PD law's gimbal divided by the power: 22/100), and ramp gains picked
# by hand from a few trials.
START = Gains(
    ramp_k_omega=1.3,
    ramp_k_angle=0.5,
    ramp_tol=0.03,
    ramp_min_steps=20.0,
    ramp_steer=0.5,
    kx=0.1489,
    kvx=0.7423,
    max_tilt=0.2088,
    tilt_height=10.0,
    k_gimbal_angle=0.2572,
    k_gimbal_omega=0.4533,
    gimbal_tol=0.01507,
    k_angle=1.846,
    omega_tol=0.02715,
    fast=43.66,
    slow=22.43,
    k_speed=1.831,
    descent_min=1.091,
    descent_per_height=0.2667,
    throttle_tol=0.01061,
)


def landings(gains: Gains, seeds: Sequence[int], repeat: int = 1) -> int:
    """How many of the starts ``reset(seed=s)`` the controller with ``gains`` lands."""
    env = make_env("RocketLander-v0", action_repeat=repeat)
    landed = 0
    for seed in seeds:
        s, _ = env.reset(seed=seed)
        while True:
            s, _, terminated, truncated, info = env.step(gimbal_controller(s, gains))
            if terminated or truncated:
                break
        landed += bool(info.get("landed"))
    env.close()
    return landed


def to_gains(log_values: np.ndarray) -> Gains:
    return Gains(**{name: float(np.exp(v)) for name, v in zip(NAMES, log_values, strict=True)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=[0, 100], metavar=("FROM", "TO"))
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--elite", type=int, default=4)
    parser.add_argument("--sigma", type=float, default=0.3, help="initial std of log gains")
    parser.add_argument("--rng", type=int, default=0, help="seed of the search's generator")
    parser.add_argument("--repeat", type=int, default=1, help="decide every this many steps")
    parser.add_argument(
        "--from-gains", action="store_true", help="start from rocket_gimbal.GAINS, not START"
    )
    args = parser.parse_args()
    command = (
        f"python bench/tune_gimbal.py --seeds {args.seeds[0]} {args.seeds[1]} "
        f"--iterations {args.iterations} --population {args.population} --elite {args.elite} "
        f"--sigma {args.sigma} --rng {args.rng} --repeat {args.repeat}"
        + (" --from-gains" if args.from_gains else "")
    )
    print(command, flush=True)
    seeds = range(*args.seeds)
    rng = np.random.default_rng(args.rng)
    start = GAINS if args.from_gains else START
    mean = np.log([getattr(start, name) for name in NAMES])
    std = np.full(len(NAMES), args.sigma)
    best_score = landings(start, seeds, args.repeat)
    best = mean.copy()
    label = "rocket_gimbal.GAINS" if args.from_gains else "START"
    print(f"start ({label}): {best_score}/{len(seeds)} landings", flush=True)
    started = time.perf_counter()
    for iteration in range(args.iterations):
        candidates = [mean] + [
            mean + std * rng.standard_normal(len(NAMES)) for _ in range(args.population - 1)
        ]
        scores = np.array([landings(to_gains(c), seeds, args.repeat) for c in candidates])
        order = np.argsort(-scores, kind="stable")
        elite = np.array([candidates[i] for i in order[: args.elite]])
        if scores[order[0]] > best_score:
            best_score, best = int(scores[order[0]]), candidates[order[0]].copy()
        mean = elite.mean(axis=0)
        # A floor keeps the search from collapsing onto one lucky candidate.
        std = np.maximum(elite.std(axis=0), 0.05)
        print(
            f"iteration {iteration + 1}: mean's candidate {scores[0]}, best {scores[order[0]]}, "
            f"elite {sorted(scores.tolist(), reverse=True)[: args.elite]}, "
            f"best so far {best_score} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    final = landings(to_gains(mean), seeds, args.repeat)
    print(f"final mean: {final}/{len(seeds)} landings; best candidate: {best_score}/{len(seeds)}")
    chosen = best if best_score >= final else mean
    gains = to_gains(chosen)
    print("Gains(")
    for name in NAMES:
        print(f"    {name}={getattr(gains, name):.4g},")
    print(")")
    print(command)


if __name__ == "__main__":
    main()
