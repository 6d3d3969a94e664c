"""Sweeps: one preset trained over a grid of settings and several seeds, on Ray Tune.

A trial is a run folder ``<sweep>/<setting>/seed<S>/``, trained to its budget as ``train
--resume`` would, then judged by ``evaluate`` (held-out starts); so the same command run again
continues a stopped sweep. Tune runs the grid; its results become the tables."""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NamedTuple

from dqn_tf.errors import check_count
from dqn_tf.files import atomic_path, write_json_atomic
from dqn_tf.presets import Config, ConfigError, get_preset
from dqn_tf.progress import bar as progress_bar
from dqn_tf.progress import say
from dqn_tf.run_folder import CONFIG_FILE, check_same_settings, read_config, read_history

TRIAL_FILE, SWEEP_FILE = "trial.json", "sweep.json"  # a trial's last report; what the sweep is
DONE = ("finished", "diverged", "stopped_early")  # a rerun would only repeat these
ASKED = {"preset": "fast", "env": None, "seeds": [0], "grid": {}, "eval_episodes": 100,
         "cpus_per_trial": 1.0}  # what a sweep is, and its defaults  # fmt: skip
COLUMNS = ["status", "steps", "episodes", "minutes", "final_mean", "final_std", "best_mean",
           "best_std", "best_at_steps", "final_landings", "best_landings"]  # fmt: skip


class Trial(NamedTuple):
    """One run: its place, setting as text (its folder) and values, seed, configuration, folder."""

    index: int
    label: str
    setting: dict[str, Any]
    seed: int
    config: Config
    run_dir: Path


def setting_label(setting: Mapping[str, Any], preset: str) -> str:
    """``"batch_size=64,hidden=64x64"``; the preset's name when nothing is varied."""
    text = [(k, "x".join(map(str, v)) if isinstance(v, list) else v) for k, v in setting.items()]
    text = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in text]
    return ",".join(re.sub(r"[^A-Za-z0-9._=+-]", "_", t) for t in text) or preset


def plan_trials(
    preset: str, env: str | None, grid: Mapping[str, list], seeds: Sequence[int], sweep_dir: Path
) -> list[Trial]:
    """Every trial, its settings checked (ConfigError): grid order, first field slowest; seeds."""
    from dqn_tf.games import check_games

    if not 0 < len(seeds) == len(set(seeds)) or any(not isinstance(i, int) or i < 0 for i in seeds):
        raise ConfigError(f"give seeds, integers >= 0, each once (got {list(seeds)})")
    for name, values in grid.items():
        if not 0 < len(values) == len({json.dumps(v) for v in values}):
            raise ConfigError(f"--set {name}: give at least one value, each once (got {values})")
    fixed = {k: v[0] for k, v in grid.items() if len(v) == 1} | ({"env": env} if env else {})
    varied = {name: values for name, values in grid.items() if len(values) > 1}
    trials: list[Trial] = []
    for combo in itertools.product(*varied.values()):
        setting = dict(zip(varied, combo, strict=True))
        label = setting_label(setting, preset)
        try:
            config = get_preset(preset, **fixed, **setting)
        except (TypeError, ValueError) as exc:  # ConfigError, or e.g. hidden=64 (not a list)
            raise ConfigError(f"{exc} (in {label if setting else fixed})") from exc
        check_games(config)  # one line before Ray starts, as in `train`
        for seed in seeds:
            run_dir = sweep_dir / label / f"seed{seed}"
            trials.append(Trial(len(trials), label, setting, seed, config, run_dir))
    return trials


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_done(info: Any, budget: Mapping[str, int]) -> bool:  # nothing left to train in it
    status = isinstance(info, dict) and info.get("status")
    return status in DONE and (status != "finished" or info["budget"] == budget)


