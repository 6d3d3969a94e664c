"""Sweeps: one preset over a grid of settings and several seeds, trials run by Ray Tune.

    python -m dqn_tf sweep --preset fast --steps 20000 --seeds 0 1 2 \\
        --set learning_rate=0.00063,0.001 --run-dir runs/sweeps/lr

Every trial is an ordinary run folder, ``<sweep>/<setting>/seed<S>/``, with the files
``train`` writes (config.json, the final and best weights, history.json, checkpoint.npz,
tensorboard/), trained exactly as ``python -m dqn_tf train`` trains the same preset, settings
and seed; so ``evaluate``, ``replay`` and TensorBoard work on it unchanged. After training,
each trial plays greedy episodes with its final and best weights, as ``evaluate --seed
1000+S`` would, and the sweep writes ``results.csv`` and ``results.md`` (every trial, and
mean, std, min and max across seeds per setting) and ``<setting>/curves.png`` (learning
curves: seeds thin, their mean thick) into the sweep folder.

Ray starts on this machine for the sweep and stops when it ends, unless ``address`` names a
running cluster to join (then the sweep folder must be on storage that every node mounts at
the same path). Each trial gets ``cpus_per_trial`` CPUs and sizes TensorFlow's thread pools
to them, so trials side by side do not fight over cores.

:func:`sweep` is the whole thing for notebooks and scripts; :func:`run_trial` trains and
evaluates one trial in the calling process (it is what each Ray worker runs).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import math
import os
import re
import shlex
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dqn_tf import progress as run_progress
from dqn_tf.display import trailing_mean
from dqn_tf.files import atomic_path, write_json_atomic
from dqn_tf.presets import PRESETS, Config, ConfigError, field_names, get_preset
from dqn_tf.progress import say
from dqn_tf.run_folder import (
    BEST_WEIGHTS_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    WEIGHTS_FILE,
    read_config,
)

TRIAL_FILE = "trial.json"  # in each trial's run folder: status, budget, time, evaluations
SWEEP_FILE = "sweep.json"  # in the sweep folder: what was asked, for the record
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
CURVES_FILE = "curves.png"  # in each setting's folder
TUNE_DIR = "tune"  # Ray Tune's own experiment state, inside the sweep folder
# Greedy evaluations after training use seed 1000 + the trial's seed, as bench/solve.py and
# the README do, so `python -m dqn_tf evaluate --seed 1000+S` gives the same figures.
EVAL_SEED_BASE = 1000
# Trials that need no more training: finished, or stopped for a reason that a rerun would
# only repeat (a non-finite loss is deterministic; ASHA judged the trial already).
DONE = ("finished", "diverged", "stopped_early")
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._=,+-]")


class SweepError(RuntimeError):
    """Ray could not start on this machine, or Ray Tune stopped the sweep: not a problem of
    the sweep's arguments. The results so far are written before it is raised."""


@dataclass(frozen=True)
class Trial:
    """One run of a sweep.

    Attributes:
        index: position in the sweep (settings in grid order, seeds within each setting).
        label: the setting as text, e.g. ``"learning_rate=0.001"``; also its folder's name.
        setting: the varied fields and their values for this trial.
        seed: the run's seed.
        config: the full configuration (preset, fixed overrides, the setting).
        run_dir: the trial's run folder, ``<sweep>/<label>/seed<seed>``.
    """

    index: int
    label: str
    setting: dict[str, Any]
    seed: int
    config: Config
    run_dir: Path


# --- what the user asks for ------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """One value as the CLI's ``--set`` reads it: JSON when it parses, else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def split_values(text: str) -> list[str]:
    """Split ``V1,V2,...`` at the commas outside brackets and quotes, so list values such
    as ``hidden=[64,64],[128,128]`` stay whole."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_set(pairs: Sequence[str]) -> dict[str, list[Any]]:
    """The grid from the CLI's ``--set FIELD=V1,V2,...`` arguments.

    Args:
        pairs: the ``--set`` arguments in order; a field with one value is a fixed override,
            one with several values is varied (several varied fields make a grid).

    Returns:
        Field name -> its values, in the order given.

    Raises:
        ConfigError: a pair without ``=``, a field given twice or an empty value.
    """
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set takes FIELD=V1,V2,... (got {pair!r})")
        name, text = (s.strip() for s in pair.split("=", 1))
        if name in grid:
            raise ConfigError(
                f"--set {name} is given twice; give all its values in one --set {name}=V1,V2,..."
            )
        if not text:
            raise ConfigError(f"--set {name}= has no values; give at least one ({name}=V1,V2,...)")
        texts = split_values(text)
        if "" in texts:
            raise ConfigError(f"--set {name}={text} has an empty value between commas")
        grid[name] = [parse_value(t) for t in texts]
    return grid


def _label_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(_label_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _LABEL_CHARS.sub("_", value)
    return _LABEL_CHARS.sub("_", json.dumps(value))


def setting_label(setting: Mapping[str, Any], preset: str) -> str:
    """A setting as text and folder name: ``"batch_size=64,learning_rate=0.001"``; the preset's
    name when nothing is varied."""
    if not setting:
        return preset
    return ",".join(f"{name}={_label_value(value)}" for name, value in setting.items())


def _as_grid(grid: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Field -> list of values; a value that is not a list (or a list meant as one value,
    such as ``hidden=[64, 64]`` given as ``(64, 64)``) is a fixed override."""
    out: dict[str, list[Any]] = {}
    for name, values in (grid or {}).items():
        if isinstance(values, list):
            out[name] = list(values)
        else:
            out[name] = [values]
    return out


