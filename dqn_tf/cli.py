"""Command line: ``python -m dqn_tf train | evaluate | replay | presets``.

Scripts, benches and checks use exactly these commands. With ``--json`` the last line of
standard output is one JSON object. A bad argument or hyperparameter is printed on one line
(``error: ...``) and the exit status is 2, without a traceback.
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

# TensorFlow's start-up lines are dropped by dqn_tf.quiet, which keeps its real warnings and
# errors, so TF_CPP_MIN_LOG_LEVEL is left as the user set it. pygame needs no display.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _overrides(pairs: list[str]) -> dict[str, Any]:
    from dqn_tf.presets import ConfigError

    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set takes FIELD=VALUE (got {pair!r})")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


SEED_MAX = 2**32 - 1  # numpy's and gymnasium's seeds are unsigned 32-bit integers


def check_arguments(args: argparse.Namespace) -> None:
    """Every number a command takes, checked before anything runs: one line naming the
    argument, its value and what is allowed (ConfigError, exit status 2)."""
    from dqn_tf.presets import ConfigError

    seeds = getattr(args, "seeds", None) or []
    if getattr(args, "seed", None) is not None:
        seeds = [args.seed, *seeds]
    for seed in seeds:
        if not 0 <= seed <= SEED_MAX:
            raise ConfigError(f"--seed must be an integer in 0..{SEED_MAX} (got {seed})")
    for name, minimum in (("episodes", 1), ("steps", 1), ("every", 1), ("log_every", 0)):
        value = getattr(args, name, None)
        if value is not None and value < minimum:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} must be an integer >= {minimum} (got {value})")
    scale = getattr(args, "scale", None)
    if scale is not None and not 0 < scale <= 1:
        raise ConfigError(f"--scale must be a number in (0, 1] (got {scale})")
    for name in ("run_dir", "gif"):
        path = getattr(args, name, None)
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{flag} {shown} is not a UTF-8 path (TensorFlow and HDF5 take UTF-8 paths "
                f"only); choose a name in UTF-8"
            ) from None


def _load_run(run_dir: Path) -> tuple[Any, int]:
    from dqn_tf.run_folder import WEIGHTS_FILE, read_config

    config, seed = read_config(run_dir)  # checked: a damaged file is one clear line
    if not (run_dir / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in run folder {run_dir} (train there first)")
    return config, seed


DEFAULT_PRESET = "fast"


def _train_settings(args: argparse.Namespace, changes: dict[str, Any]) -> tuple[Any, int]:
    """The configuration and seed to train with: the preset and overrides for a new run;
    the run folder's own for ``--resume``, where a ``--preset``, ``--set``, ``--env`` or
    ``--seed`` that disagrees with it is refused, naming each field (one that agrees is
    accepted)."""
    from dqn_tf.presets import ConfigError, get_preset
    from dqn_tf.run_folder import check_same_settings, read_config

    if not args.resume:
        seed = 0 if args.seed is None else args.seed
        return get_preset(args.preset or DEFAULT_PRESET, **changes), seed
    saved, seed = read_config(args.run_dir)
    asked = get_preset(args.preset, **changes).to_dict() if args.preset else dict(changes)
    check_same_settings(args.run_dir, saved, asked)
    if args.seed is not None and args.seed != seed:
        raise ConfigError(
            f"run folder {args.run_dir} was made with seed {seed}, not {args.seed}; --resume "
            f"continues with the saved configuration: leave --seed out, or start a new run "
            f"in another --run-dir"
        )
    return saved, seed


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.games import make_env
    from dqn_tf.presets import ConfigError
    from dqn_tf.run_folder import BEST_WEIGHTS_FILE, CHECKPOINT_FILE, WEIGHTS_FILE, lock

    changes = _overrides(args.set)
    if args.env:
        changes["env"] = args.env
    config, seed = _train_settings(args, changes)
    make_env(config.env).close()  # a bad game is reported before TensorFlow loads

    # One writer per run folder, from before anything is written until the end; a second
    # writer stops here with one line and exit status 2, and changes nothing.
    with lock(args.run_dir):
        if not args.resume and (args.run_dir / CHECKPOINT_FILE).is_file():
            raise ConfigError(
                f"run folder {args.run_dir} already holds a checkpoint; continue it with "
                f"--resume or choose another --run-dir"
            )
        trained = [f for f in (WEIGHTS_FILE, BEST_WEIGHTS_FILE) if (args.run_dir / f).is_file()]
        if not args.resume and trained and not args.overwrite:
            # Weights without a checkpoint (a run from before checkpoints, or copied
            # weights): a new run would write over them, so the user has to say so.
            raise ConfigError(
                f"run folder {args.run_dir} holds trained weights ({', '.join(trained)}) but "
                f"no checkpoint to resume; --overwrite replaces them with a new run, or "
                f"choose another --run-dir"
            )
        from dqn_tf.environment import Environment

        events = args.run_dir / "tensorboard"
        before = set(events.iterdir()) if events.is_dir() else None
        env = Environment(config=config, seed=seed, run_dir=args.run_dir)
        try:
            return _train(args, env)
        except ConfigError:
            if env.total_steps:  # refused after training began: its events stay
                raise
            # Refused before any step (a checkpoint that fails its checks): the TensorBoard
            # events file the Environment opened is the only trace of this attempt.
            if env.summary_writer is not None:
                env.summary_writer.close()
            if events.is_dir() and before is not None:
                for new in set(events.iterdir()) - before:
                    new.unlink()
            elif events.is_dir():
                shutil.rmtree(events)
            raise


def _train(args: argparse.Namespace, env: Any) -> dict[str, Any]:
    config = env.config
    episodes, steps, epsilon = args.episodes, args.steps, config.epsilon_start
    if args.resume:
        env.resume()
        epsilon = None  # keep the restored schedule
        if episodes is not None:
            episodes -= len(env.episode_rewards)
        else:
            steps -= env.total_steps
        how = "its saved configuration"
    else:
        how = f"preset {args.preset or DEFAULT_PRESET!r}"
    print(f"Training {config.env} with {how}, seed {env.seed}, in {env.run_dir}", flush=True)
    started = time.perf_counter()
    if (episodes if episodes is not None else steps) > 0:
        env.train(
            epsilon=epsilon,
            episodes=episodes,
            steps=steps,
            log_every=args.log_every,
            progress=_progress(args),
        )
    else:
        print("The run already has the episodes or steps asked for: nothing to train.")
    seconds = time.perf_counter() - started
    env.close()
    print(
        f"Run folder: {env.run_dir}\n  weights: {env.weights_path}\n"
        f"  TensorBoard: tensorboard --logdir {env.run_dir / 'tensorboard'}",
        flush=True,
    )
    return {
        "episode_rewards": env.episode_rewards,
        "steps": env.total_steps,
        "seconds": round(seconds, 3),
        "run_dir": str(env.run_dir),
    }


def _weights_file(args: argparse.Namespace) -> Path:
    """The run folder's final or best weights (``--weights``), or a clear error."""
    from dqn_tf.environment import BEST_WEIGHTS_FILE, WEIGHTS_FILE

    weights = args.run_dir / (BEST_WEIGHTS_FILE if args.weights == "best" else WEIGHTS_FILE)
    if not weights.is_file():
        raise FileNotFoundError(
            f"no {weights.name} in run folder {args.run_dir}"
            + (" (best weights need eval_every_steps > 0)" if args.weights == "best" else "")
        )
    return weights


