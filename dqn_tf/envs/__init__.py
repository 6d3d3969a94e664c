"""Environments shipped with dqn_tf (RocketLander-v0, seed 000's game)."""
