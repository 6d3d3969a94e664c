"""Command line: ``python -m dqn_tf train | evaluate | replay | export | presets | sweep``.

With ``--json`` the last line of standard output is one JSON object. A bad argument or
hyperparameter is one line (``error: ...``) and exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from dqn_tf.errors import ConfigError, check_count  # these two import no TensorFlow: fast
from dqn_tf.files import DiskFull

# TensorFlow's start-up lines are dropped by dqn_tf.quiet, which keeps its real warnings and
# errors, so TF_CPP_MIN_LOG_LEVEL is left as the user set it. pygame needs no display.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

DEFAULT_PRESET = "fast"
SEED_MAX = 2**32 - 1  # numpy's and gymnasium's seeds are unsigned 32-bit integers


def _parse_value(text: str) -> Any:
    """A command-line value: JSON when it is JSON (numbers, lists, true), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``train --set FIELD=VALUE`` pairs as a dict of field changes."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set takes FIELD=VALUE (got {pair!r})")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def parse_grid(pairs: list[str]) -> dict[str, list[Any]]:
    """``sweep --set FIELD=V1,V2,...`` pairs as a grid: a field's values are a JSON list
    (``hidden=[64,64],[128]``), else each value as ``train --set`` reads one."""
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


def check_arguments(args: argparse.Namespace) -> None:
    """Every number and path a command takes, checked before anything runs: one line naming
    the argument, its value and what is allowed (ConfigError, exit status 2)."""
    seeds = [args.seed] if getattr(args, "seed", None) is not None else []
    for seed in seeds + (getattr(args, "seeds", None) or []):
        if not 0 <= seed <= SEED_MAX:
            raise ConfigError(f"--seed must be an integer in 0..{SEED_MAX} (got {seed})")
    for name, least in (("episodes", 1), ("steps", 1), ("every", 1), ("log_every", 0)):
        if getattr(args, name, None) is not None:
            check_count("--" + name.replace("_", "-"), getattr(args, name), least)
    scale = getattr(args, "scale", None)
    if scale is not None and not 0 < scale <= 1:
        raise ConfigError(f"--scale must be a number in (0, 1] (got {scale})")
    for name in ("run_dir", "gif", "to"):
        path = str(getattr(args, name, ""))
        if any("\udc80" <= c <= "\udcff" for c in path):  # bytes not in UTF-8 (PEP 383)
            shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            flag, why = "--" + name.replace("_", "-"), "TensorFlow and HDF5 take UTF-8 paths only"
            raise ConfigError(f"{flag} {shown} is not a UTF-8 path ({why}); choose a name in UTF-8")


def _progress(args: argparse.Namespace) -> bool | None:
    """No bar with --no-progress or --json; otherwise one in a terminal (dqn_tf.progress)."""
    return False if args.no_progress or getattr(args, "json", False) else None


def _train_settings(args: argparse.Namespace) -> tuple[Any, int]:
    """The configuration and seed to train with: the preset and overrides, or with
    ``--resume`` the run folder's own, refusing options that disagree with it."""
    from dqn_tf.presets import get_preset
    from dqn_tf.run_folder import check_same_settings, read_config

    changes = {**_overrides(args.set), **({"env": args.env} if args.env else {})}
    if not args.resume:
        return get_preset(args.preset or DEFAULT_PRESET, **changes), args.seed or 0
    saved, seed = read_config(args.run_dir)
    asked = get_preset(args.preset, **changes).to_dict() if args.preset else changes
    check_same_settings(args.run_dir, saved, asked)
    if args.seed is not None and args.seed != seed:
        raise ConfigError(
            f"run folder {args.run_dir} was made with seed {seed}, not {args.seed}; --resume "
            f"continues with the saved configuration: leave --seed out, or start a new run "
            f"in another --run-dir"
        )
    return saved, seed