ENV_HELP = (
    "play this game (same observation and actions); default: the run's eval_env, else the "
    "game it trained on"
)


def _judged_game(config: Any, env: str | None) -> Any:
    """The run's config set to play ``--env``, else its ``eval_env``, else its own game
    (a run trained on a named variant is judged on the original)."""
    game = env or config.eval_env
    # eval_env is spent: the game chosen here is the one played, and a mismatch with the
    # saved network is reported as such when the weights are loaded.
    return config.replace(env=game, eval_env="") if game else config


def _player(config: Any) -> Any:
    """The config to play greedily with: a replay memory of one batch, the smallest a config
    allows, since evaluate and replay store nothing (a run's 5,000,000 transitions would
    take ~384 MB for nothing)."""
    return config.replace(memory_size=config.batch_size)


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.environment import Environment

    config, _ = _load_run(args.run_dir)
    weights = _weights_file(args)
    config = _player(_judged_game(config, args.env))
    env = Environment(config=config, seed=args.seed, run_dir=args.run_dir, summaries=False)
    result = env.evaluate(episodes=args.episodes, weights=weights, progress=_progress(args))
    env.close()
    line = f"{args.episodes} greedy episodes: mean {result['mean']:.2f} std {result['std']:.2f}"
    if "landings" in result:
        line += f", landings {result['landings']}/{args.episodes}"
    print(f"{line} on {config.env}", flush=True)
    return {**result, "env": config.env}


