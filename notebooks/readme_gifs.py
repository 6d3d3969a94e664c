"""Write the README's two GIFs by replaying the agents the notebooks trained.

Run after `make notebooks`, from the repository's root:

    python notebooks/readme_gifs.py [--out docs]

It loads the weights of the notebooks' full-mode run folders, plays greedy episodes from the
held-out starts the notebooks test on (``reset(seed=1000 + i)``) and writes:

- ``lunar_lander.gif``: the first LunarLander start, as `lunar_lander.ipynb` shows it;
- ``rocket_lander.gif``: the first start the rocket lands from, as a close-up.

The notebooks themselves write nothing outside their run folders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dqn_tf  # noqa: F401  (registers RocketLander-v0)
from dqn_tf import Environment
from dqn_tf.display import frames_to_gif, record_episode
from dqn_tf.envs.rocket_views import close_up
from dqn_tf.games import HELD_OUT_SEED, make_env
from dqn_tf.run_folder import weights_file

ROOT = Path(__file__).resolve().parents[1]
LUNAR_RUN = ROOT / "runs/notebooks/lunar_lander/full/train"
ROCKET_RUN = ROOT / "runs/notebooks/rocket_lander/full/rocket"
FIRST_START = HELD_OUT_SEED  # the held-out starts of both notebooks and of evaluate
ROCKET_STARTS = 40  # starts tried for a landing


def greedy(env: Environment):  # noqa: ANN201 (a policy)
    return lambda s: env.agent.act(s, epsilon=0.0)


def lunar_gif(run_dir: Path, out: Path) -> Path:
    env = Environment.from_run_folder(run_dir, summaries=False)
    env.agent.load_weights(weights_file(run_dir))
    screen = make_env(env.config.env, "rgb_array")
    every = 3
    episode = record_episode(screen, greedy(env), seed=FIRST_START, every=every)
    fps = screen.metadata["render_fps"] / every
    path = out / "lunar_lander.gif"
    frames_to_gif(episode.frames, path, scale=0.4, every=1, fps=fps)
    print(f"{path}: start {FIRST_START}, return {episode.total_reward:.1f}")
    return path


def rocket_gif(run_dir: Path, out: Path) -> Path | None:
    env = Environment.from_run_folder(run_dir, summaries=False)
    env.agent.load_weights(weights_file(run_dir, "best"))
    repeat = env.config.action_repeat
    screen = make_env(env.config.eval_env or env.config.env, "rgb_array", repeat)
    every = max(1, 4 // repeat)  # of the decisions: about every 4th game frame
    fps = screen.metadata["render_fps"] / (every * repeat)
    for start in range(FIRST_START, FIRST_START + ROCKET_STARTS):
        episode = record_episode(
            screen,
            greedy(env),
            seed=start,
            every=every,
            focus=lambda e: e.unwrapped.rocket_pixel_position(),
        )
        if episode.landed:
            path = out / "rocket_lander.gif"
            frames_to_gif(close_up(episode), path, scale=0.75, every=1, fps=fps)
            print(f"{path}: start {start}, return {episode.total_reward:.2f}, landed")
            return path
    print(f"no landing from starts {FIRST_START}-{FIRST_START + ROCKET_STARTS - 1}: not written")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of the GIFs")
    parser.add_argument("--lunar-run", type=Path, default=LUNAR_RUN)
    parser.add_argument("--rocket-run", type=Path, default=ROCKET_RUN)
    args = parser.parse_args(argv)
    for run_dir in (args.lunar_run, args.rocket_run):
        if not (run_dir / "config.json").is_file():
            print(f"no run folder {run_dir}: run `make notebooks` first", file=sys.stderr)
            return 2
    lunar_gif(args.lunar_run, args.out)
    return 0 if rocket_gif(args.rocket_run, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