def fixed_overrides(grid: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """The fields of a grid given one value: overrides that every trial shares."""
    return {name: values[0] for name, values in grid.items() if len(values) == 1}


def plan_trials(
    preset: str,
    env: str | None,
    grid: Mapping[str, Any] | None,
    seeds: Sequence[int],
    sweep_dir: str | os.PathLike,
) -> list[Trial]:
    """Every trial of a sweep, each configuration checked, before anything runs.

    Args:
        preset: one of :data:`~dqn_tf.presets.PRESETS`.
        env: gymnasium id to play instead of the preset's (``--env``), or None.
        grid: field -> list of values; one value (or a non-list) is a fixed override.
        seeds: the seeds; each setting runs once per seed.
        sweep_dir: the sweep folder; trials go to ``<sweep_dir>/<label>/seed<S>``.

    Returns:
        The trials, settings in grid order (the first field varies slowest) and seeds within.

    Raises:
        ConfigError: unknown preset or field, a bad value for a field (the message names the
            field, the value and what is allowed), an empty list of values, a value or seed
            given twice, no seeds, or two settings that would share a folder.
    """
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {list(PRESETS)} (got {preset!r})")
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("give at least one seed (--seeds 0 1 2)")
    for seed in seeds:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"seeds must be integers >= 0 (got {seed!r})")
        if seeds.count(seed) > 1:
            raise ConfigError(f"seed {seed} is given twice in {seeds}; give each seed once")
    values = _as_grid(grid)
    allowed = field_names()
    for name, options in values.items():
        if name not in allowed:
            raise ConfigError(f"unknown config field {name!r} in --set; allowed: {allowed}")
        if not options:
            raise ConfigError(f"{name} has an empty list of values; give at least one")
        for i, value in enumerate(options):
            if value in options[:i]:
                raise ConfigError(f"{name}={value!r} is given twice; give each value once")
    if env is not None and "env" in values:
        raise ConfigError("give the game once: --env or --set env=..., not both")
    fixed = fixed_overrides(values)
    if env is not None:
        fixed["env"] = env
    varied = {name: options for name, options in values.items() if len(options) > 1}
    sweep_dir = Path(sweep_dir)
    trials: list[Trial] = []
    folders: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*varied.values()):
        setting = dict(zip(varied, combo, strict=True))
        label = setting_label(setting, preset)
        try:
            config = get_preset(preset, **fixed, **setting)
        except ConfigError as exc:
            where = f" (setting {label})" if setting else ""
            raise ConfigError(f"{exc}{where}") from exc
        except (TypeError, ValueError) as exc:  # e.g. hidden=64: not a list of sizes
            raise ConfigError(
                f"bad value in {label if setting else fixed}: {exc}; see "
                f"`python -m dqn_tf presets --json` for each field's type"
            ) from exc
        if label in folders:
            raise ConfigError(
                f"settings {folders[label]} and {setting} would share the folder {label!r}; "
                f"write the values differently"
            )
        folders[label] = setting
        for seed in seeds:
            trials.append(
                Trial(len(trials), label, setting, seed, config, sweep_dir / label / f"seed{seed}")
            )
    return trials


def check_games(trials: Sequence[Trial]) -> None:
    """Make every game of the sweep once, so a bad id, or an ``eval_env`` whose spaces differ
    from its training game's, is reported before Ray starts (a trial would fail on it).

    Raises:
        ConfigError: an unknown or renamed game, one without discrete actions, or an
            ``eval_env`` with other observations or actions than the game it judges.
    """
    from dqn_tf.games import make_env

    spaces = {}
    for game in sorted({t.config.env for t in trials} | {t.config.eval_env for t in trials} - {""}):
        env = make_env(game)
        spaces[game] = (env.observation_space.shape, env.action_space)
        env.close()
    for t in trials:
        if t.config.eval_env and spaces[t.config.eval_env] != spaces[t.config.env]:
            raise ConfigError(
                f"eval_env {t.config.eval_env!r} has observations and actions "
                f"{spaces[t.config.eval_env]}; the training game {t.config.env!r} has "
                f"{spaces[t.config.env]}"
            )


