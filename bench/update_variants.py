"""Ways to run the Double-DQN update, timed inside a compiled loop of updates.

    python bench/update_variants.py [--updates 1000] [--rounds 5] [--preset book] [--results PATH]

Each variant runs ``--updates`` updates inside one ``tf.function`` (a ``tf.while_loop``), on
the same agent state and replay memory, so the figure is what an update costs inside the
training loop, not what a call from Python costs (about 300 us here, bench/loop_profile.py).
Rounds alternate between the variants; each figure is the median.

  keras            the package's update (Agent.replay_graph: Keras' Adam)
  xla              the same compiled by XLA (jit_compile=True), called inside the loop
  ResourceApplyAdam  the gradient applied by TensorFlow's fused Adam kernels, one per variable
  lean Adam        Keras' Adam formulas with the step terms (bias corrections) computed once
                   per update instead of once per variable; the bench checks that it gives
                   the same weights to the bit

Only ``keras`` is what the package runs; the others are kept here as the measurement behind
docs/speed.md's "What did not help".
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import results  # noqa: E402

VARIANTS = ("keras", "xla", "ResourceApplyAdam", "lean Adam")


def make(variant: str, preset: str, updates: int):  # noqa: ANN201 (returns agent, callable)
    from dqn_tf.agent import Agent
    from dqn_tf.presets import get_preset
    from dqn_tf.quiet import tf
    from dqn_tf.seeding import set_global_seeds

    config = get_preset(preset)
    set_global_seeds(0)
    agent = Agent(8, 4, config, seed=0)
    opt = agent.brain.optimizer
    b1, b2 = tf.constant(opt.beta_1, tf.float32), tf.constant(opt.beta_2, tf.float32)

    def step_terms() -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        local_step = tf.cast(opt.iterations + 1, tf.float32)
        lr = tf.cast(opt.learning_rate, tf.float32)
        return lr, tf.pow(b1, local_step), tf.pow(b2, local_step), local_step

    def fused_apply(grads: list, variables: list) -> None:
        lr, b1p, b2p, _ = step_terms()
        for g, var in zip(grads, variables, strict=True):
            i = opt._get_variable_index(var)
            tf.raw_ops.ResourceApplyAdam(
                var=var.value.handle,
                m=opt._momentums[i].value.handle,
                v=opt._velocities[i].value.handle,
                beta1_power=b1p,
                beta2_power=b2p,
                lr=lr,
                beta1=b1,
                beta2=b2,
                epsilon=tf.constant(opt.epsilon, tf.float32),
                grad=g,
            )
        opt.iterations.assign_add(1)

    def lean_apply(grads: list, variables: list) -> None:
        # keras.optimizers.Adam.update_step, expression for expression.
        lr, b1p, b2p, _ = step_terms()
        alpha = lr * tf.sqrt(1 - b2p) / (1 - b1p)
        for g, var in zip(grads, variables, strict=True):
            i = opt._get_variable_index(var)
            m, v = opt._momentums[i].value, opt._velocities[i].value
            m.assign_add(tf.multiply(tf.subtract(g, m), 1 - opt.beta_1))
            v.assign_add(tf.multiply(tf.subtract(tf.square(g), v), 1 - opt.beta_2))
            var.value.assign_sub(tf.divide(tf.multiply(m, alpha), tf.add(tf.sqrt(v), opt.epsilon)))
        opt.iterations.assign_add(1)

    if variant == "ResourceApplyAdam":
        opt.apply = fused_apply
    elif variant == "lean Adam":
        opt.apply = lean_apply
    update = agent.replay_graph
    if variant == "xla":
        update = tf.function(agent.replay_graph, jit_compile=True)

    rng = np.random.default_rng(0)
    n = 1_000
    agent.memory.add_memories(
        rng.normal(size=(n, 8)),
        rng.integers(4, size=n),
        rng.normal(size=n),
        rng.normal(size=(n, 8)),
        np.zeros(n, bool),
    )

    @tf.function
    def run() -> tf.Tensor:
        t, total = tf.constant(0), tf.constant(0.0)
        while t < updates:
            total += update()
            t += 1
        return total

    run()  # trace, compile, warm up
    return agent, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--preset", default="book")
    results.add_option(parser)
    args = parser.parse_args()
    recorder = results.start()

    built = {v: make(v, args.preset, args.updates) for v in VARIANTS}
    same = all(
        np.array_equal(x, y)
        for x, y in zip(
            built["keras"][0].model.get_weights(),
            built["lean Adam"][0].model.get_weights(),
            strict=True,
        )
    )
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for v, (_, run) in built.items():
            start = time.perf_counter()
            run()
            times[v].append((time.perf_counter() - start) / args.updates * 1e6)

    print(
        f"command: python bench/update_variants.py --updates {args.updates} "
        f"--rounds {args.rounds} --preset {args.preset}"
    )
    print(f"load average before the last round: {os.getloadavg()[0]:.2f}")
    print(f"| variant | us per update (median of {args.rounds}) | rounds |")
    print("|---|---|---|")
    for v, ts in times.items():
        print(f"| {v} | {statistics.median(ts):.0f} | {', '.join(f'{t:.0f}' for t in ts)} |")
    print(f"lean Adam gives Keras' weights to the bit after the warm-up updates: {same}")
    figures = {
        "us_per_update_median": {v: statistics.median(ts) for v, ts in times.items()},
        "us_per_update_rounds": times,
        "lean_adam_same_weights": same,
    }
    recorder.write(args.results, figures, args.note)


if __name__ == "__main__":
    main()
