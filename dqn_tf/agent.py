"""Agent: acting, exploring, remembering and learning (both originals' ``Agent``).

The compiled loop (:mod:`dqn_tf.loop`) composes the graph-side pieces (``act_graph``,
``update_graph``, ...); the originals' methods (``act``, ``observe``, ``replay``, ...) call the
same pieces one at a time. All training state is in ``tf.Variable``s, which a checkpoint saves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dqn_tf.brain import Architecture, Brain
from dqn_tf.memory import Memory
from dqn_tf.presets import Config
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise


class Agent:
    """Epsilon-greedy DQN agent for states of ``nS`` numbers and ``nA`` actions.

    ``seed`` seeds the generator of exploration and replay sampling; the initial weights come
    from Keras' global seed (:func:`dqn_tf.seeding.set_global_seeds`, which Environment calls)."""

    def __init__(
        self,
        nS: int,
        nA: int,
        config: Config | None = None,
        seed: int = 0,
        summaries_dir: str | os.PathLike | None = None,
        neural_architecture: Architecture | None = None,
    ) -> None:
        self.nS, self.nA = nS, nA
        self.config = config = config if config is not None else Config()
        self.gamma = config.gamma
        self.batch_size = config.batch_size
        self.epsilon_min = config.epsilon_min
        self.epsilon_decay = config.epsilon_decay
        self.generator = tf.random.Generator.from_seed(seed)
        self.brain = Brain(nS, nA, config, neural_architecture, summaries_dir)
        # The book's names for the two networks.
        self.model, self.target_model = self.brain.model, self.brain.target_model
        self.memory = Memory(config.memory_size, nS, self.generator, config.priority_alpha > 0)
        self._epsilon = tf.Variable(float(config.epsilon_start), trainable=False, name="epsilon")
        # Agent steps (decisions) taken while learning; they drive the Keras notebook's linear
        # epsilon phase and step-based target sync.
        self.steps = tf.Variable(tf.constant(0, tf.int64), trainable=False, name="steps")
        self._act = tf.function(self.act_graph)
        self._replay = tf.function(self.replay_graph)
        self._observe = tf.function(self.observe_graph)
        self._update = tf.function(self.update_graph)

    # --- epsilon ----------------------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        """Current exploration rate."""
        return float(self._epsilon.numpy())

    @epsilon.setter
    def epsilon(self, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError(f"epsilon must be in [0, 1] (got {value!r})")
        self._epsilon.assign(float(value))

    def epsilon_update(self, t: int | None = None) -> float:
        """End-of-episode decay; returns the new epsilon (``t``: unused, as the book passes it).

        Book: ``epsilon *= 0.9994``; Keras notebook: ``*= 0.97`` after its linear phase. Clamped
        at ``epsilon_min``, which the book could step just below."""
        del t
        linear_over = int(self.steps.numpy()) >= self.config.epsilon_linear_steps
        if linear_over and self.epsilon > self.epsilon_min:
            self._epsilon.assign(max(self.epsilon_min, self.epsilon * self.epsilon_decay))
        return self.epsilon

    def epsilon_step_graph(self) -> None:
        """The Keras notebook's linear decay over the first ``epsilon_linear_steps`` steps,
        computed from the step counter, so it does not drift."""
        n = self.config.epsilon_linear_steps
        if n == 0:
            return
        start, end = self.config.epsilon_start, self.config.epsilon_linear_end
        frac = tf.cast(self.steps, tf.float32) / float(n)
        self._epsilon.assign(tf.where(self.steps < n, start + (end - start) * frac, self._epsilon))

    # --- graph-side pieces ------------------------------------------------------------------------
    def greedy_graph(self, s: tf.Tensor) -> tf.Tensor:
        """The online network's best action for one state ``(nS,)``. It draws nothing from the
        generator, so periodic evaluations never change the course of training."""
        q = self.brain.model(tf.reshape(s, (1, self.nS)), training=False)[0]
        return tf.argmax(q, output_type=tf.int32)

    def act_graph(self, s: tf.Tensor, epsilon: tf.Tensor) -> tf.Tensor:
        """Epsilon-greedy action for one state ``(nS,)``, an int32 scalar.

        Both random draws are made whichever branch wins, so the generator's sequence (and
        hence the whole run) does not depend on the Q-values."""
        u = self.generator.uniform((), dtype=tf.float32)
        random_action = self.generator.uniform((), 0, self.nA, dtype=tf.int32)
        return tf.where(u < epsilon, random_action, self.greedy_graph(s))

    def replay_graph(self) -> tf.Tensor:
        """Sample a batch and take one compiled update; returns the loss."""
        cfg = self.config
        if cfg.n_step > 1 or cfg.priority_alpha > 0:
            return self.replay_after_the_book_graph()
        return self.brain.train_step(*self.memory.sample_graph(self.batch_size))[0]

    def replay_after_the_book_graph(self) -> tf.Tensor:
        """:meth:`replay_graph` with n-step returns and prioritized replay: sample by priority
        and weigh each row by ``(N P(i))^-beta`` over its batch's largest (the weights undo the
        bias of sampling by priority, fully once beta reaches 1), or uniformly; sum n rewards;
        then give the batch its new priorities ``(|TD error| + eps)^alpha``."""
        cfg, memory = self.config, self.memory
        weights = None
        if cfg.priority_alpha > 0:
            idx, p = memory.sample_prioritized(self.batch_size)
            weights = self.importance_weights(p)
        else:
            idx = memory.sample_indices(self.batch_size)
        s, a, r, s_, terminated, demo = memory.gather(idx)
        discount = None
        if cfg.n_step > 1:
            r, s_, terminated, discount = memory.n_step_graph(idx, cfg.n_step, cfg.gamma)
        loss, td_errors = self.brain.train_step(s, a, r, s_, terminated, demo, discount, weights)
        if cfg.priority_alpha > 0:
            memory.update_priorities(
                idx, (tf.abs(td_errors) + cfg.priority_eps) ** cfg.priority_alpha
            )
        return loss

    def update_graph(self) -> tuple[tf.Tensor, tf.Tensor]:
        """One step's learning, ``(updated, loss)``: sync, count, decay epsilon, maybe replay.

        The target syncs before the step is counted (as in the Keras notebook); replay waits for
        more than ``max(batch_size, learning_starts)`` transitions. It reads nothing the game
        returns, so with ``learn_order="overlap"`` it runs while the game steps."""
        cfg = self.config
        if cfg.target_sync_steps > 0:
            if tf.equal(self.steps % cfg.target_sync_steps, 0):
                self.brain.sync_target_graph()
        self.steps.assign_add(1)
        self.epsilon_step_graph()
        ready = self.memory.size > max(cfg.batch_size, cfg.learning_starts)
        if cfg.train_every > 1:
            ready = tf.logical_and(ready, tf.equal(self.steps % cfg.train_every, 0))
        loss = tf.constant(0.0, tf.float32)
        if ready:
            loss = self.replay_graph()
        return ready, loss

    def importance_weights(self, p: tf.Tensor) -> tf.Tensor:
        """Prioritized replay's weights of a batch drawn with probabilities ``p``:
        ``(N P(i))^-beta`` over their largest, ``beta`` rising linearly from ``priority_beta``
        to 1 over ``priority_beta_steps`` decisions. Rows sampled more often than uniform
        sampling would (``N P(i) > 1``) weigh less; dividing by the largest only scales the
        step down."""
        cfg = self.config
        done = tf.cast(self.steps, tf.float32) / max(cfg.priority_beta_steps, 1)
        beta = cfg.priority_beta + (1.0 - cfg.priority_beta) * tf.minimum(done, 1.0)
        weights = (tf.cast(self.memory.size, tf.float32) * p) ** -beta
        return weights / tf.reduce_max(weights)

    def observe_graph(
        self,
        s: tf.Tensor,
        a: tf.Tensor,
        r: tf.Tensor,
        s_: tf.Tensor,
        terminated: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Store the transition, then :meth:`update_graph`: the originals' order."""
        self.memory.store(s, a, r, s_, terminated)
        return self.update_graph()

    # --- the originals' API, one call at a time ---------------------------------------------------
    def act(self, s: np.ndarray, epsilon: float | None = None) -> int:
        """Epsilon-greedy action for a state ``(nS,)`` or ``(1, nS)``, with the agent's epsilon
        unless one is given (0: greedy)."""
        eps = self._epsilon if epsilon is None else tf.constant(float(epsilon))
        s = tf.constant(np.asarray(s, np.float32).reshape(self.nS))
        return int(self._act(s, eps))

    def add_memory(self, s, a, r, s_, terminated) -> None:  # noqa: ANN001 (array-likes)
        """Store one transition (the book's ``agent.memory.add_memory``)."""
        self.memory.add_memory(s, a, r, s_, terminated)

    def observe(self, s, a, r, s_, terminated) -> float | None:  # noqa: ANN001
        """The Keras notebook's ``observe`` + ``decrementEpsilon`` + ``replay``: the loss, or
        None without an update."""
        updated, loss = self._observe(*self.memory.transition(s, a, r, s_, terminated))
        return float(loss) if bool(updated) else None

    def update(self) -> float | None:
        """:meth:`update_graph` one call at a time: the loss, or None without an update."""
        updated, loss = self._update()
        return float(loss) if bool(updated) else None

    def replay(self) -> float:
        """One Double-DQN (book) or DQN (Keras notebook) update on a sampled batch: the loss."""
        if len(self.memory) == 0:
            raise ValueError("cannot replay from an empty memory: add transitions first")
        return float(self._replay())

    def target_model_update(self) -> None:
        """Set the target network's weights to the online network's."""
        self.brain.target_model_update()

    def save_weights(self, filename: str | os.PathLike) -> Path:
        """Save the online network's weights (atomically) and print where."""
        path = self.brain.save_weights(filename)
        print(f"Model saved in file: {path}")
        return path

    def load_weights(self, filename: str | os.PathLike) -> None:
        """Restore weights into the online and target networks."""
        self.brain.load_weights(filename)
        print(f"Model restored from file: {filename}")

    def random_action(self) -> int:
        """A uniformly random action from the agent's generator (the Keras notebook's pre-fill)."""
        return int(self.generator.uniform((), 0, self.nA, dtype=tf.int32))