def _check_gif_path(args: argparse.Namespace) -> None:
    """``--gif`` may not be one of the run folder's own files, nor any existing file unless
    ``--overwrite`` says so, nor a folder."""
    from dqn_tf import run_folder
    from dqn_tf.presets import ConfigError

    gif, run = args.gif.resolve(), args.run_dir.resolve()  # a link is judged by its target
    own = (
        run_folder.CONFIG_FILE,
        run_folder.HISTORY_FILE,
        run_folder.WEIGHTS_FILE,
        run_folder.BEST_WEIGHTS_FILE,
        run_folder.CHECKPOINT_FILE,
        run_folder.LOCK_FILE,
    )
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
    from dqn_tf.environment import Environment

    config, _ = _load_run(args.run_dir)
    config = _player(_judged_game(config, args.env))
    weights = _weights_file(args)
    _check_gif_path(args)
    env = Environment(
        config=config,
        seed=args.seed,
        run_dir=args.run_dir,
        render_mode="rgb_array",
        summaries=False,
    )
    env.agent.load_weights(weights)
    (ret,) = env.learn(
        epsilon=0.0,
        episodes=1,
        trainable=False,
        log_every=0,
        capture_frames=True,
        progress=_progress(args),
    )
    frames = env.runner.frames
    steps = env.runner.last_steps  # game steps: one frame per decision with an action repeat
    # Real time: a kept frame stands for every * action_repeat game steps.
    fps = env.env.metadata.get("render_fps", 30) / (args.every * config.action_repeat)
    env.close()
    frames_to_gif(frames, args.gif, scale=args.scale, every=args.every, fps=fps)
    print(
        f"GIF of one greedy episode (return {ret:.2f}, {steps} steps) written to {args.gif}",
        flush=True,
    )
    return {
        "return": ret,
        "steps": steps,
        "gif": str(args.gif),
        "landed": env.landings[0],
        "env": config.env,
    }


def cmd_presets(args: argparse.Namespace) -> dict[str, Any]:
    from dqn_tf.presets import PRESETS, get_preset, preset_table

    if args.markdown:
        print(preset_table())
    return {name: get_preset(name).to_dict() for name in PRESETS}


def cmd_sweep(args: argparse.Namespace) -> dict[str, Any]:
    """``sweep``: see :mod:`dqn_tf.sweep`. ``--set FIELD=V1,V2,...`` gives a field's values: a
    JSON list (``hidden=[64,64],[128]``), else each value as ``train --set`` reads one. Trials
    that failed leave exit status 1 (after the results, and with ``--json`` the summary line)."""
    from dqn_tf.presets import ConfigError
    from dqn_tf.sweep import sweep

    grid: dict[str, list[Any]] = {}
    for pair in args.set:
        name, sep, text = (s.strip() for s in pair.partition("="))
        if not sep or name in grid:
            raise ConfigError(f"--set takes FIELD=V1,V2,..., once per field (got {pair!r})")
        try:
            grid[name] = json.loads(f"[{text}]")
        except ValueError:
            grid[name] = [_parse_value(t.strip()) for t in text.split(",")]
    names = ("run_dir", "steps", "episodes", "seeds", "env", "eval_episodes", "cpus_per_trial",
             "max_concurrent", "num_cpus", "address", "asha", "asha_grace", "asha_reduction",
             "report_every")  # fmt: skip
    options = {name: getattr(args, name) for name in names}
    result = sweep(args.preset, grid=grid or None, progress=_progress(args), **options)
    failed = [r for r in result["trials"] if r["status"] == "error"]
    if failed:
        if args.json:
            print(json.dumps(result), flush=True)
        which = ", ".join(f"{r['setting']} seed {r['seed']}" for r in failed)
        print(f"error: {len(failed)} trial(s) failed ({which}); see their error.txt under "
              f"{Path(result['run_dir']) / 'tune'}", file=sys.stderr)  # fmt: skip
        raise SystemExit(1)
    return result


def _progress(args: argparse.Namespace) -> bool | None:
    """No bar with --no-progress or --json; otherwise one in a terminal (dqn_tf.progress)."""
    return False if args.no_progress or getattr(args, "json", False) else None


NO_PROGRESS: dict[str, Any] = {
    "action": "store_true",
    "help": "no progress bar (there is none either when standard output is not a terminal)",
}

WEIGHTS_ARGUMENT: dict[str, Any] = {
    "choices": ("final", "best"),
    "default": "final",
    "help": "the weights at the end of training, or the best periodic evaluation's",
}


