"""Brain: the Q-network, its target twin and the compiled update (both originals' ``Brain``).

The originals call ``predict`` and ``fit`` several times per game step, each a crossing into
TensorFlow that costs more than a small network's math; here the whole update is one
``tf.function``, :meth:`Brain.train_step` (``predict`` and ``fit`` remain, one call at a time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dqn_tf.files import atomic_path
from dqn_tf.presets import Config, ConfigError
from dqn_tf.quiet import keras, tf  # TensorFlow without its start-up noise

# The book's ``neural_architecture`` argument: (input tensor, number of actions) -> Q-values.
Architecture = Callable[[keras.KerasTensor, int], keras.KerasTensor]


def dense_network(hidden: tuple[int, ...], dueling: bool = False) -> Architecture:
    """ReLU hidden layers of the given sizes and a linear output (book: (32, 32)). ``dueling``
    (after the book): the last hidden layer becomes two streams, one for the state's value V
    and one for each action's advantage A, combined by :class:`Dueling`."""

    def build(x: keras.KerasTensor, n_actions: int) -> keras.KerasTensor:
        for units in hidden[:-1] if dueling else hidden:
            x = keras.layers.Dense(units, activation="relu")(x)
        if not dueling:
            return keras.layers.Dense(n_actions, activation=None)(x)
        value = keras.layers.Dense(hidden[-1], activation="relu", name="value_stream")(x)
        advantage = keras.layers.Dense(hidden[-1], activation="relu", name="advantage_stream")(x)
        value = keras.layers.Dense(1, name="value")(value)
        return Dueling()([value, keras.layers.Dense(n_actions, name="advantage")(advantage)])

    return build


@keras.saving.register_keras_serializable(package="dqn_tf")
class Dueling(keras.layers.Layer):
    """``Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')`` (Wang et al. 2016). V + A alone could
    move any constant between the two; subtracting the mean pins it: the advantages average
    zero, and V is the mean of the Q-values."""

    def call(self, inputs: list[keras.KerasTensor]) -> keras.KerasTensor:
        value, advantage = inputs
        return value + advantage - keras.ops.mean(advantage, axis=1, keepdims=True)


def _scalar(tag: str, value: tf.Tensor) -> None:
    """A TensorBoard scalar under exactly ``tag``. ``tf.summary.scalar`` prefixes the name
    scope, which inside the compiled loop is ``while/cond_1/``; ``tf.summary.write`` with the
    scalar plugin's metadata keeps the book's plain names."""
    from tensorboard.plugins.scalar import metadata

    meta = metadata.create_summary_metadata(display_name=tag, description="")
    tf.summary.write(tag, tf.cast(value, tf.float32), metadata=meta)


