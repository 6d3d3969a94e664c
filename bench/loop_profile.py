"""Where a training step's time goes, measured inside the compiled loop.

    python bench/loop_profile.py [--steps 20000] [--rounds 2] [--preset book] [--json]
        [--results PATH]

Timing a piece by calling it from Python adds about 300 us per call, more than a whole step
of the compiled loop (docs/speed.md). So each piece is timed where it runs: one
``tf.while_loop`` of ``--chunk`` steps per call, built from the package's own pieces
(``Agent.act_graph``, ``Memory.store``, ``Agent.update_graph``, ``Agent.observe_graph``, the
game through ``tf.numpy_function``), adding one piece at a time. A piece's cost is the
difference between two variants; every variant is run ``--rounds`` times, alternating, and
the median is reported. Unlike the real loop (:class:`dqn_tf.loop.EpisodeRunner`, one call
per episode), the game is reset inside the callback, so every call runs exactly ``--chunk``
steps; the real loop is timed last for comparison.

Variants (each adds to the one above unless it says otherwise):

  loop             the while loop and its counter alone
  crossing, fresh thread state
                   the loop and a tf.numpy_function that returns the last state (no game),
                   as TensorFlow runs it (timed first, before any thread keeps a state)
  crossing         the same, the callback keeping its thread's Python state
                   (dqn_tf.loop._keep_thread_state, as the package's loop does)
  game             + the game stepped in that callback (random actions from numpy)
  act              + epsilon-greedy acting in the graph (the callback plays its action)
  store            + storing the transition in the replay memory
  learn, seeds     + the update after storing (learn_order="seeds")
  learn, overlap   the update before the game step instead (learn_order="overlap")
  update alone     the loop and the update only (no game, no acting, no storing)
  EpisodeRunner    the package's real loop, learning (Environment.learn), for comparison

Then the real loop from inside: the Python time of its game callback and of the game's
step within it, and, from TensorFlow's profiler, the time of the PyFunc op (the whole
crossing into Python and back) and how long TensorFlow's threads were busy per step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import results  # noqa: E402

# Timed first, alone, before any of TensorFlow's threads keeps a Python thread state.
FRESH = "crossing, fresh thread state"
VARIANTS = (
    "loop",
    "crossing",
    "game",
    "act",
    "store",
    "learn, seeds",
    "learn, overlap",
    "update alone",
)


def build(variant: str, preset: str, chunk: int):  # noqa: ANN201 (returns a callable)
    """A function running ``chunk`` steps of ``variant`` per call, ready (traced and warm)."""
    from dqn_tf.agent import Agent
    from dqn_tf.games import make_env
    from dqn_tf.loop import _keep_thread_state
    from dqn_tf.presets import get_preset
    from dqn_tf.quiet import tf
    from dqn_tf.seeding import set_global_seeds

    config = get_preset(preset)
    set_global_seeds(0)
    env = make_env(config.env)
    nS, nA = env.observation_space.shape[0], int(env.action_space.n)
    agent = Agent(nS, nA, config, seed=0)
    agent._epsilon.assign(0.1)  # mostly greedy, as late in training
    rng = np.random.default_rng(0)
    state = {"s": np.asarray(env.reset(seed=0)[0], np.float32)}
    plays = variant not in ("loop", "crossing", FRESH, "update alone")

    def callback(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The same two outputs as EpisodeRunner._env_step: the state, then the reward,
        # terminated, done and game steps packed in one float64 array.
        if variant != FRESH:
            _keep_thread_state()
        if variant in ("crossing", FRESH):
            return state["s"], np.array([0.0, False, False, 1], np.float64)
        action = int(a) if variant != "game" else int(rng.integers(nA))
        s_, r, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            s_, _ = env.reset()
        outcome = np.array([r, terminated, terminated or truncated, 1], np.float64)
        return np.asarray(s_, np.float32), outcome

    learn = variant.startswith("learn")
    overlap = variant == "learn, overlap"

    @tf.function
    def run(s: tf.Tensor) -> tf.Tensor:
        t = tf.constant(0)
        while t < chunk:
            if variant == "update alone":
                agent.update_graph()
            elif variant != "loop":
                a = tf.constant(0)
                if variant not in ("crossing", FRESH, "game"):
                    a = agent.act_graph(s, agent._epsilon.read_value())
                if overlap:
                    agent.update_graph()
                s_, outcome = tf.numpy_function(
                    callback, [a], [tf.float32, tf.float64], stateful=True
                )
                s_.set_shape((nS,))
                outcome.set_shape((4,))
                r, terminated, done, _ = tf.unstack(outcome)
                terminated = terminated > 0
                if variant == "store" or overlap:
                    agent.memory.store(s, a, tf.cast(r, tf.float32), s_, terminated)
                elif learn:
                    agent.observe_graph(s, a, tf.cast(r, tf.float32), s_, terminated)
                s = s_
            t += 1
        return s

    s0 = tf.constant(state["s"])
    if variant == "update alone" or not plays:
        # A memory with something in it, so that every update runs.
        n = 2 * config.batch_size
        agent.memory.add_memories(
            rng.normal(size=(n, nS)),
            rng.integers(nA, size=n),
            rng.normal(size=n),
            rng.normal(size=(n, nS)),
            np.zeros(n, bool),
        )
    run(s0)  # trace and warm up
    return lambda: run(s0)


def time_variant(fn, steps: int, chunk: int) -> float:  # noqa: ANN001
    calls = max(1, steps // chunk)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return calls * chunk / (time.perf_counter() - start)


def episode_runner(preset: str, steps: int) -> float:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import compiled

    from dqn_tf.presets import get_preset

    return compiled(steps, 2_000, True, get_preset(preset))


def inside_the_real_loop(preset: str, steps: int) -> dict[str, float]:
    """The package's own loop (Environment.learn), timed from inside: the Python time of
    each game callback and of the game's step within it (perf_counter around both), then
    TensorFlow's profiler on a shorter stretch for the PyFunc op (the whole crossing) and
    the time TensorFlow's threads spend executing the step's ops. Microseconds per step."""
    import glob
    import tempfile

    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from dqn_tf.environment import Environment
    from dqn_tf.presets import get_preset
    from dqn_tf.quiet import tf

    folder = tempfile.mkdtemp(prefix="loop_profile-")
    env = Environment(config=get_preset(preset), seed=0, run_dir=folder, summaries=False)
    kw = dict(episodes=None, epsilon=1.0, log_every=0)
    runner, game = env.runner, env.runner.env
    spent = {"callback": 0.0, "game": 0.0, "calls": 0}
    callback, game_step = runner._env_step, game.step

    def timed_game_step(a):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        out = game_step(a)
        spent["game"] += time.perf_counter() - start
        return out

    def timed_callback(a):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        out = callback(a)
        spent["callback"] += time.perf_counter() - start
        spent["calls"] += 1
        return out

    game.step = timed_game_step
    runner._env_step = timed_callback
    runner._run = tf.function(runner._run_graph)  # traced with the timed callback
    env.learn(steps=2_000, **kw)  # trace, warm up, fill past one batch
    spent.update(callback=0.0, game=0.0, calls=0)
    start = time.perf_counter()
    env.learn(steps=steps, **kw)
    wall = time.perf_counter() - start
    calls = spent["calls"]
    figures = {
        "wall per step": wall / calls * 1e6,
        "callback's Python": spent["callback"] / calls * 1e6,
        "game's step within it": spent["game"] / calls * 1e6,
    }

    trace_steps = min(steps, 3_000)
    logdir = tempfile.mkdtemp(prefix="loop_profile-trace-")
    tf.profiler.experimental.start(logdir)
    env.learn(steps=trace_steps, **kw)
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(
        Path(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0]).read_bytes()
    )
    pyfunc = executing = 0.0
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue  # TensorFlow's inter-op threads only
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if name.endswith(":PyFunc"):
                    pyfunc += event.duration_ps / 1e6
                elif name == "ExecutorState::Process":
                    executing += event.duration_ps / 1e6
    figures["PyFunc op (the whole crossing, game included)"] = pyfunc / trace_steps
    figures["TensorFlow's threads busy (both, PyFunc included)"] = executing / trace_steps
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="book")
    parser.add_argument("--json", action="store_true")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()

    fresh = build(FRESH, args.preset, args.chunk)
    runs: dict[str, list[float]] = {v: [] for v in (FRESH, *VARIANTS, "EpisodeRunner")}
    runs[FRESH] = [time_variant(fresh, args.steps, args.chunk) for _ in range(args.rounds)]
    fns = {v: build(v, args.preset, args.chunk) for v in VARIANTS}
    for _ in range(args.rounds):
        for v in VARIANTS:
            runs[v].append(time_variant(fns[v], args.steps, args.chunk))
        runs["EpisodeRunner"].append(episode_runner(args.preset, args.steps))
    sps = {v: statistics.median(r) for v, r in runs.items()}
    us = {v: 1e6 / s for v, s in sps.items()}

    print(
        f"command: python bench/loop_profile.py --steps {args.steps} --chunk {args.chunk} "
        f"--rounds {args.rounds} --preset {args.preset}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"| variant | steps/s (median of {args.rounds}) | us per step | added by this piece |")
    print("|---|---|---|---|")
    previous = None
    for v in (FRESH, *VARIANTS, "EpisodeRunner"):
        base = {
            FRESH: "loop",
            "loop": None,
            "crossing": "loop",
            "learn, overlap": "store",
            "update alone": "loop",
            "EpisodeRunner": None,
        }.get(v, previous)
        added = f"{us[v] - us[base]:+.0f} us (vs {base})" if base else ""
        print(f"| {v} | {sps[v]:,.0f} | {us[v]:.0f} | {added} |")
        previous = v
    inside = inside_the_real_loop(args.preset, args.steps)
    print()
    print("Inside the real loop (EpisodeRunner, learning), microseconds per step:")
    for name, value in inside.items():
        print(f"  {name:52s} {value:7.1f}")
    figures = {"sps": sps, "us_per_step": us, "runs": runs, "inside": inside}
    if args.json:
        print(json.dumps(figures))
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
