"""Checkpoint size and save / restore time with a full 1,000,000-transition memory.

    python bench/checkpoint_cost.py [--capacity 1000000] [--repeats 3] [--json] [--results PATH]

Fills the replay memory of a `book` LunarLander run (2x32 network) to capacity with random
transitions, then times `Environment.save_checkpoint` (atomic .npz write) and
`Environment.resume`. With the book preset a checkpoint is written every
`checkpoint_every` = 100 episodes; the figures say what one write costs against that.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()

    from dqn_tf.environment import Environment
    from dqn_tf.presets import get_preset

    run_dir = Path(tempfile.mkdtemp(prefix="dqn_tf_ckpt_"))
    try:
        env = Environment(
            config=get_preset("book", memory_size=args.capacity),
            run_dir=run_dir,
            summaries=False,
        )
        memory, rng, n = env.agent.memory, np.random.default_rng(0), args.capacity
        memory.states.assign(rng.standard_normal((n, env.nS), dtype=np.float32))
        memory.next_states.assign(rng.standard_normal((n, env.nS), dtype=np.float32))
        memory.actions.assign(rng.integers(0, env.nA, n, dtype=np.int32))
        memory.rewards.assign(rng.standard_normal(n, dtype=np.float32))
        memory.terminated.assign(rng.random(n) < 0.01)
        memory.size.assign(n)
        env.env.reset(seed=0)

        saves, restores = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            path = env.save_checkpoint()
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            env.resume()
            restores.append(time.perf_counter() - start)
        figures = {
            "capacity": n,
            "checkpoint_mb": path.stat().st_size / 2**20,
            "memory_raw_mb": memory.nbytes / 2**20,
            "save_seconds_median": float(np.median(saves)),
            "restore_seconds_median": float(np.median(restores)),
        }
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"command: python bench/checkpoint_cost.py --capacity {args.capacity}")
    for key, value in figures.items():
        print(f"  {key:26s} {round(value, 3)}")
    if args.json:
        print(json.dumps(figures))
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
