"""Environment: the game, the agent and the learning loop (the book's ``Environment``).

The book's class wraps a gym game and exposes ``train``, ``test``, ``incremental`` and
``learn``, with a 100-episode running average. Ours does the same on gymnasium, with these
differences (all listed in the README):

* gymnasium's API: ``reset(seed=)``, five-tuple ``step``; memory stores ``terminated`` only;
* the inner step loop runs compiled (:class:`~dqn_tf.loop.EpisodeRunner`), one call per
  episode, instead of returning to Python on every step;
* ``test`` plays greedily with the current (or saved) weights; the book silently turned a
  failed weight load into a training run from scratch;
* the printed epsilon is the agent's current one (the book printed the argument);
* files go to a run folder: ``config.json``, ``weights.weights.h5``, ``history.json`` and the
  TensorBoard events under ``tensorboard/``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from dqn_tf import progress as run_progress
from dqn_tf import run_folder
from dqn_tf.agent import Agent
from dqn_tf.brain import Architecture
from dqn_tf.checkpoint import restore_checkpoint, save_checkpoint
from dqn_tf.files import save_together, write_json_atomic
from dqn_tf.games import make_env
from dqn_tf.loop import LEARN, NONE, STORE, EpisodeRunner
from dqn_tf.presets import Config, ConfigError, get_preset, load_demonstrator
from dqn_tf.quiet import tf  # TensorFlow without its start-up noise
from dqn_tf.run_folder import (
    BEST_WEIGHTS_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    WEIGHTS_FILE,
)
from dqn_tf.seeding import set_global_seeds

# The evaluation copy of the game draws from its own stream, apart from the training game's.
EVAL_SEED_OFFSET = 1_000_003


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by :meth:`Environment.learn` after Ctrl-C or SIGTERM, once the checkpoint of
    the last whole episode is written (``checkpoint`` is its path)."""

    def __init__(self, message: str, checkpoint: Path) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


def _say_safely(line: str) -> None:
    """Print from a signal handler: a terminal that is gone must not stop the save."""
    try:
        print(line, flush=True)
    except OSError:
        pass


