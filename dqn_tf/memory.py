"""Memory: experience replay of fixed capacity (both originals' ``Memory`` class).

Where the originals keep a ``deque`` of tuples, turned back into arrays on every update, each
field here is one preallocated ``tf.Variable`` that the compiled loop writes and samples in
place. Unlike the originals it stores ``terminated``, not ``done``: an episode cut by the time
limit still bootstraps from its next state's value."""

from __future__ import annotations

import numpy as np

from dqn_tf.errors import ConfigError, check_count
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise


class Memory:
    """Replay memory of ``memory_size`` transitions that overwrites the oldest when full.

    ``generator``, the run's, draws the samples; without it, a private one seeded with 0.
    ``prioritized`` adds a priority per transition (prioritized replay, after the book)."""

    def __init__(
        self,
        memory_size: int,
        state_size: int,
        generator: tf.random.Generator | None = None,
        prioritized: bool = False,
    ) -> None:
        check_count("memory_size", memory_size)
        check_count("state_size", state_size)
        self.capacity = memory_size
        self.state_size = state_size
        self.generator = generator if generator is not None else tf.random.Generator.from_seed(0)
        n = memory_size  # the rows of every array

        def zeros(name: str, shape: tuple[int, ...], dtype: tf.DType) -> tf.Variable:
            return tf.Variable(tf.zeros(shape, dtype), trainable=False, name=name)

        with tf.name_scope("memory"):
            self.states = zeros("states", (n, state_size), tf.float32)
            self.actions = zeros("actions", (n,), tf.int32)
            self.rewards = zeros("rewards", (n,), tf.float32)
            self.next_states = zeros("next_states", (n, state_size), tf.float32)
            self.terminated = zeros("terminated", (n,), tf.bool)
            # Which transitions are demonstrations (Config.demonstrator): the margin loss of
            # Brain.train_step applies to those only. Not in the originals.
            self.demo = zeros("demo", (n,), tf.bool)
            # Next slot to write and number of valid transitions; int64 never overflows.
            self.index = zeros("index", (), tf.int64)
            self.size = zeros("size", (), tf.int64)
            # Prioritized replay: each transition's priority, already raised to alpha (what
            # sampling weighs), and the largest so far, which every new transition gets.
            self.priorities = zeros("priorities", (n,), tf.float32) if prioritized else None
            self.max_priority = (
                tf.Variable(1.0, trainable=False, name="max_priority") if prioritized else None
            )
        # A transition's fields, in the order store takes them and sample_graph returns them.
        names = ("states", "actions", "rewards", "next_states", "terminated", "demo")
        self.columns = tuple(getattr(self, name) for name in names)
        self._store_fn = tf.function(self.store)
        self._sample_fn = tf.function(self.sample_graph)

    # --- graph-side pieces (called inside tf.function by the agent and the loop) ------------------
    def store(
        self,
        s: tf.Tensor,
        a: tf.Tensor,
        r: tf.Tensor,
        s_: tf.Tensor,
        terminated: tf.Tensor,
    ) -> None:
        """Write one transition at ``index`` (in place), then advance ``index`` and ``size``."""
        self._write((s, a, r, s_, terminated, False), self.index[None])
        self.index.assign((self.index + 1) % self.capacity)
        self.size.assign(tf.minimum(self.size + 1, self.capacity))

    def sample_graph(self, n: int | tf.Tensor) -> tuple[tf.Tensor, ...]:
        """``n`` transitions drawn uniformly with replacement: ``(states, actions, rewards,
        next_states, terminated, demo)``. The originals' ``random.sample`` draws without
        replacement; with it, as DQN at scale does, costs one draw per row, not a shuffle."""
        return self.gather(self.sample_indices(n))

    def sample_indices(self, n: int | tf.Tensor) -> tf.Tensor:
        """``n`` indices of filled slots, uniformly with replacement."""
        return self.generator.uniform((n,), minval=0, maxval=self.size, dtype=tf.int64)

    def gather(self, idx: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """The transitions at ``idx``, one tensor per column, in ``store``'s order."""
        return tuple(tf.gather(column, idx) for column in self.columns)

    def _write(self, rows: tuple, idx: tf.Tensor) -> None:
        """Write ``rows`` (one value per column, each with ``len(idx)`` rows) at ``idx``; in a
        prioritized memory they get the largest priority so far, so each is replayed soon."""
        for column, value in zip(self.columns, rows, strict=True):
            value = tf.reshape(tf.cast(value, column.dtype), (-1, *column.shape[1:]))
            column.scatter_update(tf.IndexedSlices(value, idx))
        if self.priorities is not None:
            fill = tf.fill(tf.shape(idx), self.max_priority)
            self.priorities.scatter_update(tf.IndexedSlices(fill, idx))

    # --- after the book: prioritized replay and n-step returns -----------------------------------
    def sample_prioritized(self, n: int) -> tuple[tf.Tensor, tf.Tensor]:
        """``n`` indices drawn with replacement, each with probability ``P(i)`` proportional to
        its priority (Schaul et al. 2016, proportional), and those probabilities. A running sum
        of all priorities and a binary search per draw: O(size) per batch, no sum tree."""
        cumulative = tf.cumsum(self.priorities[: self.size])
        u = self.generator.uniform((n,), dtype=tf.float32) * cumulative[-1]
        idx = tf.searchsorted(cumulative, u, side="right")
        idx = tf.minimum(tf.cast(idx, tf.int64), self.size - 1)  # u rounded up to the total
        return idx, tf.gather(self.priorities, idx) / cumulative[-1]

    def update_priorities(self, idx: tf.Tensor, priorities: tf.Tensor) -> None:
        """Set the sampled transitions' priorities (already raised to alpha) after an update."""
        self.priorities.scatter_update(tf.IndexedSlices(priorities, idx))
        self.max_priority.assign(tf.maximum(self.max_priority, tf.reduce_max(priorities)))

    def n_step_graph(self, idx: tf.Tensor, n: int, gamma: float) -> tuple[tf.Tensor, ...]:
        """From ``idx``, up to ``n`` steps: ``(r_t + gamma r_t+1 + ..., last next state,
        terminated, gamma^k)``. A transition continues the one before it when stored after it
        and starting from its next state: no sum mixes two episodes, a terminated end leaves
        nothing to bootstrap, a truncated one bootstraps from its last next state."""
        newer = (self.index - 1 - idx) % self.capacity  # transitions stored after each one
        reward_sum = tf.zeros(tf.shape(idx), tf.float32)
        discount = tf.ones(tf.shape(idx), tf.float32)
        going, last = tf.ones(tf.shape(idx), tf.bool), idx
        for k in range(n):
            j = (idx + k) % self.capacity
            if k > 0:
                continues = tf.reduce_all(
                    tf.gather(self.states, j) == tf.gather(self.next_states, last), axis=1
                )
                going = going & (newer >= k) & continues
            reward_sum += tf.where(going, discount * tf.gather(self.rewards, j), 0.0)
            discount = tf.where(going, discount * gamma, discount)
            last = tf.where(going, j, last)
            going = going & ~tf.gather(self.terminated, j)
        return (
            reward_sum,
            tf.gather(self.next_states, last),
            tf.gather(self.terminated, last),
            discount,
        )

    # --- the originals' API, one call at a time ---------------------------------------------------
    def __len__(self) -> int:
        return int(self.size.numpy())

    def add_memory(self, s, a, r, s_, terminated) -> None:  # noqa: ANN001 (array-likes)
        """Memorise the transition ``(s, a, r, s_)`` and whether ``s_`` is terminal (gymnasium's
        ``terminated``, not ``terminated or truncated``)."""
        self._store_fn(*self.transition(s, a, r, s_, terminated))

    def transition(self, s, a, r, s_, terminated) -> tuple[tf.Tensor, ...]:  # noqa: ANN001
        """One transition as the tensors :meth:`store` takes; states ``(nS,)`` or ``(1, nS)``."""
        s = np.asarray(s, np.float32).reshape(-1)
        s_ = np.asarray(s_, np.float32).reshape(-1)
        if s.shape != (self.state_size,) or s_.shape != (self.state_size,):
            raise ValueError(
                f"states must have {self.state_size} values (got {s.size} and {s_.size})"
            )
        values = (s, int(a), float(r), s_, bool(terminated))
        return tuple(tf.constant(v, c.dtype) for v, c in zip(values, self.columns[:5], strict=True))

    def add_memories(self, s, a, r, s_, terminated, demo: bool = False) -> None:  # noqa: ANN001
        """Memorise ``n`` transitions in one write, as ``n`` ``add_memory`` calls would (states
        ``(n, nS)``, the others ``(n,)``); ``demo`` marks them all as demonstrations."""
        if len(s) == 0 and len(s_) == 0 and len(a) == len(r) == len(terminated) == 0:
            return
        s = np.asarray(s, np.float32).reshape(len(s), -1)
        s_ = np.asarray(s_, np.float32).reshape(len(s_), -1)
        a, r, terminated = (np.asarray(v).reshape(-1) for v in (a, r, terminated))
        n = len(s)
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions must be integers (got dtype {a.dtype}: {a[:3]!r}...)")
        if terminated.dtype != np.bool_:
            raise ValueError(f"terminated must be booleans (got dtype {terminated.dtype})")
        if s.shape != (n, self.state_size) or s_.shape != (n, self.state_size):
            raise ValueError(
                f"states must have shape (n, {self.state_size}) (got {s.shape} and {s_.shape})"
            )
        if not len(a) == len(r) == len(terminated) == n:
            raise ValueError(
                f"a batch needs as many actions, rewards and flags as states ({n}); "
                f"got {len(a)}, {len(r)} and {len(terminated)}"
            )
        start = int(self.index.numpy())
        keep = min(n, self.capacity)  # a slot written twice keeps the later transition
        rows = slice(n - keep, n)
        idx = tf.constant((start + np.arange(n - keep, n)) % self.capacity, tf.int64)
        self._write(tuple(v[rows] for v in (s, a, r, s_, terminated, np.full(n, bool(demo)))), idx)
        self.index.assign((start + n) % self.capacity)
        self.size.assign(min(int(self.size.numpy()) + n, self.capacity))

    def sample(self, n: int) -> tuple[np.ndarray, ...]:
        """The Keras notebook's ``sample``: ``min(n, len(self))`` transitions as numpy arrays
        ``(states, actions, rewards, next_states, terminated)``."""
        if len(self) == 0:
            raise ValueError("cannot sample from an empty memory")
        check_count("n", n)
        batch = self._sample_fn(tf.constant(min(n, len(self)), tf.int32))
        return tuple(t.numpy() for t in batch[:5])

    def recall_memories(self) -> tuple[np.ndarray, ...]:
        """All stored transitions, oldest first: the book's list of tuples as column arrays
        ``(states, actions, rewards, next_states, terminated)``."""
        size, index = len(self), int(self.index.numpy())
        # Once full, the oldest transition sits at ``index`` (the next one to be overwritten).
        order = np.arange(size) if size < self.capacity else (np.arange(size) + index) % size
        return tuple(column.numpy()[order] for column in self.columns[:5])

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the raw size of the memory), priorities included."""
        arrays = [*self.columns, *([self.priorities] if self.priorities is not None else [])]
        return sum(int(np.prod(column.shape)) * column.dtype.size for column in arrays)


def check_fits(
    memory_size: int, hidden: tuple[int, ...], nS: int, nA: int, prioritized: bool = False
) -> None:
    """Refuse, before anything is allocated, a replay memory and network larger than the
    memory this machine has available (a ConfigError naming both fields and sizes)."""
    # A transition: state and next state (float32), action (int32), reward (float32), the
    # terminated and demonstration flags (one byte each) and maybe a priority (float32).
    replay = memory_size * (8 * nS + 10 + 4 * prioritized)
    sizes = [nS, *hidden, nA]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    # float32 weights of the online and target networks and two optimizer slots; each
    # replay array is built from a zero tensor of its size, and a checkpoint copies them.
    needed = 2 * replay + 16 * parameters
    available = _available_memory()
    if available is not None and needed > available:
        gib = 2**30
        raise ConfigError(
            f"memory_size={memory_size} and hidden={list(hidden)} need about "
            f"{needed / gib:.1f} GiB ({replay / gib:.1f} GiB of replay memory, twice while it "
            f"is created or saved), more than the {available / gib:.1f} GiB this machine has "
            f"available: lower memory_size or hidden"
        )


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