def _check_new_run(args: argparse.Namespace) -> None:
    """A new run never writes over another (continue it with --resume, or --overwrite)."""
    from dqn_tf.run_folder import BEST_WEIGHTS_FILE, CHECKPOINT_FILE, WEIGHTS_FILE

    if (args.run_dir / CHECKPOINT_FILE).is_file():
        raise ConfigError(
            f"run folder {args.run_dir} already holds a checkpoint; continue it with "
            f"--resume or choose another --run-dir"
        )
    trained = [f for f in (WEIGHTS_FILE, BEST_WEIGHTS_FILE) if (args.run_dir / f).is_file()]
    if trained and not args.overwrite:
        raise ConfigError(
            f"run folder {args.run_dir} holds trained weights ({', '.join(trained)}) but no "
            f"checkpoint to resume; --overwrite replaces them with a new run, or choose "
            f"another --run-dir"
        )


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.games import check_games
    from dqn_tf.run_folder import lock

    config, seed = _train_settings(args)
    check_games(config)
    # One writer per run folder, from before anything is written until the end; a second
    # writer stops here with one line and exit status 2, and changes nothing.
    with lock(args.run_dir):
        if not args.resume:
            _check_new_run(args)
        from dqn_tf.environment import Environment

        events = args.run_dir / "tensorboard"
        before = set(events.iterdir()) if events.is_dir() else None
        env = Environment(config=config, seed=seed, run_dir=args.run_dir)
        try:
            return _train(args, env)
        except ConfigError:
            # Refused before any step (a checkpoint that fails its checks): the TensorBoard
            # events file the Environment opened is the only trace of this attempt.
            if not env.total_steps and env.summary_writer is not None:
                env.summary_writer.close()
                for new in set(events.iterdir()) - (before or set()):
                    new.unlink()
                if before is None:
                    shutil.rmtree(events)
            raise


def _train(args: argparse.Namespace, env: Any) -> dict[str, Any]:
    from dqn_tf.resume import left_to_play

    episodes, steps, epsilon = args.episodes, args.steps, env.config.epsilon_start
    how = f"preset {args.preset or DEFAULT_PRESET!r}"
    if args.resume:
        env.resume()
        epsilon, how = None, "its saved configuration"  # keep the restored schedule
        left = left_to_play(env, episodes, steps)
        episodes, steps = (left, None) if episodes is not None else (None, left)
    print(f"Training {env.config.env} with {how}, seed {env.seed}, in {env.run_dir}", flush=True)
    started = time.perf_counter()
    if (episodes or steps or 0) > 0:
        every, bar = args.log_every, _progress(args)
        env.train(epsilon, episodes, steps=steps, log_every=every, progress=bar)
    else:
        print("The run already has the episodes or steps asked for: nothing to train.")
    seconds = time.perf_counter() - started
    env.close()
    print(
        f"Run folder: {env.run_dir}\n  weights: {env.weights_path}\n"
        f"  TensorBoard: tensorboard --logdir {env.run_dir / 'tensorboard'}",
        flush=True,
    )
    return {"episode_rewards": env.episode_rewards, "steps": env.total_steps,
            "seconds": round(seconds, 3), "run_dir": str(env.run_dir)}  # fmt: skip


def _player(args: argparse.Namespace, **kw: Any) -> tuple[Any, Path]:
    """An Environment to play the run in ``--run-dir`` greedily (its game as
    :func:`~dqn_tf.evaluation.judged_config` says), and its ``--weights`` file; it stores
    nothing, so its memory is one batch."""
    from dqn_tf.environment import Environment
    from dqn_tf.evaluation import judged_config
    from dqn_tf.run_folder import read_config, weights_file

    config, _ = read_config(args.run_dir)  # checked: a damaged file is one clear line
    weights = weights_file(args.run_dir, args.weights)
    kw.get("check", lambda: None)()
    config = judged_config(config, args.env).replace(memory_size=config.batch_size)
    env = Environment(config=config, seed=args.seed, run_dir=args.run_dir, summaries=False,
                      render_mode=kw.get("render_mode"))  # fmt: skip
    return env, weights


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    env, weights = _player(args)
    result = env.evaluate(args.episodes, weights, _progress(args), seed=args.seed)
    env.close()
    landed = f", landings {result['landings']}/{args.episodes}" if "landings" in result else ""
    print(f"{args.episodes} greedy episodes: mean {result['mean']:.2f} std {result['std']:.2f}"
          f"{landed} on {env.config.env}", flush=True)  # fmt: skip
    return {**result, "env": env.config.env}


def _check_gif_path(args: argparse.Namespace) -> None:
    """``--gif`` may not be a folder, a file of the run folder, or (without ``--overwrite``)
    an existing file."""
    from dqn_tf import run_folder as rf

    gif, run = args.gif.resolve(), args.run_dir.resolve()  # a link is judged by its target
    own = (rf.CONFIG_FILE, rf.HISTORY_FILE, rf.WEIGHTS_FILE, rf.BEST_WEIGHTS_FILE,
           rf.CHECKPOINT_FILE, rf.LOCK_FILE)  # fmt: skip
    if gif.is_dir():
        raise ConfigError(f"--gif {args.gif} is a folder; give the path of a .gif file")
    if (gif.parent == run and gif.name in own) or run / "tensorboard" in gif.parents:
        raise ConfigError(
            f"--gif {args.gif} is one of the run folder's own files; write the GIF "
            f"elsewhere (for example {args.run_dir / 'agent.gif'})"
        )
    if (args.gif.exists() or args.gif.is_symlink()) and not args.overwrite:
        raise ConfigError(f"--gif {args.gif} exists; --overwrite replaces it")