def run_trial(config: Mapping[str, Any], report: Callable[[dict], None]) -> dict:
    """One trial, in a Ray worker: trained in pieces of ``report_every`` episodes, each
    reported to Tune, then evaluated; the summary, also in ``trial.json``, is returned."""
    s, label, seed = config["sweep"], config["setting"], config["seed"]
    budget, run_dir = s["budget"], Path(s["root"], label, f"seed{seed}")
    if _is_done(summary := _read_json(run_dir / TRIAL_FILE), budget):
        report(summary)  # finished before: nothing to train or evaluate
        return summary
    from dqn_tf.cli import build_parser
    from dqn_tf.environment import Environment
    from dqn_tf.quiet import tf
    from dqn_tf.resume import left_to_play

    with suppress(RuntimeError):  # the same run needs the same pools (not once TF has run)
        tf.config.threading.set_intra_op_parallelism_threads(s["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(s["threads"])
    config = Config.from_dict(s["configs"][label])
    env = Environment(config=config, seed=seed, run_dir=run_dir)
    epsilon, seconds, status = config.epsilon_start, 0.0, "finished"
    if env.checkpoint_path.is_file():
        env.resume()  # checked against the configuration first
        epsilon, seconds = None, (summary or {}).get("minutes", 0) * 60  # as `train --resume`
    episodes, steps = budget.get("episodes"), budget.get("steps")

    def figures(status: str) -> dict[str, Any]:
        evaluation = env.evaluations[-1][1] if env.evaluations else None
        return {"setting": label, "seed": seed, "budget": budget, "status": status,
                "steps": env.total_steps, "episodes": len(env.episode_rewards),
                "minutes": round(seconds / 60, 2), "eval_mean": evaluation}  # fmt: skip

    try:
        while (left := left_to_play(env, episodes, steps)) > 0:
            started, piece = time.perf_counter(), min(s["report_every"], left if episodes else 1e9)
            env.learn(epsilon=epsilon, episodes=int(piece), steps=steps and left, log_every=0,
                      progress=False)  # fmt: skip
            epsilon, seconds = None, seconds + time.perf_counter() - started
            write_json_atomic(run_dir / TRIAL_FILE, figures("running"))
            # The summary comes last: ASHA (on eval_mean) must not stop a trial at its budget.
            if left_to_play(env, episodes, steps) > 0 and (env.evaluations or not s["asha"]):
                report(figures("running"))
    except FloatingPointError:  # a setting that diverges is a result, not a failure
        status = "diverged"
    finally:
        env.close()
    best_at = max(env.evaluations, key=lambda e: e[1])[0] if env.evaluations else None
    summary = {**figures(status), "best_at_steps": best_at}
    for w in ("final", "best") if status == "finished" else ():
        if (env.best_weights_path if w == "best" else env.weights_path).is_file():
            args = ["evaluate", "--run-dir", str(run_dir), "--weights", w, "--episodes",
                    str(s["eval_episodes"])]  # fmt: skip
            found = (parsed := build_parser().parse_args([*args, "--no-progress"])).func(parsed)
            summary |= {f"{w}_{k}": found[k] for k in ("mean", "std", "landings") if k in found}
    write_json_atomic(run_dir / TRIAL_FILE, summary)
    report(summary)
    return summary


def _progress_callback(trials: Sequence[Trial], ended: dict[int, str], log: bool, bar: Any = None):
    """Tune's callbacks: a line and a step of the bar per trial that ends, ``ended`` its status."""
    from ray import tune

    def line(trial: Any, text: str, status: str) -> None:
        key = trial.config["setting"], trial.config["seed"]
        t = next(t for t in trials if (t.label, t.seed) == key)
        if status == "stopped_early":  # kept in its folder, so that a rerun keeps it
            info = _read_json(t.run_dir / TRIAL_FILE) or {}
            write_json_atomic(t.run_dir / TRIAL_FILE, {**info, "status": status})
        ended[t.index] = status
        bar.update(1) if bar is not None else None
        if log or status == "error":
            say(f"[{t.index + 1}/{len(trials)}] {t.label} seed {t.seed}: {text}", bar)

    class Progress(tune.Callback):
        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            result = trial.last_result or {}
            status = result.get("status", "running").replace("running", "stopped_early")
            means = "".join(f", {k} {result[k + '_mean']:.1f}" for k in ("final", "best")
                            if result.get(k + "_mean") is not None)  # fmt: skip
            line(trial, f"{status}, {result.get('steps')} steps{means}", status)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            line(trial, f"failed, see {getattr(trial, 'error_file', '')}", "error")

    return Progress()


def write_results(sweep_dir: Path, trials: Sequence[Trial], reported: Any, ended: Mapping[int, str],
                  header: str) -> dict:  # fmt: skip
    """A row per trial (setting, seed, last report, status) in ``results.csv`` and ``results.md``,
    a ``curves.png`` per setting (no pyplot: a notebook would keep the figures); returned too."""
    import pandas as pd
    from matplotlib.figure import Figure

    from dqn_tf.display import plot_learning_curve

    plan = pd.DataFrame([{"setting": t.label, **t.setting, "seed": t.seed} for t in trials])
    frame = plan.merge(reported.reindex(columns=["setting", "seed", *COLUMNS]), "left")
    frame["status"] = [ended.get(t.index) or ("unfinished" if s == s else "not run")
                       for t, s in zip(trials, frame["status"], strict=True)]  # fmt: skip
    frame["run_dir"] = [f"{t.label}/seed{t.seed}" for t in trials]
    frame = frame.drop(columns=[c for c in COLUMNS[-2:] if frame[c].isna().all()])  # landings
    frame = frame.astype({c: "Int64" for c in ["steps", "episodes", *COLUMNS[-3:]] if c in frame})
    # Per setting: trials finished, seeds, and mean, std (n-1), min, max of the finished ones.
    stats = [c for c in frame if c in ("final_mean", "best_mean") or c.endswith("_landings")]
    done = frame[frame["status"] == "finished"].astype(dict.fromkeys(stats, float))
    summary = done.groupby("setting", sort=False)[stats].agg(["mean", "std", "min", "max"])
    summary.columns = [" ".join(c) for c in summary.columns]
    by = frame.assign(finished=frame["status"] == "finished").groupby("setting", sort=False)
    summary = by.agg(finished=("finished", "sum"), seeds=("seed", "size")).join(summary)
    summary, curves = summary.reset_index(), []
    for label in dict.fromkeys(t.label for t in trials):
        runs = [(t.seed, h["episode_rewards"]) for t in trials if t.label == label
                and (t.run_dir / "history.json").is_file()
                and (h := read_history(t.run_dir))["episode_rewards"]]  # fmt: skip
        if runs:
            fig = Figure(figsize=(4.5 * len(runs), 3.5), layout="tight")
            axes = fig.subplots(1, len(runs), squeeze=False)[0]
            for ax, (seed, rewards) in zip(axes, runs, strict=True):
                plot_learning_curve(rewards, ax=ax, title=f"{label}, seed {seed}")
            with atomic_path(sweep_dir / label / "curves.png", suffix=".png") as tmp:
                fig.savefig(tmp, format="png")
            curves.append(f"{label}/curves.png")
    figures = {c: 1 for c in [*frame, *summary] if c.endswith(("mean", "std", "min", "max"))}
    shown = [f.round(figures).astype(object).fillna("").to_string(index=False)
             for f in (frame, summary)]  # fmt: skip
    markdown = f"{header}\n\n## Trials\n\n```\n{shown[0]}\n```\n\n## Per setting, across the seeds "
    markdown += f"that finished (std: n-1)\n\n```\n{shown[1]}\n```\n"
    markdown += "".join(f"\n![{Path(c).parent}](<{c}>)\n" for c in curves)
    paths = {"results_csv": sweep_dir / "results.csv", "results_md": sweep_dir / "results.md"}
    for path, text in zip(paths.values(), (frame.to_csv(index=False), markdown), strict=True):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    tables = {"trials": frame, "summary": summary}
    records = {k: f.to_json(orient="records", double_precision=15) for k, f in tables.items()}
    return {k: json.loads(text) for k, text in records.items()} | {
        "curves": [str(sweep_dir / c) for c in curves], "markdown": markdown,
        **{k: str(v) for k, v in paths.items()}}  # fmt: skip


def sweep(preset: str | None = None, *, run_dir: str | os.PathLike, steps: int | None = None,
          episodes: int | None = None, seeds: Sequence[int] | None = None,
          grid: Mapping[str, Any] | None = None, env: str | None = None,
          eval_episodes: int | None = None, cpus_per_trial: float | None = None,
          max_concurrent: int | None = None, num_cpus: int | None = None,
          address: str | None = None, asha: bool = False, asha_grace: int | None = None,
          asha_reduction: int = 2, report_every: int = 10, log: bool = True,
          progress: bool | None = None) -> dict[str, Any]:  # fmt: skip
    """Train ``preset`` over ``grid`` (field -> values) x ``seeds`` in ``run_dir``, ``steps`` or
    ``episodes`` per trial; evaluate the final and best weights over ``eval_episodes`` episodes.
    Run again, it continues: what is left out is the folder's, a disagreement a ConfigError.
    ``asha`` stops trailing trials. Ctrl-C writes the results and raises KeyboardInterrupt."""
    started, sweep_dir = time.perf_counter(), Path(run_dir).resolve()
    grid = grid and {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    given = {"preset": preset, "env": env, "seeds": seeds and list(seeds), "grid": grid,
             "eval_episodes": eval_episodes, "cpus_per_trial": cpus_per_trial}  # fmt: skip
    given = {k: v for k, v in json.loads(json.dumps(given)).items() if v is not None}
    budget = {k: v for k, v in (("steps", steps), ("episodes", episodes)) if v is not None}
    saved = _read_json(path) if (path := sweep_dir / SWEEP_FILE).is_file() else {}  # its sweep
    if not isinstance(saved, dict) or saved and not {*ASKED, "budget"} <= set(saved):
        raise ConfigError(f"{path} is damaged ({str(saved)[:60]}); move it away to start afresh")
    option = {k: "--" + k.replace("grid", "set").replace("_", "-") for k in ASKED}
    if differing := [f"{option[k]}: {saved[k]!r} in the sweep folder, {v!r} here"
                     for k, v in given.items() if saved and v != saved[k]]:  # fmt: skip
        raise ConfigError(f"{sweep_dir} holds another sweep: leave out or correct "
                          f"{'; '.join(differing)} (only the budget may change)")  # fmt: skip
    if len(budget) != 1 and not saved:
        raise ConfigError("give a budget per trial: --steps or --episodes (one of them)")
    asked = ASKED | {k: v for k, v in saved.items() if k in ASKED} | given
    budget = budget if len(budget) == 1 else saved["budget"]  # a larger one continues all
    (kind, amount), cpus = next(iter(budget.items())), asked["cpus_per_trial"]
    counts = {"eval-episodes": asked["eval_episodes"], "report-every": report_every,
              "max-concurrent": max_concurrent, "num-cpus": num_cpus, "asha-grace": asha_grace,
              kind: amount}  # fmt: skip
    for flag, n in counts.items():
        if n is not None:
            check_count(f"--{flag}", n)
    if not isinstance(cpus, int | float) or not 0 < cpus <= (num_cpus or os.cpu_count() or 1e9):
        raise ConfigError(f"--cpus-per-trial {cpus!r}: give a number > 0, at most the CPUs")
    trials = plan_trials(asked["preset"], asked["env"], asked["grid"], asked["seeds"], sweep_dir)
    if asha and (none := sorted({t.label for t in trials if t.config.eval_every_steps <= 0})):
        raise ConfigError(f"--asha judges trials by their periodic evaluations, and {none} make "
                          f"none (eval_every_steps=0); add --set eval_every_steps=N")  # fmt: skip
    host, _, port = (address or "").rpartition(":")
    try:  # `ray.init` would retry for minutes where no Ray head answers
        if address and address != "auto":
            socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no Ray cluster answers at {address} ({exc}); give HOST:PORT of "
                          "one (`ray start --head`), or leave out --address") from exc  # fmt: skip
    for t in trials:  # a run folder already there holds this very trial
        if (t.run_dir / CONFIG_FILE).is_file():
            check_same_settings(t.run_dir, read_config(t.run_dir)[0], t.config.to_dict(),
                                "a sweep continues each trial's run folder")  # fmt: skip
    skipped = sum(_is_done(_read_json(t.run_dir / TRIAL_FILE), budget) for t in trials)
    if log:
        print(f"Sweep of {len(trials)} trials of preset {asked['preset']!r} in {sweep_dir}: "
              f"{len(trials) - skipped} to run, {skipped} finished before", flush=True)  # fmt: skip
    if not address and "ray" not in sys.modules:  # read as Ray is imported
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # as a Ray started here sets it, unsaid
    import ray
    from ray import tune

    own = not ray.is_initialized()  # a notebook's own Ray is used as it is, and kept
    try:
        if own:
            ray.init(address=address or "local", num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
    except Exception as exc:  # ConnectionError, RuntimeError... (Ray raises several kinds)
        ray.shutdown()
        where = f"join the Ray cluster at {address}" if address else "start Ray"
        raise ConfigError(f"could not {where}: {exc} (a cluster with token authentication needs "
                         "RAY_AUTH_MODE=token here and its token, in RAY_AUTH_TOKEN or "
                         "~/.ray/auth_token)") from exc  # fmt: skip
    write_json_atomic(sweep_dir / SWEEP_FILE, {**asked, "budget": budget})
    shared = {"root": str(sweep_dir), "configs": {t.label: t.config.to_dict() for t in trials},
              "budget": budget, "asha": asha, "report_every": report_every,
              "eval_episodes": asked["eval_episodes"], "threads": max(1, int(cpus))}  # fmt: skip
    labels = tune.grid_search(list(dict.fromkeys(t.label for t in trials)))
    space = {"seed": tune.grid_search(asked["seeds"]), "setting": labels, "sweep": shared}
    scheduler = tune.schedulers.ASHAScheduler(
        time_attr=kind, metric="eval_mean", mode="max", max_t=amount,
        grace_period=asha_grace or max(1, amount // 4), reduction_factor=asha_reduction,
    ) if asha else None  # fmt: skip
    ended: dict[int, str] = {}
    bar = progress_bar(len(trials), unit="trial", desc="sweep", wanted=progress if log else False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(run_trial, report=tune.report), {"cpu": cpus}),
            param_space=space,
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, scheduler=scheduler),
            run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir), verbose=0,
                                      callbacks=[_progress_callback(trials, ended, log, bar)]),
        )  # fmt: skip
        reported = tuner.fit().get_dataframe()
    finally:
        bar.close() if bar is not None else None
        ray.shutdown() if own else None
    note = f"greedy mean and std over {asked['eval_episodes']} episodes from starts 1000, 1001..."
    header = f"# Sweep\n\n{json.dumps({**asked, 'budget': budget})}\n\nfinal and best: {note}"
    result = write_results(sweep_dir, trials, reported, ended, header)
    if log:
        print(result["markdown"], f"Results: {result['results_md']}, {result['results_csv']}",
              f"  TensorBoard: tensorboard --logdir {sweep_dir}", sep="\n", flush=True)  # fmt: skip
    if len(ended) < len(trials):  # Ctrl-C: Tune stopped the trials and returned
        done = sum(r["status"] in DONE for r in result["trials"])
        raise KeyboardInterrupt(f"Interrupted: {done} of {len(trials)} trials done, results "
                                f"so far in {result['results_md']}; run it again")  # fmt: skip
    return result | {"run_dir": str(sweep_dir), "ran": len(trials) - skipped, "skipped": skipped,
                     "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
