"""Sweeps: one preset trained over a grid of settings and several seeds, on Ray Tune.

    python -m dqn_tf sweep --preset fast --steps 20000 --seeds 0 1 2 \\
        --set learning_rate=0.00063,0.001 --run-dir runs/sweeps/lr

Tune does the work: its grid search makes the trials (settings x seeds) and runs them side by
side on a local Ray, or the cluster at ``address``, with ``cpus_per_trial`` CPUs each; its
callbacks tell when one starts and ends; its ResultGrid's pandas DataFrame becomes
``results.csv`` and ``results.md``. A trial (:func:`run_trial`) is a run folder
``<sweep>/<setting>/seed<S>/``: ``train`` continued from its checkpoint to the budget, as
``train --resume`` does, then ``evaluate --seed 1000+S`` of its final and best weights. So the
same command run again continues a stopped sweep, and a finished trial returns at once.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dqn_tf.files import atomic_path, write_json_atomic
from dqn_tf.presets import PRESETS, Config, ConfigError, field_names, get_preset
from dqn_tf.progress import bar as progress_bar
from dqn_tf.progress import say
from dqn_tf.run_folder import CONFIG_FILE, check_same_settings, read_config, read_history

TRIAL_FILE, SWEEP_FILE = "trial.json", "sweep.json"  # a trial's last report; what the sweep is
EVAL_SEED_BASE = 1000  # final greedy episodes: `evaluate --seed 1000+S`, as bench/solve.py
DONE = ("finished", "diverged", "stopped_early")  # a rerun would only repeat these
ASKED = {"preset": "fast", "env": None, "seeds": [0], "grid": {}, "eval_episodes": 100}
ASKED["cpus_per_trial"] = 1.0  # the defaults of what a sweep is
COLUMNS = ["status", "steps", "episodes", "minutes", "final_mean", "final_std", "best_mean"]
COLUMNS += ["best_std", "best_at_steps", "final_landings", "best_landings"]


class SweepError(RuntimeError):
    """Ray did not start on this machine: not a fault of the sweep's arguments."""


@dataclass(frozen=True)
class Trial:
    """One run: its place, setting as text and folder name (``"learning_rate=0.001"``), the
    varied values, seed, whole configuration and run folder."""

    index: int
    label: str
    setting: dict[str, Any]
    seed: int
    config: Config
    run_dir: Path


def parse_set(pairs: Sequence[str]) -> dict[str, list[Any]]:
    """``--set FIELD=V1,V2,...`` as field -> values: the list as JSON when it is one
    (``hidden=[64,64],[128]``), else each value as ``train --set`` reads it (``loss=mse,huber``)."""
    from dqn_tf.cli import _parse_value

    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        name, sep, text = (s.strip() for s in pair.partition("="))
        if not sep or name in grid:
            raise ConfigError(f"--set takes FIELD=V1,V2,..., once per field (got {pair!r})")
        try:
            grid[name] = json.loads(f"[{text}]")
        except ValueError:
            grid[name] = [_parse_value(t.strip()) for t in text.split(",")]
    return grid


