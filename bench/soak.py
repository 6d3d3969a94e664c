"""Soak: a long run with checkpoints, its resident memory and checkpoint cost as it goes.

    python bench/soak.py --preset book --steps 1000000 [--checkpoint-every 100] [--json]
        [--results PATH]
    python bench/soak.py --preset rocket --steps 1000000

Trains the preset on its own game in a temporary run folder (or ``--run-dir``), in chunks of
``--chunk`` game steps through ``Environment.train`` as ``train`` does, while a thread samples
the process's resident memory (VmRSS from /proc/self/status) every ``--sample-every``
seconds, and every checkpoint write is timed. Prints, and with ``--json`` ends with one JSON
line of:

* ``peak_rss_mb``: the highest resident memory seen;
* ``rss_when_full_mb`` and ``rss_end_mb``: resident memory when the replay memory first
  became full and at the end, and ``growth_after_full_mb``, their difference (a leak grows
  it; goal: none);
* ``checkpoint_mb``, ``checkpoint_write_s_last`` and ``checkpoint_write_s_median``: the size
  of the last checkpoint and what writing one costs once the memory is full;
* ``steps``, ``episodes``, ``minutes``, ``steps_per_s``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import results


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="book")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000, help="game steps per train call")
    parser.add_argument("--checkpoint-every", type=int, help="episodes (default: the preset's)")
    parser.add_argument("--sample-every", type=float, default=2.0, help="seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()

    from dqn_tf.environment import Environment
    from dqn_tf.presets import get_preset

    changes = {"checkpoint_every": args.checkpoint_every} if args.checkpoint_every else {}
    config = get_preset(args.preset, **changes)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="dqn_tf_soak_"))
    samples: list[tuple[float, int, float]] = []  # (seconds, memory size, rss)
    writes: list[tuple[int, float]] = []  # (memory size, seconds)
    done = threading.Event()
    try:
        env = Environment(config=config, seed=args.seed, run_dir=run_dir)
        memory = env.agent.memory
        save = env.save_checkpoint

        def timed_save() -> Path:
            started = time.perf_counter()
            path = save()
            writes.append((len(memory), time.perf_counter() - started))
            return path

        env.save_checkpoint = timed_save  # type: ignore[method-assign]
        started = time.perf_counter()

        def sample() -> None:
            while not done.is_set():
                # int(memory.size) reads a tf.Variable: safe from another thread.
                samples.append((time.perf_counter() - started, int(memory.size), rss_mb()))
                done.wait(args.sample_every)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        epsilon: float | None = config.epsilon_start
        while env.total_steps < args.steps:
            budget = min(args.chunk, args.steps - env.total_steps)
            env.train(epsilon=epsilon, episodes=None, steps=budget, log_every=0)
            epsilon = None  # keep the schedule across chunks
            print(
                f"{env.total_steps:>9,} steps, {len(env.episode_rewards):,} episodes, "
                f"memory {len(memory):,}/{memory.capacity:,}, rss {rss_mb():,.0f} MB, "
                f"{(time.perf_counter() - started) / 60:.1f} min",
                flush=True,
            )
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        samples.append((seconds, int(memory.size), rss_mb()))
        full = [rss for _, size, rss in samples if size >= memory.capacity]
        full_writes = [s for size, s in writes if size >= memory.capacity] or [s for _, s in writes]
        figures = {
            "preset": args.preset,
            "steps": env.total_steps,
            "episodes": len(env.episode_rewards),
            "minutes": round(seconds / 60, 2),
            "steps_per_s": round(env.total_steps / seconds, 1),
            "memory_capacity": memory.capacity,
            "peak_rss_mb": round(max(rss for *_, rss in samples), 1),
            "rss_when_full_mb": round(full[0], 1) if full else None,
            "rss_end_mb": round(samples[-1][2], 1),
            "growth_after_full_mb": round(samples[-1][2] - full[0], 1) if full else None,
            "checkpoints_written": len(writes),
            "checkpoint_mb": round(env.checkpoint_path.stat().st_size / 1e6, 1),
            "checkpoint_write_s_last": round(writes[-1][1], 3) if writes else None,
            "checkpoint_write_s_median": (
                round(statistics.median(full_writes), 3) if full_writes else None
            ),
        }
    finally:
        done.set()
        if args.run_dir is None:
            shutil.rmtree(run_dir, ignore_errors=True)
    command = f"python bench/soak.py --preset {args.preset} --steps {args.steps}"
    if args.checkpoint_every:
        command += f" --checkpoint-every {args.checkpoint_every}"
    print(f"command: {command}")
    for key, value in figures.items():
        print(f"  {key:28s} {value}")
    if args.json:
        print(json.dumps(figures))
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
