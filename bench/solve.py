"""Train and evaluate a preset on several seeds; print steps, minutes and the greedy mean.

    python bench/solve.py --preset fast --seeds 0 1 2 --steps 200000 [--eval-episodes 100]
    python bench/solve.py --preset book --seeds 0 --episodes 5000

Each seed runs the real command line (`python -m dqn_tf train ... --json`, then
`python -m dqn_tf evaluate ... --json`) in runs/solve/<preset>-seed<S>. "Solved" means the
mean return of the greedy evaluation episodes is at least 200, with the weights at the end of
training or with the best weights kept by the periodic evaluation (`eval_every_steps`);
`--judge final` or `--judge best` names one of them beforehand, so that the held-out starts
only judge and never choose. The
table also gives the first episode at which the 100-episode training average reached 200
(the book's criterion), with the environment steps up to it. Add --json for a last line
with every row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import results

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def cli(*args: str, threads: int = 0) -> dict:
    """Run `python -m dqn_tf ARGS --json` and return its JSON line; ``threads`` > 0 sizes
    TensorFlow's pools through its environment variables (a sweep's trials have pools of
    their CPU count, and the same run needs the same pools)."""
    env = dict(ENV)
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    proc = subprocess.run(
        [sys.executable, "-m", "dqn_tf", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"failed: python -m dqn_tf {' '.join(args)}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_average_at(rewards: list[float], lengths: list[int], level: float = 200.0):
    """(episode, steps) where the 100-episode average of training returns first reaches
    ``level``, or (None, None)."""
    r = np.asarray(rewards)
    steps = np.cumsum(lengths)
    for i in range(99, len(r)):
        if r[i - 99 : i + 1].mean() >= level:
            return i + 1, int(steps[i])
    return None, None


def judged(judge: str, final: dict, best: dict | None) -> float:
    """The held-out mean that decides "solved": the final weights', the best weights' (none:
    -inf), or the larger of the two."""
    best_mean = best["mean"] if best else -np.inf
    return {"final": final["mean"], "best": best_mean, "either": max(final["mean"], best_mean)}[
        judge
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--env", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int)
    budget.add_argument("--episodes", type=int)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--tag", default="", help="suffix for the run folders")
    parser.add_argument(
        "--judge",
        choices=["either", "final", "best"],
        default="either",
        help="the weights that must reach 200: final, best (chosen by the run's periodic "
        "evaluations, on other starts), or either (the better on the held-out starts, which "
        "then also choose)",
    )
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()

    budget_args = ["--steps", str(args.steps)] if args.steps else ["--episodes", str(args.episodes)]
    rows = []
    command = "python bench/solve.py " + " ".join(sys.argv[1:])
    print(f"command: {command}", flush=True)
    for seed in args.seeds:
        run_dir = ROOT / "runs" / "solve" / f"{args.preset}{args.tag}-seed{seed}"
        train_args = [
            "train",
            "--preset",
            args.preset,
            *budget_args,
            "--seed",
            str(seed),
            "--run-dir",
            str(run_dir),
            "--log-every",
            "0",
        ]
        if args.env:
            train_args += ["--env", args.env]
        for change in args.set:
            train_args += ["--set", change]
        summary = cli(*train_args)
        history = json.loads((run_dir / "history.json").read_text())
        # Every run is judged on the same held-out starts (evaluate's default: 1000, 1001, ...).
        evaluate = ["evaluate", "--run-dir", str(run_dir), "--episodes", str(args.eval_episodes)]
        result = cli(*evaluate)
        best = None
        if (run_dir / "best.weights.h5").is_file():
            best = cli(*evaluate, "--weights", "best")
        episode_at, steps_at = first_average_at(
            history["episode_rewards"], history["episode_lengths"]
        )
        row = {
            "seed": seed,
            "steps": summary["steps"],
            "episodes": len(summary["episode_rewards"]),
            "minutes": round(summary["seconds"] / 60, 2),
            "eval_mean": round(result["mean"], 1),
            "eval_std": round(result["std"], 1),
            "best_eval_mean": None if best is None else round(best["mean"], 1),
            "best_eval_std": None if best is None else round(best["std"], 1),
            "best_found_at_steps": max(history["evaluations"], key=lambda e: e[1])[0]
            if history.get("evaluations")
            else None,
            "solved": judged(args.judge, result, best) >= 200,
            "judged": args.judge,
            "avg100_200_at_episode": episode_at,
            "avg100_200_at_steps": steps_at,
        }
        if "landings" in result:  # a game that counts landings (RocketLander)
            evaluations = history.get("evaluations", [])
            row["landings"] = result["landings"]
            row["best_landings"] = None if best is None else best["landings"]
            row["training_landings"] = len(history.get("landed_episodes", []))
            row["evaluation_landings"] = [e[2] for e in evaluations if len(e) > 2]
        rows.append(row)
        print(json.dumps(row), flush=True)

    print(f"\n{command}")
    n = args.eval_episodes
    print(
        f"| seed | steps | episodes | minutes | final weights: mean (std) over {n} | "
        f"best weights (found at step): mean (std) over {n} | solved | "
        "first 100-ep training avg >= 200 (episode / steps) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        first = (
            f"{r['avg100_200_at_episode']} / {r['avg100_200_at_steps']}"
            if r["avg100_200_at_episode"]
            else "not reached"
        )
        best = (
            f"{r['best_eval_mean']} ({r['best_eval_std']}) (step {r['best_found_at_steps']})"
            if r["best_eval_mean"] is not None
            else "no periodic evaluation"
        )
        print(
            f"| {r['seed']} | {r['steps']} | {r['episodes']} | {r['minutes']} | "
            f"{r['eval_mean']} ({r['eval_std']}) | {best} | {r['solved']} | {first} |"
        )
    if args.json:
        print(json.dumps(rows))
    recorder.write(args.results, rows, args.note)


if __name__ == "__main__":
    main()
