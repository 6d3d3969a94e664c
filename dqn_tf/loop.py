"""One whole episode per compiled call, built from the Agent's pieces.

Each Python-to-TensorFlow crossing costs several times a game step (``bench/loop_profile.py``),
so one ``tf.function`` runs an episode in a ``tf.while_loop``: the game steps through
``tf.numpy_function``, everything else stays in the graph. With ``learn_order="overlap"`` (the
default) it acts, updates from the memory as it was, then steps the game and stores, so the
update and the game's step run at once on two cores; with ``"original"`` it steps, stores and
updates, as the originals do (the one-call-at-a-time methods give the same run).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import gymnasium as gym
import numpy as np

from dqn_tf.agent import Agent
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise

# What the loop does with each transition.
LEARN = "learn"  # store it and learn (update_graph + store, or observe_graph): training
STORE = "store"  # only store it: the Keras notebook's random pre-fill
NONE = "none"  # neither: greedy evaluation


# TensorFlow's threads that have called into Python (see _keep_thread_state).
_THREADS_WITH_STATE: set[int] = set()


def _keep_thread_state() -> None:
    """Give the TensorFlow thread running this callback a Python thread state for good.

    ``tf.numpy_function`` enters Python from TensorFlow's own threads, and on a thread Python
    does not know each call creates and destroys a thread state: that halves the cost of a
    bare crossing (``bench/loop_profile.py``). One extra ``PyGILState_Ensure``, never
    released, keeps the state alive (a few hundred bytes per thread of TensorFlow's pool)."""
    ident = threading.get_ident()
    if ident not in _THREADS_WITH_STATE:
        _THREADS_WITH_STATE.add(ident)
        ctypes.pythonapi.PyGILState_Ensure()  # the GIL is held: this only counts one more


class EpisodeRunner:
    """Runs episodes of ``env`` (a Discrete action space, 1-D observations) with ``agent``,
    inside one compiled call each."""

    def __init__(self, agent: Agent, env: gym.Env) -> None:
        self.agent = agent
        self.env = env
        self.nS = agent.nS
        self.capture_frames = False
        self.frames: list[np.ndarray] = []
        # A progress bar (tqdm) moved by each step, for a replay; None while training.
        self.progress: Any = None
        self.last_info: dict[str, Any] = {}
        # Game steps of the last episode run (with an action repeat, more than its frames).
        self.last_steps = 0
        self._run = tf.function(self._run_graph)

    def _env_step(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The game's step, for ``tf.numpy_function``: the next state, and the reward, the
        ``terminated`` and ``done`` flags and the game steps taken packed in one float64
        array. Each output of a ``numpy_function`` costs about 15-25 us to hand over here
        (``bench/loop_profile.py``); two instead of five save more than the game's step."""
        _keep_thread_state()
        s_, r, terminated, truncated, info = self.env.step(int(a))
        self.last_info = info
        if self.capture_frames:
            self.frames.append(self.env.render())
        if self.progress is not None:
            self.progress.update(info.get("game_steps", 1))
        s_ = np.asarray(s_, np.float32)
        if s_.shape != (self.nS,):
            raise ValueError(
                f"the game's step returned an observation of shape {s_.shape}; its reset "
                f"gave ({self.nS},)"
            )
        # Game steps this decision took (games.ActionRepeat plays several).
        game_steps = info.get("game_steps", 1)
        return s_, np.array([r, terminated, terminated or truncated, game_steps], np.float64)

    def _run_graph(
        self, s0: tf.Tensor, max_steps: tf.Tensor, mode: str, greedy: bool
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        agent = self.agent
        s = s0
        episode_return = tf.constant(0.0, tf.float64)
        t = tf.constant(0, tf.int32)
        done = tf.constant(False)  # terminated or truncated
        loss_sum = tf.constant(0.0, tf.float32)
        overlap = mode == LEARN and agent.config.learn_order == "overlap"
        while not done and t < max_steps:
            a = agent.greedy_graph(s) if greedy else agent.act_graph(s, agent._epsilon.read_value())
            if overlap:
                # Learn from the memory as it was: the update reads nothing the game returns
                # and the game's callback touches no variable, so TensorFlow runs the two at
                # once, one per core (stateful ops are ordered only when they share a resource).
                loss_sum += agent.update_graph()[1]
            s_, r, terminated, done, game_steps = self._step_graph(a)
            if mode == LEARN and not overlap:  # the originals' order: store, then update
                loss_sum += agent.observe_graph(s, a, tf.cast(r, tf.float32), s_, terminated)[1]
            elif mode != NONE:  # overlapped learning, or the Keras notebook's pre-fill
                agent.memory.store(s, a, tf.cast(r, tf.float32), s_, terminated)
            episode_return += r
            t += game_steps
            s = s_
        return episode_return, t, done, loss_sum

    def _step_graph(self, a: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """The game's step as graph ops: next state, reward (float64), terminated, done (ended
        or cut by the game's time limit) and the game steps the decision took."""
        s_, outcome = tf.numpy_function(
            self._env_step, [a], [tf.float32, tf.float64], stateful=True
        )
        # Static shapes only (no op in the loop): _env_step checks the state's shape.
        s_.set_shape((self.nS,))
        outcome.set_shape((4,))
        r, terminated, done, game_steps = tf.unstack(outcome)
        return s_, r, terminated > 0, done > 0, tf.cast(game_steps, tf.int32)

    def run(
        self,
        s0: np.ndarray,
        max_steps: int,
        mode: str = LEARN,
        greedy: bool = False,
    ) -> tuple[float, int, bool, float]:
        """Play one episode from the state ``s0`` returned by ``env.reset``.

        ``max_steps``: game steps after which the episode is cut (the book's ``range(1000)``,
        or what is left of a budget; an action repeat may pass it). ``mode``: ``"learn"``,
        ``"store"`` (pre-fill) or ``"none"``; ``greedy``: epsilon 0. Returns ``(return,
        game steps, terminated or truncated, the sum of the episode's update losses)``.
        """
        if mode not in (LEARN, STORE, NONE):
            raise ValueError(f"mode must be one of {[LEARN, STORE, NONE]} (got {mode!r})")
        ret, t, done, loss_sum = self._run(
            tf.constant(np.asarray(s0, np.float32).reshape(self.nS)),
            tf.constant(int(max_steps), tf.int32),
            mode,
            bool(greedy),
        )
        self.last_steps = int(t)
        return float(ret), int(t), bool(done), float(loss_sum)
