"""How much room RocketLander-v0 leaves a discrete-action agent: brake as hard as possible.

    python bench/rocket_feasibility.py [--episodes 100] [--repeat 4 8] [--json]
    python bench/rocket_feasibility.py --run-dir runs/rocket --weights best [--episodes 100]

The rocket starts 0.95 H up at 80 m/s downwards (74 m/s after the first step, when the legs
take their share of the momentum), with throttle 0. One discrete action moves the throttle
by only 0.01, so full thrust is 100 steps away, and the same single action per step must
also steer (gimbal, side thrusters). This script plays the hardest possible braking, action
2 (throttle up) on every step and nothing else, from ``--episodes`` seeded starts, and
reports:

* how many of those starts come to a stop (vertical velocity >= 0) above the deck at all,
  and at what height; a policy that spends any step on steering stops lower, or not at all;
* the same split by the initial angular velocity |omega0| (uniform in [0, 1.4] rad/s): the
  rocket turns while the throttle ramps up, and thrust along a tilted axis brakes less;
* the net deceleration at full throttle with the rocket upright, measured in the game.

It then plays the hand-written controller ``dqn_tf.envs.rocket_heuristic.heuristic`` from
the same starts, once deciding on every step and once per action repeat of ``--repeat``
(default 4 and 8, as a DQN agent with that action repeat must), and counts its landings, by
|omega0| as well: a yardstick for what a discrete-action policy can land at all.

With ``--run-dir`` it also plays a trained agent greedily from the same starts and counts
how often it brakes to a stop above the deck, and how often it lands, so the two can be
compared: braking is the half of the task a DQN learns first.

It trains nothing and takes a few seconds (a minute with an agent). The README's
RocketLander section quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import dqn_tf  # noqa: E402, F401  (registers RocketLander-v0)
from dqn_tf.envs import rocket_lander as rl  # noqa: E402
from dqn_tf.envs.rocket_heuristic import heuristic  # noqa: E402

THROTTLE_UP = 2
SPIN_BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.7), (0.7, 1.41))


def height_above_deck(env: rl.RocketLander) -> float:
    return float(env.lander.position.y - env.shipheight)


def brake(env: gym.Env, seed: int) -> dict[str, float | bool]:
    """Throttle up on every step from ``reset(seed=seed)`` until the rocket stops or the
    episode ends."""
    obs, _ = env.reset(seed=seed)
    game = env.unwrapped
    out: dict[str, float | bool] = {"omega0": abs(float(obs[9])), "stopped": False}
    decel = []
    for _ in range(1000):
        v_before = float(game.lander.linearVelocity.y)
        obs, _, terminated, truncated, _ = env.step(THROTTLE_UP)
        v_after = float(game.lander.linearVelocity.y)
        if game.throttle >= 1.0 and abs(game.lander.angle) < 0.02:
            decel.append((v_after - v_before) * rl.FPS)
        if terminated or truncated:  # a crash can bounce: check it before the velocity
            break
        if v_after >= 0:
            out["stopped"] = True
            out["height"] = height_above_deck(game)
            break
    if decel:
        out["upright_full_throttle_decel"] = float(np.mean(decel))
    return out


def by_initial_spin(records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """How many records have ``key`` true, per bin of the initial spin |omega0|."""
    out = []
    for lo, hi in SPIN_BINS:
        group = [r for r in records if lo <= r["omega0"] < hi]
        out.append({"omega0": [lo, hi], "starts": len(group), key: sum(r[key] for r in group)})
    return out


def heuristic_landings(env: gym.Env, episodes: int, repeat: int) -> list[dict[str, Any]]:
    """The heuristic from ``reset(seed=0..episodes-1)``, deciding every ``repeat`` steps."""
    results = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        omega0 = abs(float(obs[9]))
        step, info = 0, {}
        while True:
            if step % repeat == 0:
                action = heuristic(obs)
            obs, _, terminated, truncated, info = env.step(action)
            step += 1
            if terminated or truncated:
                break
        results.append({"omega0": omega0, "landed": bool(info.get("landed"))})
    return results


def agent_run(run_dir: Path, weights: str, episodes: int) -> dict[str, Any]:
    """Greedy episodes of the agent saved in ``run_dir`` from ``reset(seed=0..episodes-1)``:
    how many reach vertical velocity >= 0 above the deck (checked after each decision), and
    how many land."""
    from dqn_tf.cli import _load_run
    from dqn_tf.environment import BEST_WEIGHTS_FILE, WEIGHTS_FILE, Environment

    config, _ = _load_run(run_dir)
    # A run trained on a named variant is measured on the original game.
    config = config.replace(env="RocketLander-v0", eval_env="")
    env = Environment(config=config, seed=0, run_dir=run_dir, summaries=False)
    env.agent.load_weights(run_dir / (BEST_WEIGHTS_FILE if weights == "best" else WEIGHTS_FILE))
    game = env.env.unwrapped
    records = []
    for seed in range(episodes):
        obs, _ = env.env.reset(seed=seed)
        omega0 = abs(float(obs[9]))
        has_stopped = False
        while True:
            obs, _, terminated, truncated, info = env.env.step(env.agent.act(obs, 0.0))
            if terminated or truncated:
                break
            if not has_stopped and game.lander.linearVelocity.y >= 0:
                has_stopped = True
        records.append(
            {"omega0": omega0, "stopped": has_stopped, "landed": bool(info.get("landed"))}
        )
    env.close()
    return {
        "run_dir": str(run_dir),
        "weights": weights,
        "stopped": sum(r["stopped"] for r in records),
        "landed": sum(r["landed"] for r in records),
        "landed_by_initial_spin": by_initial_spin(records, "landed"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--repeat", type=int, nargs="*", default=[4, 8])
    parser.add_argument("--run-dir", type=Path, help="also play the agent of this run")
    parser.add_argument("--weights", choices=("final", "best"), default="best")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    env = gym.make("RocketLander-v0")
    results = [brake(env, seed) for seed in range(args.episodes)]
    controller = {
        repeat: heuristic_landings(env, args.episodes, repeat) for repeat in [1, *args.repeat]
    }
    env.close()
    stopped = [r for r in results if r["stopped"]]
    heights = sorted(float(r["height"]) for r in stopped)
    decels = [
        r["upright_full_throttle_decel"] for r in results if "upright_full_throttle_decel" in r
    ]
    by_spin = by_initial_spin(results, "stopped")
    heuristic_report = [
        {
            "repeat": repeat,
            "landed": sum(r["landed"] for r in runs),
            "by_initial_spin": by_initial_spin(runs, "landed"),
        }
        for repeat, runs in controller.items()
    ]
    report = {
        "command": f"python bench/rocket_feasibility.py --episodes {args.episodes} "
        f"--repeat {' '.join(map(str, args.repeat))}",
        "episodes": args.episodes,
        "stopped_above_deck": len(stopped),
        "stop_height_min": heights[0] if heights else None,
        "stop_height_median": float(np.median(heights)) if heights else None,
        "stop_height_max": heights[-1] if heights else None,
        "by_initial_spin": by_spin,
        "upright_full_throttle_decel": float(np.mean(decels)) if decels else None,
        "heuristic": heuristic_report,
        "rocket_height": rl.ROCKET_HEIGHT,
        "start_height_above_deck": 0.95 * rl.H - rl.DECK_Y,
    }
    if args.run_dir is not None:
        report["command"] += f" --run-dir {args.run_dir} --weights {args.weights}"
        report["agent"] = agent_run(args.run_dir, args.weights, args.episodes)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(report["command"])
    print(
        f"throttle up on every step, {args.episodes} seeded starts: "
        f"{len(stopped)} stop above the deck"
    )
    if heights:
        print(
            f"  stop height above the deck: min {heights[0]:.1f}, median "
            f"{report['stop_height_median']:.1f}, max {heights[-1]:.1f} "
            f"(world units; the rocket is {rl.ROCKET_HEIGHT:.1f} tall, the start "
            f"{report['start_height_above_deck']:.1f} above the deck)"
        )
    for group in by_spin:
        lo, hi = group["omega0"]
        print(f"  |omega0| in [{lo}, {hi}) rad/s: {group['stopped']}/{group['starts']} stop")
    if decels:
        decel = report["upright_full_throttle_decel"]
        print(f"  net deceleration at full throttle, upright: {decel:.1f} m/s^2")
    for entry in heuristic_report:
        spins = ", ".join(
            f"{g['landed']}/{g['starts']} with |omega0| in [{g['omega0'][0]}, {g['omega0'][1]})"
            for g in entry["by_initial_spin"]
        )
        print(
            f"heuristic deciding every {entry['repeat']} step(s): lands {entry['landed']}/"
            f"{args.episodes} ({spins})"
        )
    if "agent" in report:
        agent = report["agent"]
        print(
            f"greedy agent of {agent['run_dir']} ({agent['weights']} weights), same starts: "
            f"{agent['stopped']} stop above the deck, {agent['landed']} land ("
            + ", ".join(
                f"{g['landed']} with |omega0| in [{g['omega0'][0]}, {g['omega0'][1]})"
                for g in agent["landed_by_initial_spin"]
            )
            + ")"
        )


if __name__ == "__main__":
    main()
