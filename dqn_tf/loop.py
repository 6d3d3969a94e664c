"""Many environment steps per compiled call, built from the Agent's pieces.

A loop that returns to Python on every environment step pays two or three Python-to-
TensorFlow crossings per step (act, store, update), each several times the cost of the
environment step itself (``../shared/FACTS.md``). Here one ``tf.function`` runs a whole
episode inside a ``tf.while_loop``: the environment is stepped through ``tf.numpy_function``
and everything else (epsilon-greedy action, storing, Double-DQN update, target sync, epsilon
schedule) stays in the graph. Python is entered again only when the episode ends, for the
once-per-episode work (target sync at episode end, epsilon decay, logging, checkpoints).

The loop body is the seeds' inner loop, step for step; see :meth:`EpisodeRunner.run`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from dqn_tf.agent import Agent
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise

# What the loop does with each transition.
LEARN = "learn"  # store it and learn (observe_graph): training
STORE = "store"  # only store it: seed 000's random pre-fill
NONE = "none"  # neither: greedy evaluation


class EpisodeRunner:
    """Runs episodes of ``env`` with ``agent`` inside one compiled call each.

    Args:
        agent: the agent whose pieces the loop composes.
        env: a gymnasium environment with a Discrete action space and a 1-D observation.
    """

    def __init__(self, agent: Agent, env: gym.Env) -> None:
        self.agent = agent
        self.env = env
        self.nS = agent.nS
        self.capture_frames = False
        self.frames: list[np.ndarray] = []
        self.last_info: dict[str, Any] = {}
        # Game steps of the last episode run (with an action repeat, more than its frames).
        self.last_steps = 0
        self._run = tf.function(self._run_graph)

    def _env_step(
        self, a: np.ndarray
    ) -> tuple[np.ndarray, np.float64, np.bool_, np.bool_, np.int32]:
        s_, r, terminated, truncated, info = self.env.step(int(a))
        self.last_info = info
        if self.capture_frames:
            self.frames.append(self.env.render())
        return (
            np.asarray(s_, np.float32),
            np.float64(r),
            np.bool_(terminated),
            np.bool_(truncated),
            # Game steps this decision took (games.ActionRepeat plays several).
            np.int32(info.get("game_steps", 1)),
        )

    def _run_graph(
        self, s0: tf.Tensor, max_steps: tf.Tensor, mode: str, greedy: bool
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        agent = self.agent
        agent.hold_left.assign(0)  # a held exploratory action ends with its episode
        s = s0
        episode_return = tf.constant(0.0, tf.float64)
        t = tf.constant(0, tf.int32)
        terminated = tf.constant(False)
        truncated = tf.constant(False)
        loss_sum = tf.constant(0.0, tf.float32)
        while not (terminated or truncated) and t < max_steps:
            a = agent.greedy_graph(s) if greedy else agent.act_graph(s, agent._epsilon.read_value())
            s_, r, terminated, truncated, game_steps = tf.numpy_function(
                self._env_step,
                [a],
                [tf.float32, tf.float64, tf.bool, tf.bool, tf.int32],
                stateful=True,
            )
            s_ = tf.ensure_shape(s_, (self.nS,))
            terminated = tf.ensure_shape(terminated, ())
            truncated = tf.ensure_shape(truncated, ())
            r = tf.ensure_shape(r, ())
            if mode == LEARN:
                # A non-finite loss makes the sum non-finite: the caller stops the run.
                _, loss = agent.observe_graph(s, a, tf.cast(r, tf.float32), s_, terminated)
                loss_sum += loss
            elif mode == STORE:
                agent.memory.store(s, a, tf.cast(r, tf.float32), s_, terminated)
            episode_return += r
            t += tf.ensure_shape(game_steps, ())
            s = s_
        return episode_return, t, terminated or truncated, loss_sum

    def run(
        self,
        s0: np.ndarray,
        max_steps: int,
        mode: str = LEARN,
        greedy: bool = False,
    ) -> tuple[float, int, bool, float]:
        """Play one episode from the state ``s0`` returned by ``env.reset``.

        Args:
            s0: the first observation.
            max_steps: stop after this many game steps even if the episode has not ended
                (the book's ``range(1000)``, or what is left of a step budget); with an
                action repeat the last decision may take the count past it.
            mode: ``"learn"`` (store + learn), ``"store"`` (pre-fill) or ``"none"``.
            greedy: act with epsilon 0 instead of the agent's epsilon.

        Returns:
            ``(episode_return, steps, done, loss_sum)`` where ``steps`` counts game steps
            (decisions times the action repeat, less at the end), ``done`` is terminated or
            truncated; ``loss_sum`` is the sum of the
            update losses of the episode (non-finite if any update's loss was).
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