def _detach_from_closed_terminal() -> None:
    """After SIGHUP the terminal is gone and writing to it fails: send what would have gone
    there to /dev/null, so that the episode and the save finish (a log file stays)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            if os.isatty(fd):
                os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)


def fits_in_memory(config: Config, nS: int, nA: int) -> None:
    """Refuse, before anything is allocated, a replay memory and network larger than the
    memory this machine has available (ConfigError naming the fields and both sizes)."""
    # A transition: state and next state (float32), action (int32), reward (float32), and
    # the terminated and demonstration flags (one byte each).
    replay = config.memory_size * (8 * nS + 10)
    sizes = [nS, *config.hidden, nA]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    # float32 weights of the online and target networks and two optimizer slots; each
    # replay array is built from a zero tensor of its size, so twice the replay memory.
    needed = 2 * replay + 16 * parameters
    available = _available_memory()
    if available is not None and needed > available:
        gib = 2**30
        raise ConfigError(
            f"memory_size={config.memory_size} and hidden={list(config.hidden)} need about "
            f"{needed / gib:.1f} GiB ({replay / gib:.1f} GiB of replay memory, twice while it "
            f"is created), more than the {available / gib:.1f} GiB this machine has "
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


def count_landings(landed: list[bool | None]) -> int | None:
    """How many episodes landed, from each episode's ``info["landed"]``; None when the game
    does not report landings (every entry None), as LunarLander does not."""
    if all(x is None for x in landed):
        return None
    return sum(bool(x) for x in landed)


class Environment:
    """A game, an agent that plays it and the loop between them.

    Args:
        game: gymnasium id; defaults to the config's ``env`` (book: ``"LunarLander-v3"``).
        config: a :class:`~dqn_tf.presets.Config` or a preset name (``"book"``, default).
        seed: seeds Python, numpy, TensorFlow (op determinism on), the agent's generator and
            the environment's first reset.
        run_dir: folder for weights, configuration, history and TensorBoard events
            (default ``runs/<game>-seed<seed>``).
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
        np.set_printoptions(precision=2)
        config = get_preset(config) if isinstance(config, str) else config
        if game is not None and game != config.env:
            config = config.replace(env=game)
        self.config = config
        self.seed = seed
        set_global_seeds(seed)
        self.env = make_env(config.env, render_mode, config.action_repeat)
        self.nS = int(self.env.observation_space.shape[0])
        self.nA = int(self.env.action_space.n)
        if config.eval_env:
            self._check_eval_env()
        fits_in_memory(config, self.nS, self.nA)
        self.run_dir = (
            Path(run_dir) if run_dir is not None else Path("runs", f"{config.env}-seed{seed}")
        )
        self.agent = Agent(
            self.nS,
            self.nA,
            config,
            seed=seed,
            summaries_dir=self.run_dir / "tensorboard" if summaries else None,
            neural_architecture=neural_architecture,
        )
        self.runner = EpisodeRunner(self.agent, self.env)
        # The book's 100-episode running average, and the whole history of this run.
        self.reward_avg: deque[float] = deque(maxlen=100)
        self.episode_rewards: list[float] = []
        self.episode_lengths: list[int] = []
        # Indices (0-based) of the training episodes that ended in a landing, where the game
        # reports landings (RocketLander): rare events worth keeping beyond the last call.
        self.landed_episodes: list[int] = []
        self.total_steps = 0
        self.prefill_steps = 0
        # Per episode of the last learn() call: info["landed"] where the game reports it.
        self.landings: list[bool | None] = []
        # Periodic greedy evaluations (config.eval_every_steps): [steps, mean] pairs, or
        # [steps, mean, landings] where the game reports landings; the best mean so far; and
        # a separate copy of the game created on first use.
        self.evaluations: list[list[float]] = []
        self.best_eval: float | None = None
        self.next_eval_at = config.eval_every_steps
        self.eval_env: Any = None
        self.eval_runner: EpisodeRunner | None = None
        self._next_eval_reset_seed: int | None = seed + EVAL_SEED_OFFSET
        self._next_reset_seed: int | None = seed
        self.summary_writer = self.agent.brain.summary_writer

    # --- files ------------------------------------------------------------------------------

    @property
    def weights_path(self) -> Path:
        return self.run_dir / WEIGHTS_FILE

    @classmethod
    def from_run_folder(cls, run_dir: str | os.PathLike, **kw: Any) -> Environment:
        """An Environment with the configuration and seed a run folder was made with, to
        continue it (``incremental``, ``resume``) without repeating its settings. Keyword
        arguments (``render_mode``, ``summaries``, ...) go to the constructor."""
        config, seed = run_folder.read_config(run_dir)
        return cls(config=config, seed=seed, run_dir=run_dir, **kw)

    def save_config(self) -> Path:
        return run_folder.write_config(self.run_dir, self.config, self.seed)

    def save_history(self) -> Path:
        path = self.run_dir / HISTORY_FILE
        write_json_atomic(
            path,
            {
                "episode_rewards": self.episode_rewards,
                "episode_lengths": self.episode_lengths,
                "landed_episodes": self.landed_episodes,
                "steps": self.total_steps,
                "prefill_steps": self.prefill_steps,
                "evaluations": self.evaluations,
                "best_eval": self.best_eval,
            },
        )
        return path

    @property
    def best_weights_path(self) -> Path:
        return self.run_dir / BEST_WEIGHTS_FILE

    # --- the book's methods -----------------------------------------------------------------

    def train(self, epsilon: float = 1.0, episodes: int = 1000, **kw: Any) -> list[float]:
        """Learn from scratch for ``episodes`` episodes starting at ``epsilon``; returns the
        episode returns. Keyword arguments go to :meth:`learn`."""
        return self.learn(epsilon=epsilon, episodes=episodes, trainable=True, **kw)

    def test(
        self, episodes: int = 100, weights: str | os.PathLike | None = None, **kw: Any
    ) -> list[float]:
        """Play ``episodes`` greedy episodes without learning; returns their returns.

        Uses ``weights`` when given; otherwise the weights saved in the run folder if this
        object has not trained yet, else the current ones."""
        if weights is not None:
            self.agent.load_weights(weights)
        elif self.total_steps == 0 and self.weights_path.is_file():
            self.agent.load_weights(self.weights_path)
        return self.learn(epsilon=0.0, episodes=episodes, trainable=False, **kw)

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
        """Play episodes, learning from them when ``trainable``.

        Args:
            epsilon: starting exploration rate; None keeps the agent's.
            episodes: number of episodes to play (None: until ``steps`` are used).
            trainable: store transitions and learn (False: greedy test, nothing stored).
            incremental: continue from the run's checkpoint, or its saved weights (the
                book's ``incremental``), before playing.
            steps: optional budget of game steps; the run stops when it is used
                up, mid-episode if need be (that partial episode's return is not recorded).
            log_every: print the book's episode line every this many episodes (0: never).
            capture_frames: keep the rendered frames of the last episode in
                ``self.runner.frames`` (needs ``render_mode="rgb_array"``).
            progress: show a progress bar (True/False); None shows one in a terminal or a
                notebook (:mod:`dqn_tf.progress`).

        Returns:
            The returns of the episodes completed in this call.
        """
        if episodes is None and steps is None:
            raise ConfigError("give episodes or steps (both are None)")
        if episodes is not None and (not isinstance(episodes, int) or episodes < 1):
            raise ConfigError(f"episodes must be an integer >= 1 (got {episodes!r})")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ConfigError(f"steps must be an integer >= 1 (got {steps!r})")
        if capture_frames and self.env.render_mode != "rgb_array":
            raise ConfigError(
                f"capture_frames needs render_mode='rgb_array' (this env has "
                f"render_mode={self.env.render_mode!r})"
            )
        if not trainable:
            return self._learn(
                epsilon, episodes, False, incremental, steps, log_every, capture_frames, progress
            )
        # One writer per run folder, for as long as it writes (dqn_tf.run_folder).
        with run_folder.lock(self.run_dir):
            return self._learn(
                epsilon, episodes, True, incremental, steps, log_every, capture_frames, progress
            )

    def _learn(
        self,
        epsilon: float | None,
        episodes: int | None,
        trainable: bool,
        incremental: bool,
        steps: int | None,
        log_every: int,
        capture_frames: bool,
        progress: bool | None,
    ) -> list[float]:
        if incremental:
            self._load_for_incremental()
        if epsilon is not None:
            self.agent.epsilon = epsilon
        if trainable:
            with save_together(CONFIG_FILE):
                self.save_config()
            if self.config.demo_episodes and len(self.agent.memory) == 0:
                try:
                    self._demonstrate(log=bool(log_every))
                except KeyboardInterrupt as exc:
                    # Nothing is trained yet and a checkpoint of half the demonstrations
                    # would resume into another run than the straight one: say so instead.
                    raise KeyboardInterrupt(
                        "interrupted while storing demonstrations, before any training: "
                        "there is nothing to resume; start the run again (without --resume)"
                    ) from exc
            if self.config.prefill:
                self._prefill()

        # From here to the end of the save, a signal only asks to stop after the episode.
        with self._stop_on_signals() as stop:
            returns = self._play(
                episodes, trainable, steps, log_every, capture_frames, stop, progress
            )
            if trainable:
                with save_together(f"the run at episode {len(self.episode_rewards)}"):
                    checkpoint = self.save_checkpoint()  # the truth; the rest derives from it
                    self.save_history()
                    self.agent.save_weights(self.weights_path)
                if self.summary_writer is not None:
                    self.summary_writer.flush()
        if trainable:
            if stop:
                raise TrainingInterrupted(
                    f"Interrupted by {stop[0]}: checkpoint of {len(self.episode_rewards)} "
                    f"episodes saved to {checkpoint}; resume with --resume",
                    checkpoint,
                )
        elif stop:
            raise KeyboardInterrupt(f"interrupted by {stop[0]}")
        return returns

    def _play(
        self,
        episodes: int | None,
        trainable: bool,
        steps: int | None,
        log_every: int,
        capture_frames: bool,
        stop: list[str],
        progress: bool | None = None,
    ) -> list[float]:
        bar = self._progress_bar(episodes, trainable, steps, capture_frames, progress)
        try:
            return self._play_episodes(
                episodes, trainable, steps, log_every, capture_frames, stop, bar
            )
        finally:
            if bar is not None:
                self.runner.progress = None
                bar.close()

    def _progress_bar(
        self,
        episodes: int | None,
        trainable: bool,
        steps: int | None,
        capture_frames: bool,
        progress: bool | None,
    ) -> Any:
        """A bar over the steps (or episodes) asked for; over the game steps of a replay."""
        if capture_frames:  # one episode, played step by step into frames
            bar = run_progress.bar(
                self.config.max_episode_steps, unit="step", desc="replay", wanted=progress
            )
            self.runner.progress = bar  # counted inside the episode, as the frames come
            return bar
        if not trainable:
            return run_progress.bar(episodes or 0, unit="episode", desc="test", wanted=progress)
        if steps is not None:
            total, done, unit = self.total_steps + steps, self.total_steps, "step"
        else:
            total, done = len(self.episode_rewards) + (episodes or 0), len(self.episode_rewards)
            unit = "episode"
        return run_progress.bar(total, initial=done, unit=unit, desc="train", wanted=progress)

    def _play_episodes(
        self,
        episodes: int | None,
        trainable: bool,
        steps: int | None,
        log_every: int,
        capture_frames: bool,
        stop: list[str],
        bar: Any,
    ) -> list[float]:
        returns: list[float] = []
        self.landings = []
        step_budget = steps
        started = time.perf_counter()
        played = 0
        episode = 0
        while (episodes is None or episode < episodes) and not stop:
            if step_budget is not None and step_budget <= 0:
                break
            max_steps = self.config.max_episode_steps
            if step_budget is not None:
                max_steps = min(max_steps, step_budget)
            s, _ = self.env.reset(seed=self._take_reset_seed())
            self.runner.capture_frames = capture_frames
            self.runner.frames = [self.env.render()] if capture_frames else []
            ret, length, done, loss_sum = self.runner.run(
                s, max_steps, mode=LEARN if trainable else NONE, greedy=not trainable
            )
            played += length
            if bar is not None and bar.unit == "step" and self.runner.progress is None:
                bar.update(length)  # also the steps of an episode cut by the budget
            if step_budget is not None:
                step_budget -= length
            if trainable:
                self.total_steps += length
                if not np.isfinite(loss_sum):
                    raise FloatingPointError(
                        f"non-finite loss during episode {len(self.episode_rewards)}; "
                        f"training stopped (last saved weights kept in {self.run_dir})"
                    )
            ended = done or length >= self.config.max_episode_steps
            if not ended:  # cut by the step budget: not a whole episode
                break
            episode += 1
            returns.append(ret)
            self.landings.append(self.runner.last_info.get("landed"))
            self.reward_avg.append(ret)
            if trainable:
                # What the episode's end writes (weights, history, checkpoint, best weights)
                # takes its place together, or not at all if the disk is full.
                with save_together(f"the run at episode {len(self.episode_rewards) + 1}"):
                    self._end_of_episode(ret, length, self.landings[-1])
            sps = played / (time.perf_counter() - started)
            if log_every and episode % log_every == 0:
                # Training lines count the run's episodes (so a resumed run goes on counting).
                number = len(self.episode_rewards) if trainable else episode
                self._log(number, ret, length, sps, bar)
            if bar is not None:
                self._advance(bar, returns, sps)
        return returns

    def _advance(self, bar: Any, returns: list[float], sps: float) -> None:
        """After an episode: an episode bar moves by one, a replay's ends with the episode;
        show the mean return of the last 100 episodes, and landings where the game reports
        them."""
        trainable = bar.desc == "train"
        if bar.unit == "episode":
            bar.update(1)
        elif self.runner.progress is not None:  # moved with each step; it may end early
            bar.total = bar.n
        if self.runner.progress is not None:  # a replay: one episode
            shown = {"return": f"{returns[-1]:.1f}"}
        else:
            recent = self.reward_avg if trainable else returns[-100:]
            shown = {"avg100": f"{np.mean(recent):.1f}"}
        landings = count_landings(self.landings)
        if landings is not None:  # the game reports landings (RocketLander)
            shown["landed"] = str(len(self.landed_episodes) if trainable else landings)
        if trainable:
            shown["eps"] = f"{self.agent.epsilon:.2f}"
        if bar.unit == "episode":
            shown["steps/s"] = f"{sps:.0f}"
        bar.set_postfix(shown, refresh=False)

    # --- pieces of learn ----------------------------------------------------------------------

    def _take_reset_seed(self) -> int | None:
        # Seed only the first reset: later resets continue the environment's own generator.
        seed, self._next_reset_seed = self._next_reset_seed, None
        return seed

    def _prefill(self) -> None:
        """Seed 000's random pre-fill: random episodes until memory exceeds one batch."""
        while len(self.agent.memory) <= self.config.batch_size:
            s, _ = self.env.reset(seed=self._take_reset_seed())
            saved = self.agent.epsilon
            self.agent.epsilon = 1.0  # uniformly random actions, from the agent's generator
            _, length, _, _ = self.runner.run(s, self.config.max_episode_steps, mode=STORE)
            self.agent.epsilon = saved
            self.prefill_steps += length

    def _demonstrate(self, log: bool) -> None:
        """Store ``demo_episodes`` episodes of the configured demonstrator in the memory.

        Only into an empty memory, so a resumed run (whose memory comes back from its
        checkpoint) does not add them twice. The episodes are played in Python, one
        decision at a time through the same (action-repeating) game as training; their game
        steps count as pre-fill steps, not training steps.
        """
        policy = load_demonstrator(self.config.demonstrator)
        count = self.config.demo_episodes
        decisions = landings = 0
        for episode in range(count):
            s, _ = self.env.reset(seed=self._take_reset_seed())
            steps = 0
            info: dict[str, Any] = {}
            done = False
            episode_transitions: list[tuple[Any, ...]] = []
            while not done and steps < self.config.max_episode_steps:
                a = int(policy(s))
                s_, r, terminated, truncated, info = self.env.step(a)
                episode_transitions.append((s, a, r, s_, terminated))
                steps += info.get("game_steps", 1)
                s, done = s_, terminated or truncated
            columns = zip(*episode_transitions, strict=True)
            self.agent.memory.add_memories(*(np.array(column) for column in columns), demo=True)
            decisions += len(episode_transitions)
            self.prefill_steps += steps
            landings += bool(info.get("landed"))
            if log and ((episode + 1) % 100 == 0 or episode + 1 == count):
                print(
                    f"demonstrations: {episode + 1}/{count} episodes of "
                    f"{self.config.demonstrator}, {decisions} transitions stored, "
                    f"{landings} landings",
                    flush=True,
                )

    def _end_of_episode(self, ret: float, length: int, landed: bool | None = None) -> None:
        index = len(self.episode_rewards)
        self.episode_rewards.append(ret)
        self.episode_lengths.append(length)
        if landed:
            self.landed_episodes.append(index)
        if self.config.target_sync_steps == 0:
            self.agent.target_model_update()
        self.agent.epsilon_update(index)
        if self.summary_writer is not None:
            with self.summary_writer.as_default(step=index):
                tf.summary.scalar("episode/reward", ret)
                tf.summary.scalar("episode/reward_avg100", float(np.mean(self.reward_avg)))
                tf.summary.scalar("episode/epsilon", self.agent.epsilon)
                tf.summary.scalar("episode/length", length)
                if landed is not None:
                    tf.summary.scalar("episode/landed", int(landed))
        every = self.config.save_every
        if every and (index + 1) % every == 0:
            self.agent.brain.save_weights(self.weights_path)
        every = self.config.eval_every_steps
        if every and self.total_steps >= self.next_eval_at:
            self._periodic_eval()
            while self.next_eval_at <= self.total_steps:
                self.next_eval_at += every
        every = self.config.checkpoint_every
        if every and (index + 1) % every == 0:
            self.save_history()
            self.save_checkpoint()

    def _check_eval_env(self) -> None:
        """Refuse, before any training, an eval_env whose spaces differ from the game's."""
        game = make_env(self.config.eval_env)
        spaces = (game.observation_space.shape, game.action_space)
        game.close()
        if spaces != (self.env.observation_space.shape, self.env.action_space):
            raise ConfigError(
                f"eval_env {self.config.eval_env!r} has observations {spaces[0]} and actions "
                f"{spaces[1]}; the training game {self.config.env!r} has "
                f"{self.env.observation_space.shape} and {self.env.action_space}"
            )

    def evaluation_runner(self) -> EpisodeRunner:
        """The runner on the separate evaluation copy of the game, made on first use."""
        if self.eval_runner is None:
            game = self.config.eval_env or self.config.env
            self.eval_env = make_env(game, action_repeat=self.config.action_repeat)
            self.eval_runner = EpisodeRunner(self.agent, self.eval_env)
        return self.eval_runner

    def _periodic_eval(self) -> None:
        """Greedy episodes on the evaluation copy of the game; keep the best weights."""
        runner = self.evaluation_runner()
        returns = []
        landed = []
        for _ in range(self.config.eval_episodes):
            seed, self._next_eval_reset_seed = self._next_eval_reset_seed, None
            s, _ = self.eval_env.reset(seed=seed)
            ret, *_ = runner.run(s, self.config.max_episode_steps, mode=NONE, greedy=True)
            returns.append(ret)
            landed.append(runner.last_info.get("landed"))
        mean = float(np.mean(returns))
        record = [self.total_steps, mean]
        landings = count_landings(landed)
        if landings is not None:
            record.append(landings)
        self.evaluations.append(record)
        if self.best_eval is None or mean > self.best_eval:
            self.best_eval = mean
            self.agent.brain.save_weights(self.best_weights_path)
        if self.summary_writer is not None:
            with self.summary_writer.as_default(step=self.total_steps):
                tf.summary.scalar("eval/mean_return", mean)
                if landings is not None:
                    tf.summary.scalar("eval/landings", landings)

    # --- checkpoints and interruption ---------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT_FILE

    def save_checkpoint(self) -> Path:
        """Write the run's whole state (see :mod:`dqn_tf.checkpoint`), atomically."""
        return save_checkpoint(self)

    def resume(self, path: str | os.PathLike | None = None) -> Path:
        """Restore the run from its checkpoint (default ``<run_dir>/checkpoint.npz``) so that
        further training continues exactly as if it had never stopped."""
        restored = restore_checkpoint(self, path)
        print(
            f"Resumed from {restored}: {len(self.episode_rewards)} episodes, "
            f"{self.total_steps} steps, {len(self.agent.memory)} transitions in memory",
            flush=True,
        )
        return restored

    def _load_for_incremental(self) -> None:
        if self.total_steps > 0:
            return  # this object has trained: its memory and weights are current
        if (self.run_dir / CONFIG_FILE).is_file():
            saved, _ = run_folder.read_config(self.run_dir)
            run_folder.check_same_settings(
                self.run_dir,
                saved,
                self.config.to_dict(),
                how="incremental continues the run with its saved configuration "
                "(Environment.from_run_folder builds one with it)",
            )
        if self.checkpoint_path.is_file():
            self.resume()
        elif self.weights_path.is_file():
            self.agent.load_weights(self.weights_path)
            # The weights are trained, so the linear exploration phase (seed 000, fast) is
            # over: a step counter back at 0 would restart it at epsilon_start and override
            # the book's low incremental epsilon on the first step.
            self.agent.steps.assign(max(self.config.epsilon_linear_steps, 0))
            print(
                f"No checkpoint in {self.run_dir}: weights only, the memory starts empty "
                f"(the book's cold restart)",
                flush=True,
            )
        else:
            print(f"No checkpoint or weights in {self.run_dir}: training from scratch")

    @contextmanager
    def _stop_on_signals(self) -> Iterator[list[str]]:
        """Turn SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal) into a request to stop
        after the current episode (at most one episode, about a second) and save. Further
        signals wait for that save instead of cutting it short, and say so: a run stopped
        in the middle of a write would lose every episode since its last checkpoint."""
        stop: list[str] = []
        if threading.current_thread() is not threading.main_thread():
            yield stop  # signal handlers can only be set from the main thread
            return
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.getsignal(sig) for sig in signals}

        def handler(signum: int, _frame: object) -> None:
            name = signal.Signals(signum).name
            if stop:
                _say_safely(
                    f"\n{name}: already stopping; saving the checkpoint of the last whole "
                    f"episode, a moment..."
                )
                return
            if signum == signal.SIGHUP:
                _detach_from_closed_terminal()
            stop.append(name)
            _say_safely(f"\n{name}: stopping after this episode, then saving...")

        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield stop
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _log(self, episode: int, ret: float, length: int, sps: float, bar: Any = None) -> None:
        run_progress.say(
            f"episode: {episode - 1} score: {ret:.2f} "
            f"avg_score: {np.average(self.reward_avg):.2f} "
            f"actions {length} epsilon {self.agent.epsilon:.2f} "
            f"steps {self.total_steps} ({sps:.0f} steps/s)",
            bar,
        )

    def evaluate(
        self,
        episodes: int = 100,
        weights: str | os.PathLike | None = None,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Greedy evaluation (see :meth:`test`) summarised: ``mean``, ``std``, ``episodes``
        (the returns) and, where the game reports landings, ``landings`` (a count).
        ``progress`` as in :meth:`learn`."""
        returns = self.test(episodes=episodes, weights=weights, log_every=0, progress=progress)
        result: dict[str, Any] = {
            "mean": float(np.mean(returns)),
            "std": float(np.std(returns)),
            "episodes": returns,
        }
        landings = count_landings(self.landings)
        if landings is not None:
            result["landings"] = landings
        return result

    def close(self) -> None:
        self.env.close()
