"""Training throughput at the book's settings, and the replay memory's size.

    python bench/throughput.py --steps 20000 [--rounds 2] [--json] [--no-reference]
        [--after-the-book] [--results PATH]

Settings (issue 3): 2x32 network, batch 32, one Double-DQN update per environment step,
LunarLander-v3, the `book` preset. Reports environment steps per second for:

  env only         the game alone, random actions, plain Python (the ceiling)
  compiled, act    our compiled episode loop, acting greedily, no learning
  compiled, learn  our compiled episode loop, learning (the real thing: learn_order
                   "overlap", the update beside the game's step)
  original order   the same loop with learn_order="original" (store, then update)
  literal port     the originals as written, in Keras 3: model.predict to act, three predicts
                   and a fit per replay (measured on a few hundred steps only)
  python loop      the originals' loop shape: agent.act + agent.observe from Python every step
  SB3 DQN          Stable-Baselines3 (PyTorch, CPU) at the same settings, if .venv-sb3 exists
                   (`make bench-deps`), with 1 and with 2 torch threads, run in the same
                   invocation so figures compare

The learning loops and SB3 are timed in ``--rounds`` alternating rounds (ours, SB3 at 1
thread, SB3 at 2 threads, ours, ...) and each figure is the median of its rounds; SB3's is
its best thread count. Then the replay memory's bytes per transition and peak resident
memory for 1,000,000 transitions, against a deque of tuples as in the originals.

With --after-the-book the rounds also time the compiled learning loop with n-step returns
(3), the dueling head, prioritized replay (alpha 0.6) and all three, each at the book's
settings otherwise (``n_step_3_sps``, ``dueling_sps``, ``prioritized_sps``, ``all_three_sps``).

Compare only on a quiet machine: PyTorch's threads collapse when another process is busy
(they did on this project's machines). The bench reports the load average before it starts
and the share of the machine's CPU time that other processes used while it ran, and warns
when either says the machine was not quiet. With --json the last line is a JSON object with
`sps` (our compiled learning loop), `sb3_sps` (SB3 at its best thread count), `ratio` (their
quotient) and every other figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import deque
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def env_only(steps: int) -> float:
    env = gym.make("LunarLander-v3")
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def compiled(steps: int, warmup: int, learn: bool, config, summaries: bool = False) -> float:
    from dqn_tf.environment import Environment

    env = Environment(config=config, seed=0, run_dir=ROOT / "runs" / "bench", summaries=summaries)
    kw = dict(epsilon=1.0, log_every=0, trainable=learn)
    env.learn(episodes=None, steps=warmup, **kw)  # traces the loop once
    env.env.reset(seed=0)
    before = env.total_steps if learn else None
    start = time.perf_counter()
    if learn:
        env.learn(episodes=None, steps=steps, **kw)
        done = env.total_steps - before
    else:
        done = 0
        while done < steps:  # greedy episodes until the budget is spent
            s, _ = env.env.reset()
            done += env.runner.run(s, config.max_episode_steps, mode="none", greedy=True)[1]
    return done / (time.perf_counter() - start)


def python_loop(steps: int, warmup: int, config) -> float:
    from dqn_tf.agent import Agent

    env = gym.make(config.env)
    agent = Agent(8, 4, config, seed=0)
    s, _ = env.reset(seed=0)

    def run(n: int) -> None:
        nonlocal s
        for _ in range(n):
            a = agent.act(s)
            s_, r, terminated, truncated, _ = env.step(a)
            agent.observe(s, a, r, s_, terminated)
            s = s_
            if terminated or truncated:
                agent.target_model_update()
                agent.epsilon_update()
                s, _ = env.reset()

    run(warmup)
    start = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - start)


def literal_port(steps: int, config) -> float:
    """The seeds' own loop: Keras predict per action, predict x3 + fit per replay."""
    import keras

    from dqn_tf.brain import Brain

    env = gym.make(config.env)
    brain = Brain(8, 4, config)
    model, target = brain.model, brain.target_model
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    memory: deque = deque(maxlen=config.memory_size)
    rng = np.random.default_rng(0)
    s, _ = env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        a = (
            int(rng.integers(4))
            if rng.random() < 0.5
            else int(np.argmax(model.predict(s[None], verbose=0)[0]))
        )
        s_, r, terminated, truncated, _ = env.step(a)
        memory.append((s, a, r, s_, terminated))
        if len(memory) > config.batch_size:
            idx = rng.choice(len(memory), config.batch_size, replace=False)
            batch = [memory[i] for i in idx]
            states = np.array([b[0] for b in batch])
            next_states = np.array([b[3] for b in batch])
            next_online = model.predict(next_states, verbose=0)
            next_target = target.predict(next_states, verbose=0)
            y = model.predict(states, verbose=0)
            for i, (_, a_i, r_i, _, t_i) in enumerate(batch):
                best = np.argmax(next_online[i])
                y[i, a_i] = r_i if t_i else r_i + config.gamma * next_target[i, best]
            model.fit(states, y, epochs=1, verbose=0)
        s = s_
        if terminated or truncated:
            s, _ = env.reset()
    return steps / (time.perf_counter() - start)


