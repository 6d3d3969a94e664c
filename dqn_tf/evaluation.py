"""Evaluation of a run: greedy episodes, every ``eval_every_steps`` while it trains (on a
separate copy of the game, the best weights kept) and after; landings counted where the game
reports them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from dqn_tf.games import HELD_OUT_SEED, make_env
from dqn_tf.loop import NONE, EpisodeRunner
from dqn_tf.presets import Config
from dqn_tf.quiet import tf

if TYPE_CHECKING:  # pragma: no cover
    from dqn_tf.environment import Environment

# The evaluation copy of the game draws from its own stream, apart from the training game's.
EVAL_SEED_OFFSET = 1_000_003


def count_landings(landed: list[bool | None]) -> int | None:
    """How many episodes landed, from each episode's ``info["landed"]``; None when the game
    does not report landings (every entry None), as LunarLander does not."""
    if all(x is None for x in landed):
        return None
    return sum(bool(x) for x in landed)


def judged_config(config: Config, game: str | None = None) -> Config:
    """``config`` set to play ``game``, else its ``eval_env``, else its own game: a run
    trained on a named variant is judged on the original. ``eval_env`` is then spent; a game
    whose spaces differ from the network's is refused when the weights load."""
    game = game or config.eval_env
    return config.replace(env=game, eval_env="") if game else config


def make_runner(env: Environment) -> EpisodeRunner:
    """The runner on a separate copy of the run's judged game (``eval_env``, else its own)."""
    env.eval_env = make_env(env.config.eval_env or env.config.env, None, env.config.action_repeat)
    return EpisodeRunner(env.agent, env.eval_env)


def periodic_eval(env: Environment) -> None:
    """Greedy episodes on the evaluation copy of the game; keep the best weights."""
    runner = env.evaluation_runner()
    returns, landed = [], []
    for _ in range(env.config.eval_episodes):
        seed, env._next_eval_reset_seed = env._next_eval_reset_seed, None
        s, _ = env.eval_env.reset(seed=seed)
        ret, *_ = runner.run(s, env.config.max_episode_steps, mode=NONE, greedy=True)
        returns.append(ret)
        landed.append(runner.last_info.get("landed"))
    mean = float(np.mean(returns))
    landings = count_landings(landed)
    env.evaluations.append([env.total_steps, mean] + ([] if landings is None else [landings]))
    if env.best_eval is None or mean > env.best_eval:
        env.best_eval = mean
        env.agent.brain.save_weights(env.best_weights_path)
    if env.summary_writer is not None:
        with env.summary_writer.as_default(step=env.total_steps):
            tf.summary.scalar("eval/mean_return", mean)
            if landings is not None:
                tf.summary.scalar("eval/landings", landings)


def evaluate(
    env: Environment,
    episodes: int = 100,
    weights: str | os.PathLike | None = None,
    progress: bool | None = None,
    seed: int = HELD_OUT_SEED,
) -> dict[str, Any]:
    """Greedy episodes from starts ``seed``, ``seed + 1``, ... (``Environment.test``)
    summarised: ``mean``, ``std``, ``episodes`` (the returns) and, where the game reports
    landings, ``landings`` (a count)."""
    returns = env.test(episodes, weights, seed, log_every=0, progress=progress)
    result = {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "episodes": returns}
    landings = count_landings(env.landings)
    return result if landings is None else {**result, "landings": landings}