class Brain:
    """Q-value approximation by a neural network, and the target network it learns against:
    ``nS`` inputs, ``nA`` outputs, the book's settings unless ``config`` says otherwise.
    ``neural_architecture`` (the book's argument) replaces ``config.hidden``; TensorBoard
    events go to ``summaries_dir`` (none when None)."""

    def __init__(
        self,
        nS: int,
        nA: int,
        config: Config | None = None,
        neural_architecture: Architecture | None = None,
        summaries_dir: str | os.PathLike | None = None,
    ) -> None:
        self.nS, self.nA = nS, nA
        self.config = config = config if config is not None else Config()
        if neural_architecture is not None and config.dueling:
            raise ConfigError(
                "dueling=true builds dense_network's dueling head: with a neural_architecture "
                "of your own, build the head in it and leave dueling false"
            )
        self.neural_architecture = neural_architecture or dense_network(
            config.hidden, config.dueling
        )
        self.model = self._build("q")
        self.target_model = self._build("target_q")
        self.optimizer = self._make_optimizer()
        # Creating the optimizer's slots now keeps variable creation out of the compiled step.
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = self._make_loss()
        self.updates = tf.Variable(tf.constant(0, tf.int64), trainable=False, name="updates")
        self.summary_writer = (
            tf.summary.create_file_writer(str(summaries_dir)) if summaries_dir else None
        )
        self.target_model_update()
        self._predict = tf.function(self.q_values)
        self._fit = tf.function(self._fit_graph)
        self._train_step = tf.function(self.train_step)
        self._sync = tf.function(self.sync_target_graph)

    def _build(self, name: str) -> keras.Model:
        inputs = keras.Input(shape=(self.nS,), name="state")
        return keras.Model(inputs, self.neural_architecture(inputs, self.nA), name=name)

    def _make_optimizer(self) -> keras.optimizers.Optimizer:
        lr = self.config.learning_rate
        if self.config.learning_rate_decay_steps:  # a function of the optimizer's iterations
            lr = keras.optimizers.schedules.PolynomialDecay(
                lr, self.config.learning_rate_decay_steps, end_learning_rate=0.0
            )
        if self.config.optimizer == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate=lr)
        return keras.optimizers.Adam(learning_rate=lr)

    def _make_loss(self) -> keras.losses.Loss:
        if self.config.loss == "huber":
            return keras.losses.Huber(delta=self.config.huber_delta)
        return keras.losses.MeanSquaredError()

    # --- graph-side pieces ------------------------------------------------------------------------
    def q_values(self, s: tf.Tensor, target: bool = False) -> tf.Tensor:
        """Q-values of a batch of states ``(B, nS)`` from the online or target net."""
        return (self.target_model if target else self.model)(s, training=False)

    def td_targets(
        self,
        r: tf.Tensor,
        s_: tf.Tensor,
        terminated: tf.Tensor,
        discount: tf.Tensor | float | None = None,
    ) -> tf.Tensor:
        """``r + gamma * Q_target(s_, a*)`` for non-terminal ``s_``, ``r`` for terminal ones.

        ``a*`` is the online net's argmax (Double DQN, book) or the target net's (plain DQN,
        the Keras notebook, which is the same as taking the target net's max). With n-step
        returns, ``r`` is a sum of k rewards and ``discount`` is ``gamma^k`` per row.
        """
        discount = self.config.gamma if discount is None else discount
        q_next_target = self.target_model(s_, training=False)
        if self.config.double_dqn:
            best = tf.argmax(self.model(s_, training=False), axis=1, output_type=tf.int32)
            q_next = tf.gather(q_next_target, best, axis=1, batch_dims=1)
        else:
            q_next = tf.reduce_max(q_next_target, axis=1)
        not_done = 1.0 - tf.cast(terminated, tf.float32)
        return tf.cast(r, tf.float32) + discount * not_done * q_next

    def train_step(
        self,
        s: tf.Tensor,
        a: tf.Tensor,
        r: tf.Tensor,
        s_: tf.Tensor,
        terminated: tf.Tensor,
        demo: tf.Tensor | None = None,
        discount: tf.Tensor | None = None,
        weights: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One gradient step on a batch; returns the loss and the TD errors. Like both
        originals, the regression target is the online net's own prediction with the taken
        action's entry replaced by the TD target, the loss averaged over all ``B * nA``
        entries (untaken ones add zero error). ``discount``, ``weights``: after the book."""
        target = tf.stop_gradient(self.td_targets(r, s_, terminated, discount))
        a = tf.cast(a, tf.int32)
        taken = tf.stack([tf.range(tf.shape(a)[0], dtype=tf.int32), a], axis=1)
        with_margin = self.config.demo_margin > 0 and demo is not None
        loss, q = self._regress(
            s,
            lambda q: tf.tensor_scatter_nd_update(tf.stop_gradient(q), taken, target),
            self._margin_loss(a, demo) if with_margin else None,
            weights,
        )
        return loss, target - tf.gather(q, a, axis=1, batch_dims=1)

    def _margin_loss(self, a: tf.Tensor, demo: tf.Tensor) -> Callable[[tf.Tensor], tf.Tensor]:
        """DQfD's large-margin loss (Hester et al. 2018) on the demonstrations (``demo``) of a
        batch, averaged over its ``B`` rows: ``max_a [Q(s, a) + margin * (a != a_demo)] -
        Q(s, a_demo)``. It is zero once the demonstrated action leads every other by the
        margin, so the greedy policy copies the demonstrator where it has shown the way, while
        TD learning goes on everywhere. The TD term is averaged over ``B * nA`` entries, so
        this one weighs about ``nA`` times what DQfD's weight of 1 gives it."""
        margins = self.config.demo_margin * (1.0 - tf.one_hot(a, self.nA))
        weight = tf.cast(demo, tf.float32)

        def margin_loss(q: tf.Tensor) -> tf.Tensor:
            q_demo = tf.gather(q, a, axis=1, batch_dims=1)
            return tf.reduce_mean(weight * (tf.reduce_max(q + margins, axis=1) - q_demo))

        return margin_loss

    def _regress(
        self,
        s: tf.Tensor,
        make_y: Callable[[tf.Tensor], tf.Tensor],
        extra_loss: Callable[[tf.Tensor], tf.Tensor] | None = None,
        weights: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One gradient step of ``loss(make_y(Q(s)), Q(s))`` (plus ``extra_loss(Q(s))``), each
        row weighted by ``weights`` if given: the originals' ``fit`` on one batch, shared by
        :meth:`train_step` and :meth:`fit`. Returns the loss and ``Q(s)`` before the step."""
        with tf.GradientTape() as tape:
            q = self.model(s, training=True)
            loss = self.loss_fn(make_y(q), q, sample_weight=weights)
            if extra_loss is not None:
                loss += extra_loss(q)
        variables = self.model.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.updates.assign_add(1)
        self._write_summaries(loss, q)
        return loss, q

    def _write_summaries(self, loss: tf.Tensor, q: tf.Tensor) -> None:
        if self.summary_writer is None:
            return
        record = tf.equal(self.updates % self.config.summary_every, 0)
        with self.summary_writer.as_default(step=self.updates), tf.summary.record_if(record):
            # The book's three summaries, under the book's names.
            _scalar("loss", loss)
            _scalar("max_q_value", tf.reduce_max(q))
            _scalar("mean_q_value", tf.reduce_mean(q))

    def _fit_graph(self, s: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return self._regress(s, lambda _q: y)[0]

    def sync_target_graph(self) -> None:
        for target, online in zip(self.target_model.weights, self.model.weights, strict=True):
            target.assign(online)

    # --- the originals' API, one call at a time ---------------------------------------------------
    def predict(self, s: np.ndarray, target: bool = False) -> np.ndarray:
        """Q-values for one state ``(nS,)`` or a batch ``(B, nS)``; returns ``(B, nA)``."""
        s = np.asarray(s, np.float32).reshape(-1, self.nS)
        return self._predict(tf.constant(s), target).numpy()

    def fit(self, s: np.ndarray, y: np.ndarray, epochs: int = 1) -> float:
        """Regress ``Q(s)`` onto the full target matrix ``y`` ``(B, nA)`` for ``epochs`` steps
        (the originals' ``fit``); returns the last loss."""
        s = tf.constant(np.asarray(s, np.float32).reshape(-1, self.nS))
        y = tf.constant(np.asarray(y, np.float32).reshape(-1, self.nA))
        loss = None
        for _ in range(epochs):
            loss = self._fit(s, y)
        return float(loss)

    def target_model_update(self) -> None:
        """Copy the online weights into the target network."""
        self.sync_target_graph()  # plain assigns: the same code runs eagerly

    def save_weights(self, filename: str | os.PathLike) -> Path:
        """Write the online network's weights to ``filename`` (``.weights.h5``), atomically."""
        path = Path(filename)
        if not path.name.endswith(".weights.h5"):
            raise ValueError(f"weights file name must end in .weights.h5 (got {path})")
        with atomic_path(path, suffix=".tmp.weights.h5") as tmp:
            self.model.save_weights(str(tmp))
        return path

    def load_weights(self, filename: str | os.PathLike) -> None:
        """Load weights saved by :meth:`save_weights` into both networks; FileNotFoundError
        when missing, ConfigError naming both shapes when saved from another architecture."""
        path = Path(filename)
        if not path.is_file():
            raise FileNotFoundError(f"no weights file at {path}")
        expected = [tuple(w.shape) for w in self.model.weights]
        probe = self._shapes_in_file(path)
        if probe is not None and probe != expected:
            raise ConfigError(
                f"weights in {path} were built for another architecture: the file holds "
                f"shapes {probe}, this network needs {expected}"
            )
        try:
            self.model.load_weights(str(path))
        except Exception as exc:  # keras raises several types for foreign files
            raise ConfigError(f"cannot load weights from {path}: {exc}") from exc
        self.target_model_update()

    @staticmethod
    def _shapes_in_file(path: Path) -> list[tuple[int, ...]] | None:
        """Weight shapes stored in a Keras ``.weights.h5`` file, in layer order, or None when
        the file cannot be read that way (then Keras' own error is reported)."""
        import h5py  # comes with Keras

        shapes: list[tuple[int, ...]] = []
        try:
            with h5py.File(path, "r") as f:
                f["layers"].visititems(
                    lambda _name, obj: shapes.append(obj.shape) if hasattr(obj, "shape") else None
                )
        except Exception:
            return None
        return [tuple(shape) for shape in shapes]