def sb3(steps: int, threads: int) -> float | None:
    python = ROOT / ".venv-sb3" / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run(
        [
            str(python),
            str(ROOT / "bench" / "sb3_reference.py"),
            "--steps",
            str(steps),
            "--threads",
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["sps"]


def memory_figures() -> dict[str, float]:
    from dqn_tf.memory import Memory

    gc.collect()
    rss0 = rss_peak_mb()
    memory = Memory(1_000_000, 8)
    memory.add_memory(np.zeros(8), 0, 0.0, np.zeros(8), False)
    rss1 = rss_peak_mb()
    # The seeds' deque of tuples of arrays, measured on 100,000 transitions.
    tracemalloc.start()
    d: deque = deque(maxlen=100_000)
    for i in range(100_000):
        s = np.random.rand(1, 8).astype(np.float32)
        d.append((s, i % 4, float(i), np.random.rand(1, 8).astype(np.float32), False))
    deque_bytes = tracemalloc.get_traced_memory()[0] / 100_000
    tracemalloc.stop()
    return {
        "memory_bytes_per_transition": memory.nbytes / memory.capacity,
        "memory_raw_mb_1m": memory.nbytes / 2**20,
        "memory_peak_rss_increase_mb_1m": rss1 - rss0,
        "deque_bytes_per_transition": deque_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (median)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-reference", action="store_true", help="skip SB3")
    parser.add_argument("--literal-steps", type=int, default=300)
    parser.add_argument(
        "--after-the-book",
        action="store_true",
        help="also time the book's settings with each improvement after the book on, and all "
        "three, in the same alternating rounds",
    )
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()
    if args.rounds < 1 or args.steps < 1:
        parser.error(f"--rounds and --steps must be >= 1 (got {args.rounds} and {args.steps})")

    from dqn_tf.presets import get_preset

    load_before = os.getloadavg()[0]
    others = results.OtherLoad()
    config = get_preset("book")
    seeds_order = get_preset("book", learn_order="seeds")
    figures: dict[str, object] = {"steps": args.steps, "rounds": args.rounds}
    figures["env_only_sps"] = env_only(args.steps)
    figures["compiled_act_sps"] = compiled(args.steps, args.warmup, False, config)
    thread_counts = () if args.no_reference else (1, 2)
    rounds: dict[str, list[float]] = {"sps": [], "seeds_order_sps": []}
    rounds.update({f"sb3_{n}_thread_sps": [] for n in thread_counts})
    improved = {}
    if args.after_the_book:  # n-step returns, dueling head, prioritized replay, all three
        improved = {
            "n_step_3_sps": dict(n_step=3),
            "dueling_sps": dict(dueling=True),
            "prioritized_sps": dict(priority_alpha=0.6),
            "all_three_sps": dict(n_step=3, dueling=True, priority_alpha=0.6),
        }
        rounds.update({name: [] for name in improved})
    for r in range(args.rounds):
        rounds["sps"].append(compiled(args.steps, args.warmup, True, config))
        for name, changes in improved.items():
            rounds[name].append(compiled(args.steps, args.warmup, True, config.replace(**changes)))
        for n in thread_counts:
            value = sb3(args.steps, n)
            if value is not None:
                rounds[f"sb3_{n}_thread_sps"].append(value)
        rounds["seeds_order_sps"].append(compiled(args.steps, args.warmup, True, seeds_order))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rounds.items() if v))
    figures.update({k: statistics.median(v) for k, v in rounds.items() if v})
    figures["rounds_sps"] = rounds
    by_threads = {n: figures.get(f"sb3_{n}_thread_sps") for n in thread_counts}
    by_threads = {n: v for n, v in by_threads.items() if v is not None}
    figures["sb3_sps"] = max(by_threads.values()) if by_threads else None
    figures["sb3_best_threads"] = max(by_threads, key=by_threads.get) if by_threads else None
    figures["ratio"] = figures["sps"] / figures["sb3_sps"] if figures["sb3_sps"] else None
    figures["compiled_learn_summaries_sps"] = compiled(
        args.steps, args.warmup, True, config, summaries=True
    )
    figures["literal_port_sps"] = literal_port(args.literal_steps, config)
    figures["python_loop_sps"] = python_loop(min(args.steps, 5_000), args.warmup, config)
    figures["load_average_before"] = load_before
    figures["other_processes_cpu_share"] = others.share()
    figures.update(memory_figures())

    print(f"command: {results.bench_command()}")
    for key, value in figures.items():
        if key != "rounds_sps":
            shown = round(value, 3 if key == "ratio" else 1) if isinstance(value, float) else value
            print(f"  {key:36s} {shown}")
    if not by_threads and not args.no_reference:
        print("  (no .venv-sb3: `make bench-deps` installs Stable-Baselines3 for the ratio)")
    # Other work on the machine skews the comparison (SB3's threads most of all).
    if load_before > 0.5 or figures["other_processes_cpu_share"] > 0.05:
        print(
            f"WARNING: the machine was not quiet (load average {load_before:.2f} before the "
            f"start, other processes used {figures['other_processes_cpu_share']:.0%} of the "
            f"CPU during the run): the figures do not compare; stop other work and rerun",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(figures))
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