def build_parser() -> argparse.ArgumentParser:
    from dqn_tf.presets import PRESETS

    parser = argparse.ArgumentParser(prog="python -m dqn_tf", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an agent and save it in a run folder")
    train.add_argument("--env", default=None, help="gymnasium id (default: the preset's)")
    train.add_argument(
        "--preset",
        default=None,
        choices=PRESETS,
        help=f"hyperparameters (default: {DEFAULT_PRESET}; with --resume, the run's own)",
    )
    budget = train.add_mutually_exclusive_group(required=True)
    budget.add_argument("--episodes", type=int, help="number of episodes to train")
    budget.add_argument("--steps", type=int, help="number of environment steps to train")
    train.add_argument("--seed", type=int, default=None, help="default 0; with --resume, the run's")
    train.add_argument("--run-dir", type=Path, required=True)
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a preset field, e.g. --set learning_rate=0.001",
    )
    train.add_argument(
        "--log-every",
        type=int,
        default=10,
        help="print a progress line every N episodes (0: never)",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its checkpoint, with its saved configuration, "
        "until it has --episodes (or --steps) in total",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run in a folder whose trained weights have no checkpoint, replacing them",
    )
    train.add_argument("--json", action="store_true", help="end with a JSON summary line")
    train.add_argument("--no-progress", **NO_PROGRESS)
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="greedy episodes with the saved weights")
    evaluate.add_argument("--run-dir", type=Path, required=True)
    evaluate.add_argument("--episodes", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--weights", **WEIGHTS_ARGUMENT)
    evaluate.add_argument("--env", help=ENV_HELP)
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--no-progress", **NO_PROGRESS)
    evaluate.set_defaults(func=cmd_evaluate)

    replay = sub.add_parser("replay", help="one greedy episode written as an animated GIF")
    replay.add_argument("--run-dir", type=Path, required=True)
    replay.add_argument("--gif", type=Path, required=True)
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--scale", type=float, default=0.5, help="frame size factor, (0, 1]")
    replay.add_argument("--every", type=int, default=2, help="keep every N-th frame")
    replay.add_argument("--weights", **WEIGHTS_ARGUMENT)
    replay.add_argument("--env", help=ENV_HELP)
    replay.add_argument("--overwrite", action="store_true", help="replace an existing --gif")
    replay.add_argument("--json", action="store_true")
    replay.add_argument("--no-progress", **NO_PROGRESS)
    replay.set_defaults(func=cmd_replay)

    presets = sub.add_parser("presets", help="show the presets")
    presets.add_argument("--markdown", action="store_true", help="the README's table")
    presets.add_argument("--json", action="store_true")
    presets.set_defaults(func=cmd_presets)

    sweep = sub.add_parser(
        "sweep", help="train a preset over a grid of settings and seeds with Ray Tune"
    )
    sweep.add_argument("--env", default=None, help="gymnasium id (default: the preset's)")
    sweep.add_argument("--preset", default=None, choices=PRESETS, help="default: fast")
    budget = sweep.add_mutually_exclusive_group()
    budget.add_argument("--episodes", type=int, help="episodes per trial")
    budget.add_argument("--steps", type=int, help="environment steps per trial")
    sweep.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0")
    sweep.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=V1,V2,...",
        help="values of a preset field to try (several fields make a grid); one value is a "
        "fixed override",
    )
    sweep.add_argument("--run-dir", type=Path, required=True, help="the sweep folder")
    sweep.add_argument(
        "--eval-episodes",
        type=int,
        default=None,
        help="greedy episodes per evaluation of each trial's final and best weights (default: 100)",
    )
    sweep.add_argument(
        "--cpus-per-trial",
        type=float,
        default=None,
        help="CPUs (and TensorFlow threads) per trial (default: 1)",
    )
    sweep.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    sweep.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    sweep.add_argument(
        "--address",
        help="HOST:PORT of a running Ray cluster (ray start --head); default: start Ray on "
        "this machine for the sweep and stop it after",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="no longer needed: the same command, or --run-dir alone, continues a stopped "
        "sweep as it was asked (saved in its folder); only --steps/--episodes may change",
    )
    sweep.add_argument(
        "--asha", action="store_true", help="stop trailing trials early (ASHA, on eval_mean)"
    )
    sweep.add_argument("--asha-grace", type=int, help="budget before ASHA may stop a trial")
    sweep.add_argument("--asha-reduction", type=int, default=2, help="ASHA's reduction factor")
    sweep.add_argument(
        "--report-every", type=int, default=10, help="episodes between progress reports"
    )
    sweep.add_argument("--json", action="store_true", help="end with a JSON summary line")
    sweep.add_argument("--no-progress", **NO_PROGRESS)
    sweep.set_defaults(func=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 1 training failure)."""
    args = build_parser().parse_args(argv)
    from dqn_tf.files import DiskFull
    from dqn_tf.presets import ConfigError

    try:
        check_arguments(args)
        result = args.func(args)
    except KeyboardInterrupt as exc:
        # TrainingInterrupted says where the checkpoint is; a bare Ctrl-C outside training
        # has nothing to save.
        print(str(exc) or "Interrupted.", file=sys.stderr, flush=True)
        return 130
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FloatingPointError, DiskFull) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
