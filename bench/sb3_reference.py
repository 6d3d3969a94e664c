"""Stable-Baselines3 DQN at the book's settings, for bench/throughput.py (run in .venv-sb3).

Prints one JSON line: {"sps": ..., "steps": ..., "threads": ...}. Settings: 2x32 ReLU MLP,
batch 32, one gradient step per environment step, learning starts after one batch, target
update at every 1000 steps (SB3 has no "episode end" sync; the cost of a copy is negligible
either way), LunarLander-v3, CPU, `--threads` torch threads (default 2).
"""

import argparse
import json
import time

import gymnasium as gym
import torch
from stable_baselines3 import DQN


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = gym.make("LunarLander-v3")
    model = DQN(
        "MlpPolicy",
        env,
        learning_rate=1e-4,
        buffer_size=250_000,
        learning_starts=33,
        batch_size=32,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        target_update_interval=1000,
        exploration_fraction=0.5,
        policy_kwargs={"net_arch": [32, 32]},
        seed=0,
        device="cpu",
        verbose=0,
    )
    model.learn(total_timesteps=args.warmup)
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"sps": args.steps / seconds, "steps": args.steps, "threads": args.threads}))


if __name__ == "__main__":
    main()
