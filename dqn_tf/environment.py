"""Environment: the game, the agent and the loop between them (the book's ``Environment``).

The book's ``train``, ``test``, ``incremental`` and ``learn`` on gymnasium, one compiled call
per episode, files in a run folder with a checkpoint that resumes exactly (differences:
docs/differences.md). What is not the book's lives in modules named for their job.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from dqn_tf import evaluation, run_folder
from dqn_tf.agent import Agent
from dqn_tf.brain import Architecture
from dqn_tf.checkpoint import save_checkpoint
from dqn_tf.demonstrators import demonstrate
from dqn_tf.errors import check_count
from dqn_tf.evaluation import EVAL_SEED_OFFSET
from dqn_tf.files import save_together
from dqn_tf.games import check_eval_env, make_env
from dqn_tf.interrupts import TrainingInterrupted, stop_on_signals
from dqn_tf.loop import LEARN, NONE, STORE, EpisodeRunner
from dqn_tf.memory import check_fits
from dqn_tf.presets import Config, ConfigError, get_preset
from dqn_tf.progress import advance, episodes_bar, say
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise
from dqn_tf.resume import load_for_incremental, restore, save_run
from dqn_tf.run_folder import BEST_WEIGHTS_FILE, CHECKPOINT_FILE, CONFIG_FILE, WEIGHTS_FILE
from dqn_tf.seeding import set_global_seeds


def _check_budget(episodes: Any, steps: Any, capture_frames: bool, render_mode: Any) -> None:
    """What :meth:`Environment.learn` is asked to play, checked (ConfigError)."""
    for name, value in (("episodes", episodes), ("steps", steps)):
        if value is not None:
            check_count(name, value)
    if episodes is None and steps is None:
        raise ConfigError("give episodes or steps (both are None)")
    if capture_frames and render_mode != "rgb_array":
        why = f"this env has render_mode={render_mode!r}"
        raise ConfigError(f"capture_frames needs render_mode='rgb_array' ({why})")


class Environment:
    """A game, an agent that plays it and the loop between them.

    Args:
        game: gymnasium id; defaults to the config's ``env`` (book: ``"LunarLander-v3"``).
        config: a :class:`~dqn_tf.presets.Config` or a preset name (``"book"``, default).
        seed: seeds Python, numpy, TensorFlow, the agent's generator and the game's first reset.
        run_dir: the run folder (default ``runs/<game>-seed<seed>``).
        render_mode: passed to ``gymnasium.make``; ``"rgb_array"`` allows frame capture.
        neural_architecture: optional network builder (the book's argument).
        summaries: write TensorBoard events when true.
    """

    def __init__(
        self,
        game: str | None = None,
        config: Config | str = "book",
        seed: int = 0,
        run_dir: str | os.PathLike | None = None,
        render_mode: str | None = None,
        neural_architecture: Architecture | None = None,
        summaries: bool = True,
    ) -> None:
        config = get_preset(config) if isinstance(config, str) else config
        self.config = config.replace(env=game) if game not in (None, config.env) else config
        self.seed = seed
        set_global_seeds(seed)
        self.env = make_env(self.config.env, render_mode, self.config.action_repeat)
        self.nS = int(self.env.observation_space.shape[0])
        self.nA = int(self.env.action_space.n)
        if self.config.eval_env:
            check_eval_env(self.config, self.env)
        cfg = self.config
        check_fits(cfg.memory_size, cfg.hidden, self.nS, self.nA, cfg.priority_alpha > 0)
        self.run_dir = Path(run_dir or Path("runs", f"{self.config.env}-seed{seed}"))
        tensorboard = self.run_dir / "tensorboard" if summaries else None
        self.agent = Agent(self.nS, self.nA, self.config, seed, tensorboard, neural_architecture)
        self.runner = EpisodeRunner(self.agent, self.env)
        self.summary_writer = self.agent.brain.summary_writer
        # The book's 100-episode running average, and the whole history of this run; where
        # the game reports landings (RocketLander), the training episodes that landed and,
        # per episode of the last learn() call, info["landed"].
        self.reward_avg: deque[float] = deque(maxlen=100)
        self.episode_rewards: list[float] = []
        self.episode_lengths: list[int] = []
        self.landed_episodes: list[int] = []
        self.landings: list[bool | None] = []
        self.total_steps = self.prefill_steps = 0
        # Periodic greedy evaluations (dqn_tf.evaluation): [steps, mean] or [steps, mean,
        # landings] records, the best mean, and a copy of the game made on first use.
        self.evaluations: list[list[float]] = []
        self.best_eval: float | None = None
        self.next_eval_at = self.config.eval_every_steps
        self.eval_env: Any = None
        self.eval_runner: EpisodeRunner | None = None
        self._next_eval_reset_seed: int | None = seed + EVAL_SEED_OFFSET
        self._next_reset_seed: int | None = seed
        self._starts: Iterator[int] | None = None

    @classmethod
    def from_run_folder(cls, run_dir: str | os.PathLike, **kw: Any) -> Environment:
        """An Environment with a run folder's own configuration and seed, to continue it
        (``incremental``, ``resume``); keyword arguments go to the constructor."""
        config, seed = run_folder.read_config(run_dir)
        return cls(config=config, seed=seed, run_dir=run_dir, **kw)

    weights_path = property(lambda self: self.run_dir / WEIGHTS_FILE)
    best_weights_path = property(lambda self: self.run_dir / BEST_WEIGHTS_FILE)
    checkpoint_path = property(lambda self: self.run_dir / CHECKPOINT_FILE)

    # --- the book's methods -----------------------------------------------------------------------
    def train(self, epsilon: float = 1.0, episodes: int = 1000, **kw: Any) -> list[float]:
        """Learn from scratch for ``episodes`` episodes starting at ``epsilon``; returns the
        episode returns. Keyword arguments go to :meth:`learn`."""
        return self.learn(epsilon=epsilon, episodes=episodes, trainable=True, **kw)

    def test(
        self,
        episodes: int = 100,
        weights: str | os.PathLike | None = None,
        seed: int | None = None,
        **kw: Any,
    ) -> list[float]:
        """Play ``episodes`` greedy episodes without learning; returns their returns.

        Uses ``weights``, else the run folder's if this object has not trained, else its own.
        With ``seed``, episode ``i`` starts from ``reset(seed=seed + i)`` (replayable alone)."""
        if weights is not None:
            self.agent.load_weights(weights)
        elif self.total_steps == 0 and self.weights_path.is_file():
            self.agent.load_weights(self.weights_path)
        self._starts = None if seed is None else itertools.count(seed)  # see _take_reset_seed
        try:
            return self.learn(epsilon=0.0, episodes=episodes, trainable=False, **kw)
        finally:
            self._starts = None

    def incremental(self, epsilon: float = 0.01, episodes: int = 100, **kw: Any) -> list[float]:
        """Continue training at a low epsilon. Resumes from the run's checkpoint when there
        is one (full memory, exact state); with only saved weights it is the book's cold
        restart (the memory starts empty) and says so."""
        return self.learn(
            epsilon=epsilon, episodes=episodes, trainable=True, incremental=True, **kw
        )

    def learn(
        self,
        epsilon: float | None = None,
        episodes: int | None = 1000,
        trainable: bool = True,
        incremental: bool = False,
        steps: int | None = None,
        log_every: int = 1,
        capture_frames: bool = False,
        progress: bool | None = None,
    ) -> list[float]:
        """Play episodes, learning from them when ``trainable``; returns the returns of the
        episodes completed in this call. After SIGINT, SIGTERM or SIGHUP it saves the run and
        raises TrainingInterrupted.

        ``epsilon``: the starting exploration rate (None keeps the agent's); ``episodes`` (None:
        until ``steps`` are used); ``trainable``: store and learn (else greedy, nothing stored);
        ``incremental``: first continue from the run folder; ``steps``: a budget of game steps,
        which may cut an episode (not recorded); ``log_every``: the book's line every N episodes
        (0: never); ``capture_frames``: keep the last episode's frames in ``runner.frames``;
        ``progress``: a bar (None: in a terminal or a notebook).
        """
        _check_budget(episodes, steps, capture_frames, self.env.render_mode)
        # One writer per run folder, for as long as it writes (dqn_tf.run_folder).
        with run_folder.lock(self.run_dir) if trainable else nullcontext():
            if incremental:
                load_for_incremental(self)
            if epsilon is not None:
                self.agent.epsilon = epsilon
            if trainable:  # the configuration on disk, then the memory's first contents
                with save_together(CONFIG_FILE):
                    run_folder.write_config(self.run_dir, self.config, self.seed)
                if self.config.demo_episodes and len(self.agent.memory) == 0:
                    demonstrate(self, log=bool(log_every))
                if self.config.prefill:
                    self._prefill()
            self.runner.capture_frames = capture_frames
            # From here to the end of the save, a signal only asks to stop after the episode.
            with stop_on_signals() as stop:
                bar = episodes_bar(self, episodes, steps, trainable, progress)
                try:
                    returns = self._play(episodes, steps, trainable, log_every, stop, bar)
                finally:
                    self.runner.progress = None
                    if bar is not None:
                        bar.close()
                if trainable:
                    save_run(self)
        if stop and trainable:
            raise TrainingInterrupted(
                f"Interrupted by {stop[0]}: checkpoint of {len(self.episode_rewards)} "
                f"episodes saved to {self.checkpoint_path}; resume with --resume",
                self.checkpoint_path,
            )
        if stop:
            raise KeyboardInterrupt(f"interrupted by {stop[0]}")
        return returns

    def _play(
        self,
        episodes: int | None,
        steps: int | None,
        trainable: bool,
        log_every: int,
        stop: list[str],
        bar: Any,
    ) -> list[float]:
        """The episodes of one :meth:`learn` call, until done or a signal asks to stop."""
        returns: list[float] = []
        self.landings = []
        budget, played, started = steps, 0, time.perf_counter()
        most, mode = self.config.max_episode_steps, LEARN if trainable else NONE
        while (episodes is None or len(returns) < episodes) and not stop:
            if budget is not None and budget <= 0:  # an action repeat may overshoot it
                break
            s, _ = self.env.reset(seed=self._take_reset_seed())
            self.runner.frames = [self.env.render()] if self.runner.capture_frames else []
            limit = most if budget is None else min(budget, most)
            ret, length, done, loss_sum = self.runner.run(s, limit, mode, greedy=not trainable)
            played += length
            budget = None if budget is None else budget - length
            if trainable:
                self.total_steps += length
                if not np.isfinite(loss_sum):
                    raise FloatingPointError(
                        f"non-finite loss during episode {len(self.episode_rewards)}; "
                        f"training stopped (last saved weights kept in {self.run_dir})"
                    )
            sps = played / (time.perf_counter() - started)
            if not (done or length >= most):  # cut by the budget
                if bar is not None:
                    advance(bar, self, length, None, sps)
                break
            returns.append(ret)
            self.landings.append(self.runner.last_info.get("landed"))
            self.reward_avg.append(ret)
            if trainable:
                # What the episode's end writes (weights, history, checkpoint, best weights)
                # takes its place together, or not at all if the disk is full.
                with save_together(f"the run at episode {len(self.episode_rewards) + 1}"):
                    self._end_of_episode(ret, length, self.landings[-1])
            if log_every and len(returns) % log_every == 0:
                # Training lines count the run's episodes (so a resumed run goes on counting).
                number = len(self.episode_rewards) if trainable else len(returns)
                self._log(number, ret, length, sps, bar)
            if bar is not None:
                advance(bar, self, length, returns, sps)
        return returns

    def _take_reset_seed(self) -> int | None:
        if self._starts is not None:  # a test from a start seed: seed, seed + 1, ...
            return next(self._starts)
        # Training seeds its first reset only; later ones continue the game's own generator.
        seed, self._next_reset_seed = self._next_reset_seed, None
        return seed

    def _prefill(self) -> None:
        """The Keras notebook's random pre-fill: random episodes until memory exceeds one batch."""
        while len(self.agent.memory) <= self.config.batch_size:
            s, _ = self.env.reset(seed=self._take_reset_seed())
            saved = self.agent.epsilon
            self.agent.epsilon = 1.0  # uniformly random actions, from the agent's generator
            _, length, _, _ = self.runner.run(s, self.config.max_episode_steps, mode=STORE)
            self.agent.epsilon = saved
            self.prefill_steps += length

    def _end_of_episode(self, ret: float, length: int, landed: bool | None = None) -> None:
        index = len(self.episode_rewards)
        self.episode_rewards.append(ret)
        self.episode_lengths.append(length)
        if landed:
            self.landed_episodes.append(index)
        if self.config.target_sync_steps == 0:
            self.agent.target_model_update()
        self.agent.epsilon_update(index)
        self._write_summaries(index, ret, length, landed)
        every = self.config.save_every
        if every and (index + 1) % every == 0:
            self.agent.brain.save_weights(self.weights_path)
        every = self.config.eval_every_steps
        if every and self.total_steps >= self.next_eval_at:
            evaluation.periodic_eval(self)
            while self.next_eval_at <= self.total_steps:
                self.next_eval_at += every
        every = self.config.checkpoint_every
        if every and (index + 1) % every == 0:
            self.save_checkpoint()
            run_folder.write_history(self)

    def _write_summaries(self, index: int, ret: float, length: int, landed: bool | None) -> None:
        if self.summary_writer is None:
            return
        with self.summary_writer.as_default(step=index):
            tf.summary.scalar("episode/reward", ret)
            tf.summary.scalar("episode/reward_avg100", float(np.mean(self.reward_avg)))
            tf.summary.scalar("episode/epsilon", self.agent.epsilon)
            tf.summary.scalar("episode/length", length)
            if landed is not None:
                tf.summary.scalar("episode/landed", int(landed))

    def _log(self, episode: int, ret: float, length: int, sps: float, bar: Any = None) -> None:
        say(
            f"episode: {episode - 1} score: {ret:.2f} "
            f"avg_score: {np.average(self.reward_avg):.2f} "
            f"actions {length} epsilon {self.agent.epsilon:.2f} "
            f"steps {self.total_steps} ({sps:.0f} steps/s)",
            bar,
        )

    # --- saving, resuming, judging ----------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Write the run's whole state (see :mod:`dqn_tf.checkpoint`), atomically."""
        return save_checkpoint(self)

    def resume(self, path: str | os.PathLike | None = None) -> Path:
        """Restore the run from its checkpoint (default ``<run_dir>/checkpoint.npz``) so that
        further training continues exactly as if it had never stopped."""
        return restore(self, path)

    def evaluation_runner(self) -> EpisodeRunner:
        """The runner on the separate evaluation copy of the game, made on first use."""
        if self.eval_runner is None:
            self.eval_runner = evaluation.make_runner(self)
        return self.eval_runner

    def evaluate(self, *args: Any, **kw: Any) -> dict[str, Any]:
        """Greedy episodes summarised: see :func:`dqn_tf.evaluation.evaluate`."""
        return evaluation.evaluate(self, *args, **kw)

    def close(self) -> None:
        self.env.close()
