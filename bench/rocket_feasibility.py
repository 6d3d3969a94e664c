"""How much room RocketLander-v0 leaves a discrete-action agent: brake as hard as possible.

    python bench/rocket_feasibility.py [--episodes 100] [--seed 0] [--repeat 4 8] [--json]
        [--results PATH]
    python bench/rocket_feasibility.py --demonstrator rocket_heuristic rocket_gimbal --seed 1000
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

It then plays each registered demonstrator of ``--demonstrator`` (default: the hand-written
``rocket_heuristic``; ``rocket_gimbal`` turns the engine against the spin) from the same
starts, once deciding on every step and once per action repeat of ``--repeat`` (default 4
and 8, as a DQN agent with that action repeat must; the ``rocket`` preset uses 4), and
counts its landings, by |omega0| as well: a yardstick for what a discrete-action policy can
land at all.

The starts are ``reset(seed=s)`` for s from ``--seed`` (default 0: the seeds the
demonstrators were tuned on; 1000 is the held-out range that ``evaluate --seed 1000``
plays). A landing is the game's own ``info["landed"]`` (both legs on the deck, slower than
8 units/s, for a second), as ``evaluate`` counts it. The report ends with a Markdown table of
landings by |omega0| band (< 0.2, 0.2-0.4, > 0.4 rad/s) for every controller on the same
starts.

With ``--run-dir`` it also plays a trained agent greedily from the same starts and counts
how often it brakes to a stop above the deck, and how often it lands, so the two can be
compared: braking is the half of the task a DQN learns first.

It trains nothing and takes under a minute (a minute more with an agent). docs/rocketlander.md
quotes it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import results  # noqa: E402

import dqn_tf  # noqa: E402, F401  (registers RocketLander-v0)
from dqn_tf.envs import rocket_lander as rl  # noqa: E402
from dqn_tf.games import make_env  # noqa: E402
from dqn_tf.presets import load_demonstrator  # noqa: E402

THROTTLE_UP = 2
SPIN_BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.7), (0.7, 1.41))
# The bands of docs/rocketlander.md's table: controllers tuned per start land every start below
# 0.2 rad/s, most between 0.2 and 0.4, hardly any above (shared FACTS, RocketLander-v0).
BANDS = ((0.0, 0.2), (0.2, 0.4), (0.4, math.inf))


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


def by_initial_spin(
    records: list[dict[str, Any]], key: str, bins: tuple[tuple[float, float], ...] = SPIN_BINS
) -> list[dict[str, Any]]:
    """How many records have ``key`` true, per bin of the initial spin |omega0|."""
    out = []
    for lo, hi in bins:
        group = [r for r in records if lo <= r["omega0"] < hi]
        bounds = [lo, hi if math.isfinite(hi) else None]  # JSON has no infinity
        out.append({"omega0": bounds, "starts": len(group), key: sum(r[key] for r in group)})
    return out


def demonstrator_landings(name: str, seeds: range, repeat: int) -> list[dict[str, Any]]:
    """The demonstrator registered as ``name`` from ``reset(seed=s)`` for each s in
    ``seeds``, deciding every ``repeat`` steps through the game the ``rocket`` preset
    evaluates on (``make_env`` with its action repeat)."""
    policy = load_demonstrator(name)
    env = make_env("RocketLander-v0", action_repeat=repeat)
    runs = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        omega0 = abs(float(obs[9]))
        while True:
            obs, _, terminated, truncated, info = env.step(int(policy(obs)))
            if terminated or truncated:
                break
        runs.append({"omega0": omega0, "landed": bool(info.get("landed"))})
    env.close()
    return runs


def band_table(rows: list[tuple[str, list[dict[str, Any]]]], seeds: range) -> str:
    """A Markdown table of landings by |omega0| band, one row per (label, records)."""
    heads = [f"{lo}-{hi}" if hi != math.inf else f"> {lo}" for lo, hi in BANDS]
    heads[0] = f"< {BANDS[0][1]}"
    # Markdown cells cannot hold a bare "|".
    lines = [
        f"| controller (seeds {seeds.start}-{seeds.stop - 1}) | "
        + " | ".join(f"\\|omega0\\| {h} rad/s" for h in heads)
        + " | all |",
        "|---" * (len(BANDS) + 2) + "|",
    ]
    for label, records in rows:
        cells = [f"{g['landed']}/{g['starts']}" for g in by_initial_spin(records, "landed", BANDS)]
        landed = sum(r["landed"] for r in records)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | **{landed}/{len(records)}** |")
    return "\n".join(lines)


def agent_run(run_dir: Path, weights: str, seeds: range) -> dict[str, Any]:
    """Greedy episodes of the agent saved in ``run_dir`` from ``reset(seed=s)``, s in ``seeds``:
    how many reach vertical velocity >= 0 above the deck (checked after each decision), and
    how many land."""
    from dqn_tf.environment import Environment
    from dqn_tf.run_folder import read_config, weights_file

    config, _ = read_config(run_dir)
    # A run trained on a named variant is measured on the original game.
    config = config.replace(env="RocketLander-v0", eval_env="")
    env = Environment(config=config, seed=0, run_dir=run_dir, summaries=False)
    env.agent.load_weights(weights_file(run_dir, weights))
    game = env.env.unwrapped
    records = []
    for seed in seeds:
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
        "landed_by_band": by_initial_spin(records, "landed", BANDS),
        "records": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="the first start's reset seed")
    parser.add_argument("--repeat", type=int, nargs="*", default=[4, 8])
    parser.add_argument(
        "--demonstrator",
        nargs="+",
        default=["rocket_heuristic"],
        metavar="NAME",
        help="registered demonstrators to play (dqn_tf.presets.DEMONSTRATORS)",
    )
    parser.add_argument("--run-dir", type=Path, help="also play the agent of this run")
    parser.add_argument("--weights", choices=("final", "best"), default="best")
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()
    seeds = range(args.seed, args.seed + args.episodes)

    env = gym.make("RocketLander-v0")
    braked = [brake(env, seed) for seed in seeds]
    env.close()
    played = {
        name: {repeat: demonstrator_landings(name, seeds, repeat) for repeat in [1, *args.repeat]}
        for name in args.demonstrator
    }
    stopped = [r for r in braked if r["stopped"]]
    heights = sorted(float(r["height"]) for r in stopped)
    decels = [
        r["upright_full_throttle_decel"] for r in braked if "upright_full_throttle_decel" in r
    ]
    by_spin = by_initial_spin(braked, "stopped")
    demonstrators = {
        name: [
            {
                "repeat": repeat,
                "landed": sum(r["landed"] for r in runs),
                "by_initial_spin": by_initial_spin(runs, "landed"),
                "by_band": by_initial_spin(runs, "landed", BANDS),
            }
            for repeat, runs in by_repeat.items()
        ]
        for name, by_repeat in played.items()
    }
    command = f"python bench/rocket_feasibility.py --episodes {args.episodes}"
    if args.seed:
        command += f" --seed {args.seed}"
    command += f" --repeat {' '.join(map(str, args.repeat))}"
    if args.demonstrator != ["rocket_heuristic"]:
        command += f" --demonstrator {' '.join(args.demonstrator)}"
    report: dict[str, Any] = {
        "command": command,
        "episodes": args.episodes,
        "seeds": [seeds.start, seeds.stop - 1],
        "stopped_above_deck": len(stopped),
        "stop_height_min": heights[0] if heights else None,
        "stop_height_median": float(np.median(heights)) if heights else None,
        "stop_height_max": heights[-1] if heights else None,
        "by_initial_spin": by_spin,
        "upright_full_throttle_decel": float(np.mean(decels)) if decels else None,
        "demonstrators": demonstrators,
        "rocket_height": rl.ROCKET_HEIGHT,
        "start_height_above_deck": 0.95 * rl.H - rl.DECK_Y,
    }
    if "rocket_heuristic" in demonstrators:
        report["heuristic"] = demonstrators["rocket_heuristic"]  # the key earlier reports used
    rows = [
        (f"{name}, {'every step' if repeat == 1 else f'action repeat {repeat}'}", runs)
        for name, by_repeat in played.items()
        for repeat, runs in by_repeat.items()
    ]
    if args.run_dir is not None:
        report["command"] += f" --run-dir {args.run_dir} --weights {args.weights}"
        report["agent"] = agent_run(args.run_dir, args.weights, seeds)
        rows.append((f"greedy agent ({args.weights} weights)", report["agent"].pop("records")))
    report["band_table"] = band_table(rows, seeds)
    recorder.write(args.results, report, args.note)
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
    for name, entries in demonstrators.items():
        for entry in entries:
            spins = ", ".join(
                f"{g['landed']}/{g['starts']} with |omega0| in [{g['omega0'][0]}, {g['omega0'][1]})"
                for g in entry["by_initial_spin"]
            )
            print(
                f"{name} deciding every {entry['repeat']} step(s): lands {entry['landed']}/"
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
    print()
    print(report["band_table"])


if __name__ == "__main__":
    main()