def _label_text(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(map(_label_text, value))
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", value if isinstance(value, str) else json.dumps(value))


def setting_label(setting: Mapping[str, Any], preset: str) -> str:
    """``"batch_size=64,learning_rate=0.001"``; the preset's name when nothing is varied."""
    return ",".join(f"{k}={_label_text(v)}" for k, v in setting.items()) or preset


def fixed_overrides(grid: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """The fields given one value: overrides that every trial shares."""
    return {name: values[0] for name, values in grid.items() if len(values) == 1}


def plan_trials(
    preset: str, env: str | None, grid: Mapping[str, list], seeds: Sequence[int], sweep_dir: Path
) -> list[Trial]:
    """Every trial, its configuration and game checked before anything runs (ConfigError
    naming the field and value): settings in grid order, the first field slowest; seeds within."""
    from dqn_tf.games import make_env

    def twice(values: Sequence[Any]) -> list[Any]:
        return [v for i, v in enumerate(values) if v in values[:i]]

    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {list(PRESETS)} (got {preset!r})")
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds) or twice(seeds):
        raise ConfigError(f"give seeds, integers >= 0, each once (got {list(seeds)})")
    for name, values in grid.items():
        if name not in field_names():
            raise ConfigError(f"unknown config field {name!r} in --set; allowed: {field_names()}")
        if not values or twice(values):
            raise ConfigError(f"--set {name}: give at least one value, each once (got {values})")
    fixed = {**fixed_overrides(grid), **({"env": env} if env else {})}
    varied = {name: values for name, values in grid.items() if len(values) > 1}
    trials: list[Trial] = []
    for combo in itertools.product(*varied.values()):
        setting = dict(zip(varied, combo, strict=True))
        label = setting_label(setting, preset)
        try:
            config = get_preset(preset, **fixed, **setting)
        except (TypeError, ValueError) as exc:  # ConfigError, or e.g. hidden=64 (not a list)
            raise ConfigError(f"{exc} (in {label if setting else fixed})") from exc
        game = make_env(config.env)  # a bad id is one line before Ray starts, as in `train`
        try:
            if config.eval_env:
                from dqn_tf.evaluation import check_eval_env

                check_eval_env(config, game)
        finally:
            game.close()
        for seed in seeds:
            run_dir = sweep_dir / label / f"seed{seed}"
            trials.append(Trial(len(trials), label, setting, seed, config, run_dir))
    return trials


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_done(info: Any, budget: Mapping[str, int]) -> bool:
    status = info.get("status") if isinstance(info, dict) else None
    return status in DONE and (status != "finished" or info.get("budget") == budget)


# --- one trial ---------------------------------------------------------------------------------


def run_trial(config: Mapping[str, Any], report: Callable[[dict], None] | None = None) -> dict:
    """One trial in this process (what each Ray worker runs): ``train`` of its run folder to
    the budget, from its checkpoint when there is one, in pieces of ``report_every`` episodes
    (each ends with the checkpoint that ``learn`` writes), then ``evaluate`` of its final and
    best weights. ``config`` is Tune's: ``label``, ``seed`` and, under ``sweep``, what every
    trial shares. ``report`` (``tune.report`` by default) gets the progress after each piece
    but the last, then the summary, which is returned and kept in ``trial.json``."""
    if report is None:
        from ray.tune import report
    s, label, seed = config["sweep"], config["label"], config["seed"]
    budget, run_dir = s["budget"], Path(s["root"], label, f"seed{seed}")
    if _is_done(summary := _read_json(run_dir / TRIAL_FILE), budget):
        report(summary)  # finished before: nothing to train or evaluate
        return summary
    from dqn_tf.quiet import tf

    try:  # float sums are grouped by thread: the same run needs the same pools
        tf.config.threading.set_intra_op_parallelism_threads(s["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(s["threads"])
    except RuntimeError:  # TensorFlow already ran in this process (a notebook): pools stay
        pass
    from dqn_tf.environment import Environment
    from dqn_tf.resume import left_to_play

    config = get_preset(s["preset"], **s["fixed"], **s["settings"][label])
    env = Environment(config=config, seed=seed, run_dir=run_dir)
    epsilon, seconds, status = config.epsilon_start, 0.0, "finished"
    if env.checkpoint_path.is_file():
        env.resume()  # checked against the configuration first
        epsilon, seconds = None, summary["minutes"] * 60  # the schedule goes on, as in `train`
    episodes, steps = budget.get("episodes"), budget.get("steps")

    def figures(status: str) -> dict[str, Any]:
        evaluation = env.evaluations[-1][1] if env.evaluations else None
        return {"setting": label, "seed": seed, "budget": budget, "status": status,
                "steps": env.total_steps, "episodes": len(env.episode_rewards),
                "minutes": round(seconds / 60, 4), "eval_mean": evaluation}  # fmt: skip

    try:
        while (left := left_to_play(env, episodes, steps)) > 0:
            started = time.perf_counter()
            piece = min(s["report_every"], left) if episodes else s["report_every"]
            quiet = {"log_every": 0, "progress": False}
            env.learn(epsilon=epsilon, episodes=piece, steps=steps and left, **quiet)
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
    for weights in ("final", "best") if status == "finished" else ():
        if (env.best_weights_path if weights == "best" else env.weights_path).is_file():
            found = _evaluate(run_dir, weights, EVAL_SEED_BASE + seed, s["eval_episodes"])
            summary |= {
                f"{weights}_{k}": found[k] for k in ("mean", "std", "landings") if k in found
            }
    write_json_atomic(run_dir / TRIAL_FILE, summary)
    report(summary)
    return summary


def _evaluate(run_dir: Path, weights: str, seed: int, episodes: int) -> dict[str, Any]:
    """``python -m dqn_tf evaluate --run-dir R --episodes N --seed S --weights W``, here."""
    from dqn_tf.cli import build_parser

    args = ["evaluate", "--run-dir", str(run_dir), "--episodes", str(episodes), "--seed"]
    args = build_parser().parse_args([*args, str(seed), "--weights", weights, "--no-progress"])
    return args.func(args)


def _progress_callback(trials: Sequence[Trial], ended: dict[int, str], log: bool, bar: Any = None):
    """A Tune callback: a line as each trial starts and ends, the bar moved by each that ends,
    ``ended[index]`` its status (a scheduler's stop also in its folder, so a rerun keeps it)."""
    from ray import tune

    by_key = {(t.label, t.seed): t for t in trials}

    def line(trial: Any, text: str, status: str | None = None) -> None:
        t = by_key[trial.config["label"], trial.config["seed"]]
        if status:
            ended[t.index] = status
            if status == "stopped_early":
                info = _read_json(t.run_dir / TRIAL_FILE) or {}
                write_json_atomic(t.run_dir / TRIAL_FILE, {**info, "status": status})
            if bar is not None:
                bar.update(1)
        if log or status == "error":
            say(f"[{t.index + 1}/{len(trials)}] {t.label} seed {t.seed}: {text}", bar)

    class Progress(tune.Callback):
        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            line(trial, "started")

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            result = trial.last_result or {}
            status = result.get("status", "running").replace("running", "stopped_early")
            means = [f", {k} {result[f'{k}_mean']:.1f}" for k in ("final", "best")
                     if result.get(f"{k}_mean") is not None]  # fmt: skip
            line(trial, f"{status}, {result.get('steps')} steps{''.join(means)}", status)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            line(trial, f"failed, see {getattr(trial, 'error_file', '')}", "error")

    return Progress()


# --- the results: Tune's DataFrame as tables ---------------------------------------------------


def results_frame(trials: Sequence[Trial], reported: Any, ended: Mapping[int, str]) -> Any:
    """One row per trial, in the sweep's order: setting, varied fields, seed, its status as Tune
    ended it (else ``unfinished`` when it reported, ``not run``), its last report to Tune
    (``reported``: ``ResultGrid.get_dataframe()``) and its run folder."""
    import pandas as pd

    last = {(r["setting"], r["seed"]): r for r in reported.to_dict("records") if "seed" in r}
    rows = []
    for t in trials:
        got = last.get((t.label, t.seed), {})
        row = {"setting": t.label, **t.setting, "seed": t.seed} | {c: got.get(c) for c in COLUMNS}
        row["status"] = ended.get(t.index) or ("unfinished" if got else "not run")
        rows.append({**row, "run_dir": f"{t.label}/seed{t.seed}"})
    frame = pd.DataFrame(rows)
    frame = frame.drop(columns=[c for c in COLUMNS[-2:] if frame[c].isna().all()])
    integers = ["steps", "episodes", "best_at_steps", *COLUMNS[-2:]]
    return frame.astype({c: "Int64" for c in integers if c in frame})


def summarize(frame: Any) -> Any:
    """Per setting: its finished trials and seeds, and the mean, std (n-1), min and max across
    the finished ones of the final and best greedy means (and landings)."""
    stats = [c for c in frame if c in ("final_mean", "best_mean") or c.endswith("_landings")]
    done = frame[frame["status"] == "finished"].astype(dict.fromkeys(stats, float))
    table = done.groupby("setting", sort=False)[stats].agg(["mean", "std", "min", "max"])
    table.columns = [" ".join(c) for c in table.columns]
    by = frame.assign(finished=frame["status"] == "finished").groupby("setting", sort=False)
    return by.agg(finished=("finished", "sum"), seeds=("seed", "size")).join(table).reset_index()


def plot_curves(label: str, trials: Sequence[Trial], path: Path) -> Path | None:
    """A setting's learning curves, a panel per seed (:func:`display.plot_learning_curve`),
    drawn without pyplot (a notebook's backend is left alone); None before any episode."""
    from matplotlib.figure import Figure

    from dqn_tf.display import plot_learning_curve

    histories = [(t.seed, t.run_dir) for t in trials if t.label == label]
    runs = [(seed, read_history(d)["episode_rewards"]) for seed, d in histories
            if (d / "history.json").is_file()]  # fmt: skip
    if not (runs := [(seed, rewards) for seed, rewards in runs if rewards]):
        return None
    fig = Figure(figsize=(4.5 * len(runs), 3.5), layout="tight")
    for ax, (seed, rewards) in zip(fig.subplots(1, len(runs), squeeze=False)[0], runs):  # noqa: B905
        plot_learning_curve(rewards, ax=ax, title=f"{label}, seed {seed}")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_results(sweep_dir: Path, trials: Sequence[Trial], frame: Any, header: str) -> dict:
    """``results.csv`` (every trial), ``results.md`` (the trials, each setting across seeds,
    the curves) and ``<setting>/curves.png``: their paths, and the tables as records."""
    summary = summarize(frame)
    labels = dict.fromkeys(t.label for t in trials)
    curves = [
        f"{k}/curves.png" for k in labels if plot_curves(k, trials, sweep_dir / k / "curves.png")
    ]
    figures = {c: 1 for c in [*frame, *summary] if c.endswith(("mean", "std", "min", "max"))}
    shown = [
        f.round(figures).astype(object).fillna("").to_string(index=False) for f in (frame, summary)
    ]
    markdown = f"{header}\n\n## Trials\n\n```\n{shown[0]}\n```\n\n## Per setting, across the "
    markdown += f"seeds that finished (std: n-1)\n\n```\n{shown[1]}\n```\n"
    markdown += "".join(f"\n![{Path(c).parent}](<{c}>)\n" for c in curves)
    paths = {"results_csv": sweep_dir / "results.csv", "results_md": sweep_dir / "results.md"}
    for path, text in zip(paths.values(), (frame.to_csv(index=False), markdown), strict=True):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    tables = {"trials": frame, "summary": summary}
    return {k: json.loads(f.to_json(orient="records")) for k, f in tables.items()} | {
        "curves": [str(sweep_dir / c) for c in curves], "markdown": markdown,
        **{k: str(v) for k, v in paths.items()}}  # fmt: skip


# --- the sweep ---------------------------------------------------------------------------------


def _settle(sweep_dir: Path, given: dict[str, Any], budget: dict[str, int]) -> tuple[dict, dict]:
    """The sweep and its budget: what is given, the rest from the folder's sweep.json (else the
    defaults); what disagrees with the folder's sweep is refused, naming it. Only the budget
    may change (a larger one continues every trial to it)."""
    path = sweep_dir / SWEEP_FILE
    saved = _read_json(path) if path.is_file() else {}
    if not isinstance(saved, dict) or saved and not {*ASKED, "budget"} <= set(saved):
        raise ConfigError(f"{path} is damaged ({str(saved)[:60]}); move it away to start afresh")
    option = {k: "--" + k.replace("grid", "set").replace("_", "-") for k in ASKED}
    differing = [f"{option[k]}: {saved[k]!r} in the sweep folder, {v!r} here"
                 for k, v in given.items() if saved and v is not None and v != saved[k]]  # fmt: skip
    if differing:
        raise ConfigError(f"{sweep_dir} holds another sweep: leave out or correct "
                          f"{'; '.join(differing)} (only --steps/--episodes may change)")  # fmt: skip
    if len(budget) != 1 and not saved:
        raise ConfigError("give a budget per trial: --steps or --episodes (one of them)")
    asked = {k: saved.get(k, ASKED[k]) if v is None else v for k, v in given.items()}
    return asked, budget if len(budget) == 1 else saved["budget"]


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
    asha: bool = False,
    asha_grace: int | None = None,
    asha_reduction: int = 2,
    report_every: int = 10,
    log: bool = True,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train ``preset`` over ``grid`` (field -> values; one value, or a non-list, is a fixed
    override) x ``seeds`` on Ray Tune, ``steps`` or ``episodes`` per trial, then play
    ``eval_episodes`` greedy episodes with each trial's final and best weights; write the
    results into the sweep folder ``run_dir`` and return them: ``trials``, ``summary`` (per
    setting), the files, ``ran``, ``skipped`` (finished before) and ``seconds``.

    Called again on the folder, the sweep continues: what is left out is the folder's, what
    disagrees is refused (ConfigError, before Ray starts). Ray starts here (``num_cpus``) and
    stops after, or joins ``address`` (``HOST:PORT``). A trial has ``cpus_per_trial`` CPUs
    and TensorFlow threads; ``max_concurrent`` caps the trials at once; ``asha`` stops those
    that trail (Tune's ASHA on ``eval_mean``, ``asha_grace``, ``asha_reduction``); a trial
    reports every ``report_every`` episodes. ``log``: a line per trial and the tables;
    ``progress``: a bar (None: in a terminal or notebook). Ctrl-C stops Tune, writes the
    results so far and raises KeyboardInterrupt."""
    started, sweep_dir = time.perf_counter(), Path(run_dir).resolve()
    grid = None if grid is None else {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    given = {"preset": preset, "env": env, "seeds": None if seeds is None else list(seeds),
             "eval_episodes": eval_episodes, "cpus_per_trial": cpus_per_trial,
             "grid": json.loads(json.dumps(grid))}  # fmt: skip
    budget = {k: v for k, v in (("steps", steps), ("episodes", episodes)) if v is not None}
    asked, budget = _settle(sweep_dir, given, budget)
    (kind, amount), cpus = next(iter(budget.items())), asked["cpus_per_trial"]
    counts = {"eval-episodes": asked["eval_episodes"], "report-every": report_every, kind: amount,
              "max-concurrent": max_concurrent, "num-cpus": num_cpus, "asha-grace": asha_grace}  # fmt: skip
    for flag, n in counts.items():
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ConfigError(f"--{flag} must be an integer >= 1 (got {n!r})")
    if address and num_cpus is not None:
        raise ConfigError("--num-cpus sizes the Ray started on this machine; not with --address")
    if not isinstance(cpus, int | float) or not 0 < cpus <= (num_cpus or os.cpu_count() or 1e9):
        raise ConfigError(f"--cpus-per-trial {cpus!r}: give a number > 0, at most the CPUs")
    trials = plan_trials(asked["preset"], asked["env"], asked["grid"], asked["seeds"], sweep_dir)
    if asha and (none := sorted({t.label for t in trials if t.config.eval_every_steps <= 0})):
        raise ConfigError(f"--asha judges trials by their periodic evaluations, and {none} make "
                          f"none (eval_every_steps=0); add --set eval_every_steps=N")  # fmt: skip
    if asha and not (isinstance(asha_reduction, int) and asha_reduction > 1):
        raise ConfigError(f"--asha-reduction must be an integer >= 2 (got {asha_reduction!r})")
    host, _, port = (address or "").rpartition(":")
    try:  # `ray.init` would retry for minutes where no Ray head answers
        if address and address != "auto":
            socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no Ray cluster answers at {address} ({exc}); give HOST:PORT of "
                          f"one (`ray start --head --port=6379`), or leave out --address") from exc  # fmt: skip
    for t in trials:  # a run folder already there holds this very trial
        if (t.run_dir / CONFIG_FILE).is_file():
            how = "a sweep continues each trial's run folder"
            check_same_settings(t.run_dir, read_config(t.run_dir)[0], t.config.to_dict(), how)
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
        if not address:
            raise SweepError(f"could not start Ray on this machine: {exc}") from exc
        raise ConfigError(f"could not join the Ray cluster at {address}: {exc} (a cluster with "
                          f"token authentication needs RAY_AUTH_MODE=token here, and its token "
                          f"in RAY_AUTH_TOKEN or ~/.ray/auth_token)") from exc  # fmt: skip
    write_json_atomic(sweep_dir / SWEEP_FILE, {**asked, "budget": budget})
    fixed = fixed_overrides(asked["grid"]) | ({"env": asked["env"]} if asked["env"] else {})
    shared = {"preset": asked["preset"], "fixed": fixed, "root": str(sweep_dir), "asha": asha,
              "settings": {t.label: t.setting for t in trials}, "budget": budget,
              "eval_episodes": asked["eval_episodes"], "report_every": report_every,
              "threads": max(1, int(cpus))}  # fmt: skip
    labels = tune.grid_search(list(dict.fromkeys(t.label for t in trials)))
    space = {"label": labels, "seed": tune.grid_search(asked["seeds"]), "sweep": shared}
    scheduler = tune.schedulers.ASHAScheduler(
        time_attr=kind, metric="eval_mean", mode="max", max_t=amount,
        grace_period=asha_grace or max(1, amount // 4), reduction_factor=asha_reduction,
    ) if asha else None  # fmt: skip
    ended: dict[int, str] = {}
    bar = progress_bar(len(trials), unit="trial", desc="sweep", wanted=progress if log else False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(run_trial, {"cpu": cpus}),
            param_space=space,
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, scheduler=scheduler),
            run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir), verbose=0,
                                      callbacks=[_progress_callback(trials, ended, log, bar)]),
        )  # fmt: skip
        frame = results_frame(trials, tuner.fit().get_dataframe(), ended)
    finally:
        if bar is not None:
            bar.close()
        if own:
            ray.shutdown()
    note = f"greedy mean and std over {asked['eval_episodes']} episodes, evaluation seed 1000+S"
    header = f"# Sweep\n\n{json.dumps({**asked, 'budget': budget})}\n\nfinal and best: {note}"
    result = write_results(sweep_dir, trials, frame, header)
    if log:
        print(result["markdown"], f"Results: {result['results_md']}, {result['results_csv']}",
              *[f"  curves: {c}" for c in result["curves"]],
              f"  TensorBoard: tensorboard --logdir {sweep_dir}", sep="\n", flush=True)  # fmt: skip
    if len(ended) < len(trials):  # Ctrl-C: Tune stopped the trials and returned
        raise KeyboardInterrupt(f"Interrupted: {sum(s in DONE for s in frame['status'])} of "
                                f"{len(trials)} trials done, results so far in "
                                f"{result['results_md']}; the same command continues")  # fmt: skip
    seconds = round(time.perf_counter() - started, 3)
    return result | {"run_dir": str(sweep_dir), "ran": len(trials) - skipped, "skipped": skipped,
                     "seconds": seconds}  # fmt: skip