def cmd_replay(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.display import frames_to_gif

    env, weights = _player(args, render_mode="rgb_array", check=lambda: _check_gif_path(args))
    env.agent.load_weights(weights)
    (ret,) = env.learn(0.0, 1, trainable=False, log_every=0, capture_frames=True,
                       progress=_progress(args))  # fmt: skip
    steps = env.runner.last_steps  # game steps: one frame per decision with an action repeat
    # Real time: a kept frame stands for every * action_repeat game steps.
    fps = env.env.metadata.get("render_fps", 30) / (args.every * env.config.action_repeat)
    env.close()
    frames_to_gif(env.runner.frames, args.gif, scale=args.scale, every=args.every, fps=fps)
    print(f"GIF of one greedy episode (return {ret:.2f}, {steps} steps) written to {args.gif}",
          flush=True)  # fmt: skip
    return {"return": ret, "steps": steps, "gif": str(args.gif), "landed": env.landings[0],
            "env": env.config.env}  # fmt: skip


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.export import export

    result = export(args.run_dir, args.to, args.weights)
    names = ", ".join(Path(p).name for p in result["written"])
    litert = f"\n{result['litert']}" if result["litert"] else ""  # why there is no .tflite
    print(f"{args.weights} weights of {args.run_dir} exported to {args.to}: {names}{litert}")
    return result


def cmd_presets(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.presets import PRESETS, get_preset, preset_table

    if args.markdown:
        print(preset_table())
    return {name: get_preset(name).to_dict() for name in PRESETS}


def cmd_sweep(args: argparse.Namespace) -> dict[str, Any]:
    """``sweep``: see :mod:`dqn_tf.sweep`. Trials that failed leave exit status 1 (after the
    results, and with ``--json`` the summary line)."""
    from inspect import signature

    from dqn_tf.sweep import sweep

    # The sweep's own options, as the parser named them (--run-dir, --steps, --asha, ...).
    options = {k: v for k, v in vars(args).items() if k in signature(sweep).parameters}
    result = sweep(**options, grid=parse_grid(args.set) or None, progress=_progress(args))
    failed = [r for r in result["trials"] if r["status"] == "error"]
    if failed:
        if args.json:
            print(json.dumps(result), flush=True)
        which = ", ".join(f"{r['setting']} seed {r['seed']}" for r in failed)
        print(f"error: {len(failed)} trial(s) failed ({which}); see their error.txt under "
              f"{Path(result['run_dir']) / 'tune'}", file=sys.stderr)  # fmt: skip
        raise SystemExit(1)
    return result


def build_parser() -> argparse.ArgumentParser:
    from dqn_tf.presets import PRESETS

    parser = argparse.ArgumentParser(prog="python -m dqn_tf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    final_or_best = "the weights at the end of training, or the best periodic evaluation's"
    weights = dict(choices=("final", "best"), default="final", help=final_or_best)
    judged = "play this game (same spaces); default: the run's eval_env, else its own game"

    def command(name: str, func: Any, help: str, *arguments: tuple) -> argparse.ArgumentParser:
        """A subcommand with its arguments, each ``(flags, keywords)``, --json, --no-progress."""
        cmd = sub.add_parser(name, help=help)
        for flags, kw in arguments:
            cmd.add_argument(*flags, **kw)
        cmd.add_argument("--json", action="store_true", help="end with a JSON summary line")
        if name != "presets":
            bar = "no progress bar (there is none either when stdout is not a terminal)"
            cmd.add_argument("--no-progress", action="store_true", help=bar)
        cmd.set_defaults(func=func)
        return cmd

    run_dir = (("--run-dir",), dict(type=Path, required=True))
    train = command(
        "train", cmd_train, "train an agent and save it in a run folder",
        (("--env",), dict(help="gymnasium id (default: the preset's)")),
        (("--preset",), dict(choices=PRESETS, help=f"hyperparameters (default: {DEFAULT_PRESET}; with --resume, the run's own)")),  # noqa: E501
        (("--seed",), dict(type=int, help="default 0; with --resume, the run's")),
        run_dir,
        (("--set",), dict(action="append", default=[], metavar="FIELD=VALUE", help="override a preset field, e.g. --set learning_rate=0.001")),  # noqa: E501
        (("--log-every",), dict(type=int, default=10, help="print a progress line every N episodes (0: never)")),  # noqa: E501
        (("--resume",), dict(action="store_true", help="continue the run in --run-dir from its checkpoint, with its saved configuration, until it has --episodes (or --steps) in total")),  # noqa: E501
        (("--overwrite",), dict(action="store_true", help="start a new run in a folder whose trained weights have no checkpoint, replacing them")),  # noqa: E501
    )  # fmt: skip
    budget = train.add_mutually_exclusive_group(required=True)
    budget.add_argument("--episodes", type=int, help="number of episodes to train")
    budget.add_argument("--steps", type=int, help="number of environment steps to train")

    from dqn_tf.games import HELD_OUT_SEED

    start = f"episode i starts from reset(seed=SEED + i) (default {HELD_OUT_SEED}: held out)"
    seed = (("--seed",), dict(type=int, default=HELD_OUT_SEED, help=start))
    play = (run_dir, seed, (("--weights",), weights),
            (("--env",), dict(help=judged)))  # fmt: skip
    command("evaluate", cmd_evaluate, "greedy episodes with the saved weights",
            (("--episodes",), dict(type=int, default=100)), *play)  # fmt: skip
    command("replay", cmd_replay, "one greedy episode written as an animated GIF", *play,
            (("--gif",), dict(type=Path, required=True)),
            (("--scale",), dict(type=float, default=0.5, help="frame size factor, (0, 1]")),
            (("--every",), dict(type=int, default=2, help="keep every N-th frame")),
            (("--overwrite",), dict(action="store_true", help="replace an existing --gif")),
            )  # fmt: skip
    to = (("--to",), dict(type=Path, required=True, help="a new or empty folder"))
    command("export", cmd_export, "the network as SavedModel, .keras and .tflite files",
            run_dir, (("--weights",), weights), to)  # fmt: skip
    command("presets", cmd_presets, "show the presets",
            (("--markdown",), dict(action="store_true", help="the README's table")))  # fmt: skip

    sweep = command(
        "sweep", cmd_sweep, "train a preset over a grid of settings and seeds with Ray Tune",
        (("--env",), dict(help="gymnasium id (default: the preset's)")),
        (("--preset",), dict(choices=PRESETS, help="default: fast")),
        (("--seeds",), dict(type=int, nargs="+", help="default: 0")),
        (("--set",), dict(action="append", default=[], metavar="FIELD=V1,V2,...", help="values of a preset field to try (several fields make a grid); one value is a fixed override")),  # noqa: E501
        (("--run-dir",), dict(type=Path, required=True, help="the sweep folder")),
        (("--eval-episodes",), dict(type=int, help="greedy episodes per evaluation of each trial's final and best weights (default: 100)")),  # noqa: E501
        (("--cpus-per-trial",), dict(type=float, help="CPUs (and TensorFlow threads) per trial (default: 1)")),  # noqa: E501
        (("--max-concurrent",), dict(type=int, help="at most this many trials at once")),
        (("--num-cpus",), dict(type=int, help="CPUs of the local Ray (default: all)")),
        (("--address",), dict(help="HOST:PORT of a running Ray cluster (ray start --head); default: start Ray on this machine for the sweep and stop it after")),  # noqa: E501
        (("--resume",), dict(action="store_true", help="no longer needed: the same command, or --run-dir alone, continues a stopped sweep as it was asked (saved in its folder); only --steps/--episodes may change")),  # noqa: E501
        (("--asha",), dict(action="store_true", help="stop trailing trials early (ASHA, on eval_mean)")),  # noqa: E501
        (("--asha-grace",), dict(type=int, help="budget before ASHA may stop a trial")),
        (("--asha-reduction",), dict(type=int, default=2, help="ASHA's reduction factor")),
        (("--report-every",), dict(type=int, default=10, help="episodes between progress reports")),  # noqa: E501
    )  # fmt: skip
    budget = sweep.add_mutually_exclusive_group()
    budget.add_argument("--episodes", type=int, help="episodes per trial")
    budget.add_argument("--steps", type=int, help="environment steps per trial")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 1 training failure)."""
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
        result = args.func(args)
    except KeyboardInterrupt as exc:
        # TrainingInterrupted says where the checkpoint is; a bare Ctrl-C outside training
        # has nothing to save.
        print(str(exc) or "Interrupted.", file=sys.stderr, flush=True)
        return 130
    except (ConfigError, FileNotFoundError, FloatingPointError, DiskFull) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError | FileNotFoundError) else 1  # input, or the run
    if getattr(args, "json", False):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