def check_address(address: str, timeout: float = 3.0) -> None:
    """Refuse, quickly, a cluster address where nothing answers.

    ``ray.init(address=...)`` retries for a long while before it gives up; a plain TCP
    connection to the head's port answers at once or within ``timeout`` seconds.

    Args:
        address: ``HOST:PORT`` of a Ray head (``ray start --head`` listens on 6379), or
            ``"auto"`` (the cluster started on this machine, found by Ray itself).
        timeout: seconds to wait for the connection.

    Raises:
        ConfigError: a malformed address, or nothing listening there.
    """
    if address == "auto":
        return
    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit():
        raise ConfigError(f"--address must be HOST:PORT or auto (got {address!r})")
    try:
        socket.create_connection((host, int(port_text)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one there "
            f"with `ray start --head --port={port_text}`, or leave out --address to run on "
            f"this machine"
        ) from exc


# --- one trial -------------------------------------------------------------------------------


def size_thread_pools(threads: int) -> None:
    """Give TensorFlow ``threads`` threads for work inside an op and as many for running ops
    side by side. Call it before TensorFlow runs its first op in the process (it cannot be
    changed afterwards): two trials on two cores then use one core each.

    Raises:
        ConfigError: ``threads`` < 1.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be an integer >= 1 (got {threads!r})")
    from dqn_tf.quiet import tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        # TensorFlow already ran an op in this process (a worker Ray reused, or a notebook):
        # its pools are fixed for the life of the process.
        current = (
            tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads(),
        )
        if current != (threads, threads):
            warnings.warn(
                f"TensorFlow already runs in this process with thread pools {current} "
                f"(0: one per core); the trial keeps them instead of {threads}",
                stacklevel=2,
            )


def _budget(spec: Mapping[str, Any]) -> dict[str, int]:
    return {"steps": spec["steps"]} if spec.get("steps") else {"episodes": spec["episodes"]}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _left(env: Any, budget: Mapping[str, int]) -> int:
    """What a trial still has to play of its budget, in its unit (steps or episodes)."""
    if "steps" in budget:
        return budget["steps"] - env.total_steps
    return budget["episodes"] - len(env.episode_rewards)


def _progress(env: Any) -> dict[str, Any]:
    """How far a trial got: steps, episodes and the last 100 episodes' mean return."""
    return {
        "steps": env.total_steps,
        "episodes": len(env.episode_rewards),
        "avg100": float(np.mean(env.reward_avg)) if env.reward_avg else None,
    }


def _evaluate(config: Config, seed: int, run_dir: Path, weights: Path, episodes: int) -> dict:
    """``python -m dqn_tf evaluate --run-dir R --episodes N --seed 1000+S [--weights best]``,
    in this process: a fresh environment per evaluation, as the command makes one."""
    from dqn_tf.environment import Environment

    # The game it is judged on: the run's eval_env when it has one (as `evaluate` does).
    judged = config.replace(env=config.eval_env, eval_env="") if config.eval_env else config
    env = Environment(config=judged, seed=EVAL_SEED_BASE + seed, run_dir=run_dir, summaries=False)
    try:
        result = env.evaluate(episodes=episodes, weights=weights)
    finally:
        env.close()
    out = {"mean": result["mean"], "std": result["std"]}
    if "landings" in result:
        out["landings"] = result["landings"]
    return out


def run_trial(
    spec: Mapping[str, Any], report: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Train one trial in its run folder, then evaluate its final and best weights.

    Training is ``train``'s: the same ``Environment``, configuration and seed, started at the
    config's ``epsilon_start``, or resumed exactly from the folder's checkpoint when there is
    one (as ``train --resume``), until the run has the budget in total. It runs in pieces of
    ``report_every`` episodes (each ends with the checkpoint ``learn`` writes anyway), so the
    episodes are the ones a single call plays, and a stopped trial loses at most one piece.

    Args:
        spec: ``preset``, ``changes`` (field -> value, ``env`` included), ``seed``,
            ``run_dir``, ``steps`` or ``episodes`` (the other None), ``eval_episodes``,
            ``report_every`` and ``threads`` (TensorFlow's pools; None leaves them).
        report: called after each piece with progress (``steps``, ``episodes``,
            ``avg100``, ``eval_mean`` once there is a periodic evaluation), and at the end
            with ``summary`` too; Ray Tune's ``tune.report`` in a sweep.

    Returns:
        The trial's summary: what ``trial.json`` holds (status, budget, seed, setting, steps,
        episodes, seconds of training, ``final`` and ``best`` evaluations, the step of the best
        periodic evaluation) plus ``episode_rewards``, ``episode_lengths`` and
        ``evaluations`` from the run's history.
    """
    if spec.get("threads"):
        size_thread_pools(int(spec["threads"]))
    from dqn_tf.environment import Environment

    report = report or (lambda _metrics: None)
    run_dir = Path(spec["run_dir"])
    seed = int(spec["seed"])
    config = get_preset(spec["preset"], **spec["changes"])
    budget = _budget(spec)
    base: dict[str, Any] = {
        "budget": budget,
        "seed": seed,
        "preset": spec["preset"],
        "setting": spec.get("setting", {}),
        "eval_episodes": spec["eval_episodes"],
        "eval_seed": EVAL_SEED_BASE + seed,
        # Float sums are grouped by thread, so the same run needs the same pools:
        # `TF_NUM_INTRAOP_THREADS=N TF_NUM_INTEROP_THREADS=N python -m dqn_tf train ...`.
        "tf_threads": spec.get("threads"),
    }
    env = Environment(config=config, seed=seed, run_dir=run_dir)
    epsilon: float | None = config.epsilon_start
    seconds = 0.0
    if env.checkpoint_path.is_file():
        env.resume()  # checks the checkpoint against this configuration first
        epsilon = None  # keep the restored schedule, as `train --resume` does
        # Training time of the earlier sessions, up to the last piece they saved.
        seconds = float((_read_json(run_dir / TRIAL_FILE) or {}).get("seconds", 0.0))
    status, message = "finished", ""
    try:
        while (left := _left(env, budget)) > 0:
            if "steps" in budget:
                pieces, steps_left = spec["report_every"], left
            else:
                pieces, steps_left = min(spec["report_every"], left), None
            started = time.perf_counter()
            env.learn(
                epsilon=epsilon, episodes=pieces, steps=steps_left, log_every=0, progress=False
            )
            epsilon = None
            seconds += time.perf_counter() - started
            progress = _progress(env)
            write_json_atomic(
                run_dir / TRIAL_FILE,
                {**base, "status": "running", "seconds": seconds, "steps": progress["steps"],
                 "episodes": progress["episodes"]},
            )  # fmt: skip
            if env.evaluations:
                progress["eval_mean"] = env.evaluations[-1][1]
            # The last report is the one with the summary, after the evaluations: a
            # scheduler that stops trials on reaching the budget must not cut them off first.
            if _left(env, budget) > 0:
                report(progress)
    except FloatingPointError as exc:
        # A setting that diverges is a result of the sweep, not a failure of it.
        status, message = "diverged", str(exc)
    finally:
        env.close()

    summary: dict[str, Any] = {
        **base,
        "status": status,
        "message": message,
        "steps": env.total_steps,
        "episodes": len(env.episode_rewards),
        "seconds": round(seconds, 3),
        "final": None,
        "best": None,
        "best_at_steps": (max(env.evaluations, key=lambda e: e[1])[0] if env.evaluations else None),
    }
    if status == "finished":
        for key, name in (("final", WEIGHTS_FILE), ("best", BEST_WEIGHTS_FILE)):
            if (run_dir / name).is_file():
                summary[key] = _evaluate(
                    config, seed, run_dir, run_dir / name, spec["eval_episodes"]
                )
    write_json_atomic(run_dir / TRIAL_FILE, summary)
    full = {
        **summary,
        "episode_rewards": list(env.episode_rewards),
        "episode_lengths": list(env.episode_lengths),
        "evaluations": [list(e) for e in env.evaluations],
    }
    report({**_progress(env), "summary": full})
    return full


def _tune_trainable(config: dict[str, Any]) -> None:
    """What each Ray Tune trial runs: :func:`run_trial` reporting to Tune."""
    from ray import tune

    run_trial(config["trial"], report=tune.report)


def _tune_dirname(trial: Any) -> str:
    # Tune's default names embed the whole config; the index is unique and short.
    return f"trial{trial.config['trial']['index']:04d}"


# --- results ---------------------------------------------------------------------------------


def _trial_summary(trial: Trial) -> dict[str, Any] | None:
    """A finished trial's summary from its run folder (trial.json and history.json)."""
    summary = _read_json(trial.run_dir / TRIAL_FILE)
    if summary is None:
        return None
    history = _read_json(trial.run_dir / HISTORY_FILE) or {}
    summary["episode_rewards"] = history.get("episode_rewards", [])
    summary["episode_lengths"] = history.get("episode_lengths", [])
    summary["evaluations"] = history.get("evaluations", [])
    return summary


def _row(trial: Trial, summary: Mapping[str, Any] | None, sweep_dir: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"setting": trial.label, **trial.setting, "seed": trial.seed}
    summary = summary or {}
    final, best = summary.get("final") or {}, summary.get("best") or {}
    row.update(
        {
            "status": summary.get("status", "not run"),
            "steps": summary.get("steps"),
            "episodes": summary.get("episodes"),
            "minutes": round(summary["seconds"] / 60, 2) if "seconds" in summary else None,
            "final_mean": final.get("mean"),
            "final_std": final.get("std"),
            "best_mean": best.get("mean"),
            "best_std": best.get("std"),
            "best_at_steps": summary.get("best_at_steps"),
        }
    )
    if "landings" in final or "landings" in best:
        row["final_landings"] = final.get("landings")
        row["best_landings"] = best.get("landings")
    row["run_dir"] = str(trial.run_dir.relative_to(sweep_dir))
    return row


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per setting, across its seeds: mean, std (sample, n-1), min and max of the final and
    best greedy means, over the trials that finished."""
    out = []
    for label in dict.fromkeys(r["setting"] for r in rows):
        done = [r for r in rows if r["setting"] == label and r["status"] == "finished"]
        entry: dict[str, Any] = {
            "setting": label,
            "seeds": len([r for r in rows if r["setting"] == label]),
            "finished": len(done),
        }
        for key in ("final_mean", "best_mean", "final_landings", "best_landings"):
            values = [r[key] for r in done if r.get(key) is not None]
            if not values:
                continue
            entry[key] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                "min": float(np.min(values)),
                "max": float(np.max(values)),
            }
        out.append(entry)
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def results_markdown(
    rows: Sequence[Mapping[str, Any]],
    summary: Sequence[Mapping[str, Any]],
    eval_episodes: int,
    header: str = "",
    curves: Sequence[str] = (),
) -> str:
    """The trials table and the per-setting summary as Markdown."""
    n = eval_episodes
    landings = any("final_landings" in r for r in rows)
    lines = [header] if header else []
    lines += [
        "## Trials",
        "",
        f"Greedy mean (std) over {n} episodes with evaluation seed 1000 + seed, on a copy of "
        f"the game the agent never trained on; minutes are training time.",
        "",
        "| setting | seed | status | steps | episodes | minutes | final weights | "
        "best weights (found at step) |"
        + (" landings final / best |" if landings else "")
        + " run folder |",
        "|---|---|---|---|---|---|---|---|" + ("---|" if landings else "") + "---|",
    ]
    for r in rows:
        final = (
            f"{_fmt(r['final_mean'])} ({_fmt(r['final_std'])})"
            if r["final_mean"] is not None
            else ""
        )
        best = (
            f"{_fmt(r['best_mean'])} ({_fmt(r['best_std'])}) ({_fmt(r['best_at_steps'])})"
            if r["best_mean"] is not None
            else ""
        )
        cells = [r["setting"], r["seed"], r["status"], r["steps"], r["episodes"], r["minutes"],
                 final, best]  # fmt: skip
        if landings:
            cells.append(f"{_fmt(r.get('final_landings'))} / {_fmt(r.get('best_landings'))}")
        cells.append(f"`{r['run_dir']}`")
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    lines += [
        "",
        "## Per setting, across seeds",
        "",
        "Mean, std (sample, n-1), min and max of the trials' greedy means, over the trials "
        "that finished.",
        "",
        "| setting | finished / seeds | final weights: mean | std | min | max | "
        "best weights: mean | std | min | max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        cells = [s["setting"], f"{s['finished']} / {s['seeds']}"]
        for key in ("final_mean", "best_mean"):
            stats = s.get(key) or {}
            cells += [_fmt(stats.get(k)) for k in ("mean", "std", "min", "max")]
        lines.append("| " + " | ".join(cells) + " |")
    if any(s.get("final_landings") for s in summary):
        lines += ["", "| setting | landings, final weights: mean (min-max) | best weights |",
                  "|---|---|---|"]  # fmt: skip
        for s in summary:
            parts = [
                f"{_fmt(st['mean'])} ({_fmt(st['min'], 0)}-{_fmt(st['max'], 0)})" if st else ""
                for st in (s.get("final_landings"), s.get("best_landings"))
            ]
            lines.append(f"| {s['setting']} | {parts[0]} | {parts[1]} |")
    if curves:
        lines += ["", "## Learning curves", ""]
        lines += [f"![{Path(c).parent.name}](<{c}>)" for c in curves]
    return "\n".join(lines) + "\n"


def results_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Every trial as CSV, one column per key (varied fields included), empty for None."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {
                k: ""
                if r.get(k) is None
                else json.dumps(v)
                if isinstance(v := r.get(k), list)
                else v
                for k in columns
            }  # fmt: skip
        )
    return out.getvalue()


def plot_curves(label: str, summaries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """One PNG of a setting's learning curves: each seed's 100-episode training average (and
    periodic evaluations, where the preset makes them) as thin lines against environment
    steps, their mean across seeds thick. Drawn with matplotlib's Agg canvas, without pyplot,
    so a notebook's backend is left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with_evals = any(s.get("evaluations") for s in summaries)
    fig = Figure(figsize=(11 if with_evals else 6.5, 4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2 if with_evals else 1, squeeze=False)[0]
    curves = []
    for s in summaries:
        rewards, lengths = s.get("episode_rewards") or [], s.get("episode_lengths") or []
        if not rewards:
            continue
        x = np.cumsum(lengths[: len(rewards)])
        y = trailing_mean(np.asarray(rewards, dtype=float), 100)  # the book's avg_score
        axes[0].plot(x, y, lw=0.8, alpha=0.6, label=f"seed {s['seed']}")
        curves.append((x, y))
    _mean_line(axes[0], curves)
    axes[0].set(xlabel="environment steps", ylabel="training return, mean of last 100 episodes",
                title=label)  # fmt: skip
    if with_evals:
        evals = []
        for s in summaries:
            e = np.asarray(s.get("evaluations") or [], dtype=float)
            if len(e):
                axes[1].plot(e[:, 0], e[:, 1], lw=0.8, alpha=0.6, marker=".",
                             label=f"seed {s['seed']}")  # fmt: skip
                evals.append((e[:, 0], e[:, 1]))
        _mean_line(axes[1], evals)
        axes[1].set(xlabel="environment steps", ylabel="greedy mean return",
                    title="periodic evaluations")  # fmt: skip
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def _mean_line(ax: Any, curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """The seeds' mean, on the steps that every seed's curve covers."""
    if len(curves) < 2:
        return
    lo, hi = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    if hi <= lo:
        return
    grid = np.linspace(lo, hi, 200)
    mean = np.mean([np.interp(grid, x, y) for x, y in curves], axis=0)
    ax.plot(grid, mean, lw=2.5, color="black", label=f"mean of {len(curves)} seeds")


def write_results(
    sweep_dir: Path,
    trials: Sequence[Trial],
    summaries: Mapping[int, Mapping[str, Any]],
    eval_episodes: int,
    header: str = "",
) -> dict[str, Any]:
    """Write ``results.csv``, ``results.md`` and one ``curves.png`` per setting.

    Args:
        sweep_dir: the sweep folder.
        trials: every trial of the sweep.
        summaries: trial index -> its summary (:func:`run_trial`'s return value); trials
            without one are listed as not run.
        eval_episodes: greedy episodes per evaluation (for the tables' headings).
        header: Markdown placed above the tables (the command, the preset, the budget).

    Returns:
        ``trials`` (the rows), ``summary`` (per setting), and the paths written.
    """
    rows = [_row(t, summaries.get(t.index), sweep_dir) for t in trials]
    summary = summarize(rows)
    curves = []
    for label in dict.fromkeys(t.label for t in trials):
        done = [summaries[t.index] for t in trials if t.label == label and t.index in summaries]
        if any(s.get("episode_rewards") for s in done):
            path = plot_curves(label, done, sweep_dir / label / CURVES_FILE)
            curves.append(str(path.relative_to(sweep_dir)))
    with atomic_path(sweep_dir / RESULTS_CSV) as tmp:
        tmp.write_text(results_csv(rows))
    with atomic_path(sweep_dir / RESULTS_MD) as tmp:
        tmp.write_text(results_markdown(rows, summary, eval_episodes, header, curves))
    return {
        "trials": rows,
        "summary": summary,
        "results_csv": str(sweep_dir / RESULTS_CSV),
        "results_md": str(sweep_dir / RESULTS_MD),
        "curves": [str(sweep_dir / c) for c in curves],
    }


# What a sweep is, as saved in sweep.json; None in `asked` means "not given".
SWEEP_DEFAULTS: dict[str, Any] = {
    "preset": "fast", "env": None, "seeds": [0], "grid": {}, "eval_episodes": 100,
    "cpus_per_trial": 1.0,
}  # fmt: skip
_OPTION = {"preset": "--preset", "env": "--env", "seeds": "--seeds", "grid": "--set",
           "eval_episodes": "--eval-episodes", "cpus_per_trial": "--cpus-per-trial"}  # fmt: skip


def _asked(
    preset: str | None,
    env: str | None,
    seeds: Sequence[int] | None,
    grid: Mapping[str, Any] | None,
    eval_episodes: int | None,
    cpus_per_trial: float | None,
) -> dict[str, Any]:
    """The arguments that say what a sweep is, as JSON would store them (None: not given)."""
    return {
        "preset": preset,
        "env": env,
        "seeds": None if seeds is None else json.loads(json.dumps(list(seeds))),
        "grid": None if grid is None else json.loads(json.dumps(_as_grid(grid))),
        "eval_episodes": eval_episodes,
        "cpus_per_trial": cpus_per_trial,
    }


def read_sweep(sweep_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The sweep folder's ``sweep.json`` (what the sweep is), or None when there is none.

    Raises:
        ConfigError: the file is there but damaged (not JSON, or a field missing or of the
            wrong type), naming the file.
    """
    path = Path(sweep_dir) / SWEEP_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is damaged ({exc}); move it away to start afresh") from exc
    kinds = {"command": str, "preset": str, "env": (str, type(None)), "budget": dict,
             "seeds": list, "grid": dict, "eval_episodes": int,
             "cpus_per_trial": (int, float)}  # fmt: skip
    if not isinstance(saved, dict):
        raise ConfigError(f"{path} is damaged (not a JSON object); move it away to start afresh")
    saved.setdefault("cpus_per_trial", SWEEP_DEFAULTS["cpus_per_trial"])  # older sweeps
    for name, kind in kinds.items():
        if not isinstance(saved.get(name), kind):
            raise ConfigError(
                f"{path} is damaged ({name}: {saved.get(name)!r}); move it away to start afresh"
            )
    budget = saved["budget"]
    if (
        len(budget) != 1
        or not set(budget) <= {"steps", "episodes"}
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in budget.values()
        )
    ):
        raise ConfigError(f"{path} is damaged (budget: {budget!r}); move it away to start afresh")
    return saved


def _with_saved(asked: Mapping[str, Any], saved: Mapping[str, Any]) -> dict[str, Any]:
    """What a resumed sweep runs: the saved sweep, after checking that nothing given
    disagrees with it.

    Raises:
        ConfigError: naming each argument that differs from the saved sweep.
    """
    differing = [
        f"{_OPTION[name]}: {saved[name]!r} in the sweep folder, {value!r} here"
        for name, value in asked.items()
        if value is not None and value != saved[name]
        and not (name == "cpus_per_trial" and float(value) == float(saved[name]))
    ]  # fmt: skip
    if differing:
        raise ConfigError(
            f"--resume continues the sweep as it was asked ({saved['command']}); leave out or "
            f"correct: {'; '.join(differing)}. Only --steps/--episodes may change"
        )
    return {name: saved[name] for name in asked}


# --- the sweep -------------------------------------------------------------------------------


def sweep_command(
    preset: str,
    env: str | None,
    budget: Mapping[str, int],
    seeds: Sequence[int],
    grid: Mapping[str, Sequence[Any]],
    run_dir: str | os.PathLike,
    eval_episodes: int,
    cpus_per_trial: float = 1.0,
) -> str:
    """The ``python -m dqn_tf sweep`` command line that asks for this sweep (with the CPUs
    per trial when not 1: they size TensorFlow's pools, which decide the runs' float sums)."""
    parts = ["python", "-m", "dqn_tf", "sweep", "--preset", preset]
    if env:
        parts += ["--env", env]
    (kind, amount), = budget.items()  # fmt: skip
    parts += [f"--{kind}", str(amount), "--seeds", *map(str, seeds)]
    for name, values in grid.items():
        text = ",".join(v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
                        for v in values)  # fmt: skip
        parts += ["--set", f"{name}={text}"]
    parts += ["--run-dir", str(run_dir), "--eval-episodes", str(eval_episodes)]
    if float(cpus_per_trial) != 1.0:
        parts += ["--cpus-per-trial", f"{cpus_per_trial:g}"]
    return " ".join(shlex.quote(p) for p in parts)


def _plan_state(trial: Trial, budget: Mapping[str, int], resume: bool) -> str:
    """``"done"``, ``"resume"`` or ``"new"`` for a trial's run folder, after checking that a
    folder already there belongs to this trial.

    Raises:
        ConfigError: the folder holds a run of another configuration or seed; or, without
            ``resume``, any run at all.
    """
    folder = trial.run_dir
    if (folder / CONFIG_FILE).is_file():
        config, seed = read_config(folder)  # a damaged file is one clear line
        wanted, there = trial.config.to_dict(), config.to_dict()
        differing = [f"{k}: {there[k]!r} there, {wanted[k]!r} here" for k in wanted
                     if wanted[k] != there[k]]  # fmt: skip
        if seed != trial.seed:
            differing.append(f"seed: {seed} there, {trial.seed} here")
        if differing:
            raise ConfigError(
                f"run folder {folder} holds a run of another configuration "
                f"({'; '.join(differing)}); choose another --run-dir"
            )
    has_run = any((folder / f).is_file() for f in (CHECKPOINT_FILE, TRIAL_FILE, HISTORY_FILE))
    if not has_run:
        return "new"
    if not resume:
        raise ConfigError(
            f"run folder {folder} already holds a run; continue the sweep with --resume or "
            f"choose another --run-dir"
        )
    info = _read_json(folder / TRIAL_FILE) or {}
    if info.get("status") in ("diverged", "stopped_early") or (
        info.get("status") == "finished" and info.get("budget") == dict(budget)
    ):
        return "done"
    if not (folder / CHECKPOINT_FILE).is_file():
        return "new"  # stopped before its first checkpoint: nothing to continue from
    return "resume"


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for a block and put the old values back after it."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start_local_ray(num_cpus: int | None, quiet: dict[str, Any], attempts: int = 2) -> None:
    """``ray.init`` of a Ray of this process's own, tried twice: Ray gives its processes a
    fixed 30 s to start, which a machine whose CPUs are all busy can run out (a second try
    finds Python's modules in the page cache).

    Raises:
        SweepError: Ray did not start.
    """
    import ray

    for attempt in range(1, attempts + 1):
        try:
            # "local": a Ray of its own, even when RAY_ADDRESS or a `ray start` on this
            # machine (/tmp/ray/ray_current_cluster, stale or not) names another.
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **quiet)
            return
        except Exception as exc:  # Ray raises a bare Exception on its start-up time-out
            ray.shutdown()  # whatever part of it did start
            if attempt == attempts:
                raise SweepError(
                    f"could not start Ray on this machine: {exc} (tried {attempts} times; Ray "
                    f"gives its processes 30 s to start, which can run out on a machine whose "
                    f"CPUs are all busy: try again when fewer processes compete for them)"
                ) from exc
            print(f"Ray did not start ({exc}); trying once more", file=sys.stderr, flush=True)


@contextmanager
def ray_session(address: str | None, num_cpus: int | None) -> Iterator[dict[str, float]]:
    """Ray for the length of a block: started on this machine (no dashboard, ``num_cpus``
    CPUs) and shut down after, or joined at ``address`` and left running. A Ray already
    initialised in this process (a notebook's) is used as it is and left running.

    Yields:
        The most CPUs any one node offers, under ``"node_cpus"``.

    Raises:
        ConfigError: nothing answers at ``address`` or Ray refuses to connect.
        SweepError: Ray did not start on this machine.
    """
    import ray

    started = joined = False
    if not ray.is_initialized():
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            try:
                ray.init(address=address, **quiet)
            except Exception as exc:  # ConnectionError, RuntimeError, ...
                raise ConfigError(
                    f"could not join the Ray cluster at {address}: {exc} (a cluster with token "
                    f"authentication needs RAY_AUTH_MODE=token here and its token, in "
                    f"RAY_AUTH_TOKEN or ~/.ray/auth_token, as on its nodes)"
                ) from exc
        else:
            _start_local_ray(num_cpus, quiet)
        started, joined = not address, bool(address)
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        yield {"node_cpus": max((n["Resources"].get("CPU", 0.0) for n in nodes), default=0.0)}
    finally:
        if started or joined:
            ray.shutdown()  # a joined cluster keeps running; this only disconnects from it


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the sweep like Ctrl-C (Ray shut down, results so far written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress_callback(
    trials: Sequence[Trial], found: dict[int, dict[str, Any]], log: bool, bar: Any = None
):
    """A Tune callback that keeps each trial's last result, prints a line per trial and moves
    the bar (if any) by each trial that ends."""
    from ray import tune

    total = len(trials)

    class Progress(tune.Callback):
        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            t = trials_by_index[trial.config["trial"]["index"]]
            if log:
                say(f"[{t.index + 1}/{total}] started {t.label} seed {t.seed}", bar)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            t = trials_by_index[trial.config["trial"]["index"]]
            result = trial.last_result or {}
            summary = result.get("summary")
            if summary is None:  # stopped by the scheduler before the end
                summary = {
                    "status": "stopped_early",
                    "steps": result.get("steps"),
                    "episodes": result.get("episodes"),
                }
            found[t.index] = summary
            if log:
                say(f"[{t.index + 1}/{total}] {_trial_line(t, summary)}", bar)
            if bar is not None:
                bar.update(1)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            t = trials_by_index[trial.config["trial"]["index"]]
            error = getattr(trial, "error_file", None) or ""
            found[t.index] = {"status": "error", "message": f"see {error}"}
            say(f"[{t.index + 1}/{total}] {t.label} seed {t.seed}: failed, {error}", bar)
            if bar is not None:
                bar.update(1)

    trials_by_index = {t.index: t for t in trials}
    return Progress()


def _trial_line(t: Trial, summary: Mapping[str, Any]) -> str:
    text = f"{t.label} seed {t.seed}: {summary.get('status')}, {summary.get('steps')} steps"
    if "seconds" in summary:
        text += f", {summary['seconds'] / 60:.1f} min"
    for key in ("final", "best"):
        if summary.get(key):
            text += f", {key} {summary[key]['mean']:.1f}"
            if "landings" in summary[key]:
                text += f" ({summary[key]['landings']} landings)"
    return text


def sweep(
    preset: str | None = None,
    *,
    run_dir: str | os.PathLike,
    steps: int | None = None,
    episodes: int | None = None,
    seeds: Sequence[int] | None = None,
    grid: Mapping[str, Any] | None = None,
    env: str | None = None,
    eval_episodes: int | None = None,
    cpus_per_trial: float | None = None,
    max_concurrent: int | None = None,
    num_cpus: int | None = None,
    address: str | None = None,
    resume: bool = False,
    asha: bool = False,
    asha_grace: int | None = None,
    asha_reduction: int = 2,
    report_every: int = 10,
    log: bool = True,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train a preset over a grid of settings and seeds with Ray Tune; write the results.

    What the sweep is (preset, game, seeds, grid, evaluation episodes, CPUs per trial) is
    saved in the sweep folder's ``sweep.json`` before any trial starts. ``resume`` continues
    with it: those arguments may be left out, and one that disagrees is refused naming it;
    only the budget may change (a bigger one continues every trial to it).

    Args:
        preset: one of :data:`~dqn_tf.presets.PRESETS` (default ``"fast"``).
        run_dir: the sweep folder; trial ``i`` trains in ``<run_dir>/<setting>/seed<S>``.
        steps: environment steps per trial (give this or ``episodes``; on resume, the
            saved budget when neither is given).
        episodes: episodes per trial.
        seeds: each setting runs once per seed (default ``[0]``).
        grid: field -> list of values (a grid when several fields have several values); a
            single value or a non-list is a fixed override, e.g. ``{"learning_rate": [6.3e-4,
            1e-3], "memory_size": 5000}``.
        env: gymnasium id to play instead of the preset's.
        eval_episodes: greedy episodes per evaluation of the final and best weights
            (default 100).
        cpus_per_trial: CPUs Ray reserves for each trial; TensorFlow gets that many threads
            (default 1).
        max_concurrent: at most this many trials at once (default: as many as the CPUs
            allow).
        num_cpus: CPUs of the Ray started on this machine (default: all); not with
            ``address``.
        address: ``HOST:PORT`` of a running Ray cluster to use (``ray start --head``), or
            None to start Ray on this machine for the sweep and stop it after.
        resume: continue a stopped sweep: finished trials are kept, unfinished ones continue
            from their checkpoints, trials not started yet start.
        asha: stop the trials whose periodic evaluation (``eval_every_steps``) trails, with
            Ray Tune's ASHA scheduler; off by default.
        asha_grace: steps (or episodes) every trial runs before ASHA may stop it (default:
            a quarter of the budget).
        asha_reduction: ASHA keeps about 1 in this many trials at each rung.
        report_every: episodes between progress reports to Tune (and checkpoints).
        log: print a line per trial and where the results are.
        progress: a bar of the trials done (True/False); None shows one in a terminal or a
            notebook (:mod:`dqn_tf.progress`); never without ``log``.

    Returns:
        ``run_dir``, ``trials`` (one row per trial: setting, seed, status, steps, episodes,
        minutes, final and best greedy mean and std, landings where the game reports them,
        run folder), ``summary`` (per setting across seeds), ``results_csv``, ``results_md``,
        ``curves``, ``ran`` and ``skipped`` (trials run now and finished before), ``seconds``
        (wall time) and ``command``.

    Raises:
        ConfigError: any bad argument, before Ray starts or anything is written.
        KeyboardInterrupt: Ctrl-C or SIGTERM; Ray is shut down, the results so far written,
            and ``resume=True`` continues.
    """
    started = time.perf_counter()
    sweep_dir = Path(run_dir).resolve()  # Ray's workers start in folders of their own
    asked = _asked(preset, env, seeds, grid, eval_episodes, cpus_per_trial)
    saved = read_sweep(sweep_dir)
    if saved is not None and not resume:
        raise ConfigError(
            f"{sweep_dir} already holds a sweep ({saved['command']}); continue it with "
            f"--resume or choose another --run-dir"
        )
    if resume and saved is not None:
        asked = _with_saved(asked, saved)
        if steps is None and episodes is None:
            steps, episodes = saved["budget"].get("steps"), saved["budget"].get("episodes")
    asked = {k: SWEEP_DEFAULTS[k] if v is None else v for k, v in asked.items()}
    preset, env, seeds = asked["preset"], asked["env"], asked["seeds"]
    grid, eval_episodes = asked["grid"], asked["eval_episodes"]
    cpus_per_trial = asked["cpus_per_trial"]
    if (steps is None) == (episodes is None):
        raise ConfigError("give a budget per trial: --steps or --episodes (one of them)")
    for name, value in (("steps", steps), ("episodes", episodes)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"--{name} must be an integer >= 1 (got {value!r})")
    _check_count("eval-episodes", eval_episodes)
    _check_count("report-every", report_every)
    if max_concurrent is not None:
        _check_count("max-concurrent", max_concurrent)
    if num_cpus is not None:
        _check_count("num-cpus", num_cpus)
    if not isinstance(cpus_per_trial, int | float) or not cpus_per_trial > 0:
        raise ConfigError(f"--cpus-per-trial must be a number > 0 (got {cpus_per_trial!r})")
    if address and num_cpus is not None:
        raise ConfigError(
            "--num-cpus sizes the Ray started on this machine; with --address the cluster's "
            "nodes offer what their `ray start --num-cpus` gave them: leave one out"
        )
    if not address and cpus_per_trial > (num_cpus or os.cpu_count() or 1):
        raise ConfigError(
            f"--cpus-per-trial {cpus_per_trial} is more than this machine's "
            f"{num_cpus or os.cpu_count()} CPUs (--num-cpus); no trial could start"
        )
    budget = {"steps": steps} if steps is not None else {"episodes": episodes}
    trials = plan_trials(preset, env, grid, seeds, sweep_dir)
    if asha:
        _check_asha(trials, budget, asha_grace, asha_reduction)
    check_games(trials)
    if address:
        check_address(address)
    states = {t.index: _plan_state(t, budget, resume) for t in trials}
    command = sweep_command(
        preset, env, budget, seeds, grid, run_dir, eval_episodes, cpus_per_trial
    )
    # What the sweep is, saved before anything runs: a sweep killed at any moment resumes
    # with `--resume` alone.
    write_json_atomic(
        sweep_dir / SWEEP_FILE,
        {"command": command, "preset": preset, "env": env, "budget": budget,
         "seeds": list(seeds), "grid": grid, "eval_episodes": eval_episodes,
         "cpus_per_trial": cpus_per_trial},
    )  # fmt: skip

    summaries: dict[int, dict[str, Any]] = {}
    for t in trials:
        if states[t.index] == "done":
            summaries[t.index] = _trial_summary(t) or {}
    to_run = [t for t in trials if states[t.index] != "done"]
    settings = len(dict.fromkeys(t.label for t in trials))
    if log:
        print(
            f"Sweep of {len(trials)} trials ({settings} settings x {len(list(seeds))} seeds) "
            f"of preset {preset!r} in {sweep_dir}: {len(to_run)} to run"
            + (
                f", {len(trials) - len(to_run)} finished before"
                if len(to_run) < len(trials)
                else ""
            ),  # fmt: skip
            flush=True,
        )
    threads = max(1, math.floor(cpus_per_trial))
    header = _header(command, preset, trials, budget, grid, threads)
    interrupted, failure = False, None
    if to_run:
        specs = [
            {
                "index": t.index,
                "preset": preset,
                "changes": {**fixed_overrides(grid),
                            **({"env": env} if env else {}), **t.setting},
                "setting": t.setting,
                "seed": t.seed,
                "run_dir": str(t.run_dir),
                **budget,
                "eval_episodes": eval_episodes,
                "report_every": report_every,
                "threads": threads,
            }
            for t in to_run
        ]  # fmt: skip
        bar = run_progress.bar(
            len(trials),
            initial=len(trials) - len(to_run),
            unit="trial",
            desc="sweep",
            wanted=progress if log else False,
        )
        try:
            _run_with_tune(
                specs, trials, summaries, sweep_dir, budget, address, num_cpus,
                cpus_per_trial, max_concurrent, asha, asha_grace, asha_reduction, log, bar,
            )  # fmt: skip
        except KeyboardInterrupt:
            interrupted = True
        except SweepError as exc:
            failure = exc
        finally:
            if bar is not None:
                bar.close()
        for t in to_run:
            s = summaries.get(t.index)
            if s is None:  # interrupted or failed: list how far it got
                progress = _read_json(t.run_dir / TRIAL_FILE)
                if progress is not None:
                    summaries[t.index] = {**progress, "status": "unfinished"}
            elif s.get("status") == "stopped_early":
                # ASHA's verdict is kept with the run, so that --resume respects it.
                summaries[t.index] = {**(_read_json(t.run_dir / TRIAL_FILE) or {}), **s}
                write_json_atomic(t.run_dir / TRIAL_FILE, summaries[t.index])
    result = write_results(sweep_dir, trials, summaries, eval_episodes, header)
    finished = sum(1 for r in result["trials"] if r["status"] in DONE)
    if log:
        print(results_markdown(result["trials"], result["summary"], eval_episodes), flush=True)
        print(f"Results: {result['results_md']}, {result['results_csv']}", flush=True)
        for path in result["curves"]:
            print(f"  curves: {path}", flush=True)
        print(f"  TensorBoard: tensorboard --logdir {sweep_dir}", flush=True)
    if failure is not None:
        raise SweepError(
            f"{failure}; {finished} of {len(trials)} trials finished, results so far in "
            f"{result['results_md']}; continue with --resume"
        ) from failure
    if interrupted:
        raise KeyboardInterrupt(
            f"Interrupted: {finished} of {len(trials)} trials finished, results so far in "
            f"{result['results_md']}; continue with --resume"
        )
    return {
        "run_dir": str(sweep_dir),
        **result,
        "ran": len(to_run),
        "skipped": len(trials) - len(to_run),
        "seconds": round(time.perf_counter() - started, 3),
        "command": command,
    }


def _check_count(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"--{name} must be an integer >= 1 (got {value!r})")


def _check_asha(
    trials: Sequence[Trial], budget: Mapping[str, int], grace: int | None, reduction: int
) -> None:
    without = sorted({t.label for t in trials if t.config.eval_every_steps <= 0})
    if without:
        raise ConfigError(
            f"--asha judges trials by their periodic evaluations, and {without} make none "
            f"(eval_every_steps=0); add --set eval_every_steps=N"
        )
    (amount,) = budget.values()
    if grace is not None and not (isinstance(grace, int) and 1 <= grace < amount):
        raise ConfigError(f"--asha-grace must be an integer in [1, {amount}) (got {grace!r})")
    if not isinstance(reduction, int) or reduction < 2:
        raise ConfigError(f"--asha-reduction must be an integer >= 2 (got {reduction!r})")


def _header(
    command: str,
    preset: str,
    trials: Sequence[Trial],
    budget: Mapping[str, int],
    grid: Mapping[str, Sequence[Any]],
    threads: int,
) -> str:
    (kind, amount), = budget.items()  # fmt: skip
    fixed = fixed_overrides(grid)
    varied = [k for k in grid if k not in fixed]
    return "\n".join(
        [
            f"# Sweep: preset `{preset}` on {trials[0].config.env}",
            "",
            "```bash",
            command,
            "```",
            "",
            f"{amount:,} {kind} per trial; varied: {', '.join(varied) or 'nothing'}; "
            f"fixed overrides: {fixed or 'none'}; seeds {sorted({t.seed for t in trials})}.",
            "",
            f"Each trial ran with TensorFlow thread pools of {threads}. `train` with the same "
            f"preset, settings and seed gives the same run with the same pools: "
            f"`TF_NUM_INTRAOP_THREADS={threads} TF_NUM_INTEROP_THREADS={threads} python -m "
            f"dqn_tf train ...` (with other pool sizes, float sums are grouped differently and "
            f"the runs drift apart after some thousand steps).",
            "",
        ]
    )


def _run_with_tune(
    specs: list[dict[str, Any]],
    trials: Sequence[Trial],
    found: dict[int, dict[str, Any]],
    sweep_dir: Path,
    budget: Mapping[str, int],
    address: str | None,
    num_cpus: int | None,
    cpus_per_trial: float,
    max_concurrent: int | None,
    asha: bool,
    asha_grace: int | None,
    asha_reduction: int,
    log: bool,
    bar: Any = None,
) -> None:
    """Run ``specs`` as one Tune experiment; each finished trial's summary lands in
    ``found`` (by the progress callback, so that an interrupted sweep keeps what finished)."""
    # Tune's own loggers would add a second set of TensorBoard events beside each trial's
    # (the JSON one is kept: Tune reads it back); its Ctrl-C handler would print a
    # "Tuner.restore" hint that does not apply, so Ctrl-C interrupts as anywhere else; its
    # new console output prints tables that the per-trial lines replace.
    # Ray 2.60 turns on token authentication for a Ray it starts, with a warning on every
    # start unless the mode is set: set it (to the same mode) for the Ray started here.
    auth = {} if address else {"RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "token")}
    with (
        _environ(
            **auth,
            TUNE_DISABLE_AUTO_CALLBACK_LOGGERS="1",
            TUNE_DISABLE_SIGINT_HANDLER="1",
            # A trial reports eval_mean only once it has a periodic evaluation; ASHA passes
            # over the reports without it.
            TUNE_DISABLE_STRICT_METRIC_CHECKING="1",
            RAY_AIR_NEW_OUTPUT="0",
        ),
        ray_session(address, num_cpus) as cluster,
    ):
        if cpus_per_trial > cluster["node_cpus"]:
            raise ConfigError(
                f"--cpus-per-trial {cpus_per_trial} is more than any node of the cluster "
                f"offers ({cluster['node_cpus']:g} CPUs); no trial could start"
            )
        from ray import tune
        from ray.tune.logger import JsonLoggerCallback

        scheduler = None
        if asha:
            from ray.tune.schedulers import ASHAScheduler

            (kind, amount), = budget.items()  # fmt: skip
            scheduler = ASHAScheduler(
                time_attr=kind,
                metric="eval_mean",
                mode="max",
                max_t=amount,
                grace_period=asha_grace or max(1, amount // 4),
                reduction_factor=asha_reduction,
            )
        tuner = tune.Tuner(
            tune.with_resources(_tune_trainable, {"cpu": cpus_per_trial}),
            param_space={"trial": tune.grid_search(specs)},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=max_concurrent,
                scheduler=scheduler,
                trial_dirname_creator=_tune_dirname,
                trial_name_creator=_tune_dirname,
            ),
            run_config=tune.RunConfig(
                name=TUNE_DIR,
                storage_path=str(sweep_dir),
                verbose=0,
                callbacks=[JsonLoggerCallback(), _progress_callback(trials, found, log, bar)],
            ),
        )
        with _sigterm_as_interrupt():
            try:
                tuner.fit()
            except tune.TuneError as exc:
                lines = [line for line in str(exc).splitlines() if line.strip()]
                raise SweepError(
                    f"Ray Tune stopped the sweep: {lines[-1] if lines else exc}"
                ) from exc
