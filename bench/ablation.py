"""The ablation of notebooks/after_the_book.ipynb: a preset with and without each improvement
after the book (n-step returns, the dueling head, prioritized replay), on several seeds.

    python bench/ablation.py --steps 100000 --seeds 0 1 2 3 4 \\
        --results docs/results/after_the_book_ablation.json

It runs sweeps of the package (`dqn_tf.sweep`, Ray Tune): the preset with none of the
three, each alone (``n_step`` N, ``dueling``, ``priority_alpha`` ALPHA) and all three, times
the seeds, two trials at a time of one CPU each. Every
trial is then judged as the sweep judges it: greedy episodes from the held-out starts 1000,
1001, ... with its final and its best weights. The results file keeps, per trial, those
means and the run's own curves (its periodic evaluations and every training episode's
return), so the notebook draws them without training. Run again, the sweep continues.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import results

from dqn_tf.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-step", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a fixed change to the preset, for every trial")  # fmt: skip
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "sweeps" / "after-the-book")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.Recorder(results.bench_command())
    fixed: dict = {}
    for change in args.set:
        field, _, value = change.partition("=")
        fixed[field] = json.loads(value) if value[:1] in "[{0123456789-tf" else value
    n, alpha = args.n_step, args.alpha
    # Four sweeps, so that no combination but these five runs: none and n-step returns (a
    # grid of two), then the dueling head, prioritized replay and all three (one each).
    sweeps = {
        "none-and-n-step": {"n_step": [1, n]},
        "dueling": {"dueling": [True]},
        "prioritized": {"priority_alpha": [alpha]},
        "all-three": {"n_step": [n], "dueling": [True], "priority_alpha": [alpha]},
    }
    trials, tables = [], []
    for name, grid in sweeps.items():
        done = sweep(args.preset, run_dir=args.run_dir / name, steps=args.steps,
                     seeds=args.seeds, grid={k: [v] for k, v in fixed.items()} | grid,
                     eval_episodes=args.eval_episodes, cpus_per_trial=1)  # fmt: skip
        tables.append(done["markdown"].split("\n![")[0])
        for row in done["trials"]:
            folder = args.run_dir / name / row["setting"] / f"seed{row['seed']}"
            config = json.loads((folder / "config.json").read_text())["config"]
            history = json.loads((folder / "history.json").read_text())
            trials.append({
                "setting": _setting(config), "seed": row["seed"], "status": row["status"],
                **{k: config[k] for k in ("n_step", "dueling", "priority_alpha")},
                "minutes": row["minutes"],
                **{k: row[k] and round(row[k], 1)  # None: no periodic evaluation yet
                   for k in ("final_mean", "final_std", "best_mean", "best_std")},
                "evaluations": [[int(s), round(m, 1)] for s, m, *_ in history["evaluations"]],
                "episode_returns": [round(r, 1) for r in history["episode_rewards"]],
                "episode_lengths": history["episode_lengths"],
            })  # fmt: skip
    figures = {"preset": args.preset, "steps": args.steps, "seeds": args.seeds,
               "eval_episodes": args.eval_episodes, "held_out_first_start": 1000,
               "fixed": fixed, "trials": trials}  # fmt: skip
    print("\n\n".join(tables))
    recorder.write(args.results, figures)


def _setting(config: dict) -> str:
    """The trial's setting in words: "none", "n-step 3", "dueling", "prioritized 0.6", ..."""
    parts = [f"n-step {config['n_step']}"] if config["n_step"] > 1 else []
    parts += ["dueling"] if config["dueling"] else []
    parts += [f"prioritized {config['priority_alpha']}"] if config["priority_alpha"] > 0 else []
    return " + ".join(parts) or "none"


if __name__ == "__main__":
    main()
