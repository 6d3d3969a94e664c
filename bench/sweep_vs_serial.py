"""Wall time of one `sweep` against the same runs one after another with `train`.

    python bench/sweep_vs_serial.py --preset fast --steps 20000 --seeds 0 1 2 \\
        --set learning_rate=0.00063,0.001 --eval-episodes 20

Both sides do the same work through the real command line: for every setting and seed,
train, then evaluate the final and the best weights with `--eval-episodes` greedy episodes
on the held-out starts 1000, 1001, ... The serial side is `python -m dqn_tf train ... --json` and
`python -m dqn_tf evaluate ... --json` per run; the sweep side is one `python -m dqn_tf sweep
... --json` (Ray started for it and stopped after, `--max-concurrent` trials of
`--cpus-per-trial` CPUs). Each wall time includes every process start. The script also checks
whether each trial's episode returns and greedy means equal its serial twin's: they do when
the serial runs have the trials' TensorFlow pools (`--serial-threads 1` for trials of one
CPU); with TensorFlow's default pools (one thread per core) float sums are grouped
differently and the runs drift apart after some thousand steps.
Run folders go to `<out>/serial/` and `<out>/sweep/`; add --json for a last line with the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import results  # noqa: E402
from solve import cli  # noqa: E402  (bench/ is this script's folder, first on sys.path)

from dqn_tf.cli import parse_grid  # noqa: E402
from dqn_tf.run_folder import read_history  # noqa: E402
from dqn_tf.sweep import plan_trials  # noqa: E402  (no TensorFlow: fast)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=V1,V2,...")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument(
        "--serial-threads",
        type=int,
        default=0,
        help="TensorFlow pools of the serial runs (TF_NUM_INTRAOP/INTEROP_THREADS); 0: "
        "TensorFlow's default, one per core. Set it to the trials' (--cpus-per-trial) for "
        "runs identical to the trials",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench" / "sweep-vs-serial")
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()
    sets = args.set or ["learning_rate=0.00063,0.001"]
    grid = parse_grid(sets)  # as `python -m dqn_tf sweep` reads --set
    trials = plan_trials(args.preset, None, grid, args.seeds, args.out / "serial")
    fixed = {name: values[0] for name, values in grid.items() if len(values) == 1}
    if any((args.out / side).exists() for side in ("serial", "sweep")):
        raise SystemExit(f"{args.out} already holds runs; remove it or give another --out")

    print(f"command: python bench/sweep_vs_serial.py {shlex.join(sys.argv[1:])}", flush=True)
    serial: dict[int, dict] = {}
    started = time.perf_counter()
    for t in trials:
        changes = {**fixed, **t.setting}
        train = ["train", "--preset", args.preset, "--steps", str(args.steps), "--seed",
                 str(t.seed), "--run-dir", str(t.run_dir), "--log-every", "0"]  # fmt: skip
        for name, value in changes.items():
            train += ["--set", f"{name}={json.dumps(value, separators=(',', ':'))}"]
        if t.index == 0:
            pools = args.serial_threads
            prefix = (
                f"TF_NUM_INTRAOP_THREADS={pools} TF_NUM_INTEROP_THREADS={pools} " if pools else ""
            )
            print(
                f"serial, per run: {prefix}python -m dqn_tf {shlex.join(train)} --json", flush=True
            )
        trained = cli(*train, threads=args.serial_threads)
        # The held-out starts 1000, 1001, ... (evaluate's default), as the sweep judges trials.
        evaluate = ["evaluate", "--run-dir", str(t.run_dir), "--episodes", str(args.eval_episodes)]
        final = cli(*evaluate, threads=args.serial_threads)
        has_best = (t.run_dir / "best.weights.h5").is_file()
        best = (
            cli(*evaluate, "--weights", "best", threads=args.serial_threads)["mean"]
            if has_best
            else None
        )
        serial[t.index] = {
            "rewards": trained["episode_rewards"],
            "final": final["mean"],
            "best": best,
            "train_s": trained["seconds"],
        }
        print(
            f"  serial {t.label} seed {t.seed}: train {trained['seconds']:.0f} s, "
            f"final {final['mean']:.1f}, best {_round(best)}",
            flush=True,
        )
    serial_s = time.perf_counter() - started

    sweep_dir = args.out / "sweep"
    command = ["sweep", "--preset", args.preset, "--steps", str(args.steps), "--seeds",
               *map(str, args.seeds), *[a for s in sets for a in ("--set", s)], "--run-dir",
               str(sweep_dir), "--eval-episodes", str(args.eval_episodes), "--cpus-per-trial",
               str(args.cpus_per_trial), "--max-concurrent", str(args.max_concurrent)]  # fmt: skip
    print(f"sweep: python -m dqn_tf {shlex.join(command)} --json", flush=True)
    started = time.perf_counter()
    swept = cli(*command)
    sweep_s = time.perf_counter() - started

    same = True
    for t, row in zip(trials, swept["trials"], strict=True):
        history = read_history(sweep_dir / row["run_dir"])
        twin = serial[t.index]
        equal = (
            history["episode_rewards"] == twin["rewards"]
            and row["final_mean"] == twin["final"]
            and row["best_mean"] == twin["best"]
        )
        same &= equal
        print(
            f"  sweep  {row['setting']} seed {row['seed']}: train {row['minutes'] * 60:.0f} s, "
            f"final {row['final_mean']:.1f}, best {_round(row['best_mean'])}"
            + ("" if equal else "  DIFFERS from the serial run")
        )
    figures = {
        "runs": len(trials),
        "serial_s": round(serial_s, 1),
        "sweep_s": round(sweep_s, 1),
        "speedup": round(serial_s / sweep_s, 2),
        "serial_train_s": round(sum(s["train_s"] for s in serial.values()), 1),
        "same_results": same,
        "cpus": os.cpu_count(),
        "serial_threads": args.serial_threads or "default",
    }
    print(
        f"\n{len(trials)} runs of {args.steps:,} steps, {args.eval_episodes} + "
        f"{args.eval_episodes} evaluation episodes each, on {os.cpu_count()} CPUs:\n"
        f"  one after another (train + evaluate, TensorFlow pools "
        f"{args.serial_threads or 'default'}): {serial_s:.0f} s "
        f"({figures['serial_train_s']:.0f} s of it training)\n"
        f"  sweep, {args.max_concurrent} at once, {args.cpus_per_trial:g} CPU each: "
        f"{sweep_s:.0f} s ({figures['speedup']}x)\n"
        f"  every trial equals its serial run (returns, final and best greedy means): {same}"
    )
    if args.json:
        print(json.dumps(figures))
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
