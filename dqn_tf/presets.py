"""Hyperparameters as data: :class:`Config`, checked on creation, and the presets.

Config's defaults are the book's values (but ``learn_order``). The presets, in presets.toml,
give each changed value with its source; the docs' preset table is generated from them
(``python -m dqn_tf presets --markdown``), so it cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dqn_tf.demonstrators import (  # noqa: F401  (load and register: still imported from here)
    DEMONSTRATORS,
    FORMER_PATHS,
    load_demonstrator,
    register_demonstrator,
)
from dqn_tf.errors import ConfigError

# What a field allows: a test of its value and the words for it, as in
# "batch_size must be an integer >= 1 (got 0)". Values are compared as given, never converted:
# True is no number, and NaN, inf and 10**400 are outside every range.
_Rule = tuple[Callable[[Any], bool], str]
_MAX = sys.float_info.max


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _integer(least: int) -> _Rule:
    return lambda v: _is_int(v) and v >= least, f"an integer >= {least}"


def _one_of(*choices: str) -> _Rule:
    return lambda v: v in choices, f"one of {list(choices)}"


def _field(default: Any, rule: _Rule) -> Any:
    """A Config field: the book's value and what the field allows."""
    return dataclasses.field(default=default, metadata={"rule": rule})


_UNIT = (lambda v: _is_number(v) and 0 <= v <= 1), "a number in [0, 1]"
_DECAY = (lambda v: _is_number(v) and 0 < v <= 1), "a number in (0, 1]"
_POSITIVE = (lambda v: _is_number(v) and 0 < v <= _MAX), "a positive number"
_MARGIN = (lambda v: _is_number(v) and 0 <= v <= _MAX), "a number >= 0"
_BOOL = (lambda v: isinstance(v, bool)), "true or false"
_GAME = (lambda v: isinstance(v, str) and v != ""), "a gymnasium environment id"
_GAME_OR_NONE = (lambda v: isinstance(v, str)), "a gymnasium id or ''"
_NAME = (lambda v: isinstance(v, str)), "a registered name such as 'rocket_heuristic', or ''"
_LAYERS = (
    (lambda v: len(v) > 0 and all(_is_int(n) and n > 0 for n in v)),
    "a non-empty list of positive layer sizes",
)


@dataclass(frozen=True)
class Config:
    """Everything a run needs besides its seed: each field with its type, the book's value and
    what it allows. The README's Differences table says what the originals do otherwise."""

    env: str = _field("LunarLander-v3", _GAME)  # gymnasium environment id
    hidden: tuple[int, ...] = _field((32, 32), _LAYERS)  # the Q-network's hidden ReLU layers
    loss: str = _field("mse", _one_of("mse", "huber"))  # "huber" in the Keras notebook
    huber_delta: float = _field(1.0, _POSITIVE)  # the Huber loss threshold
    optimizer: str = _field("adam", _one_of("adam", "rmsprop"))  # "rmsprop" in the Keras notebook
    learning_rate: float = _field(1e-4, _POSITIVE)  # the optimizer's step size
    # Anneal learning_rate linearly to 0 over this many updates, then hold it there (0: never),
    # so that the weights at the end of training settle instead of swinging.
    learning_rate_decay_steps: int = _field(0, _integer(0))
    gamma: float = _field(0.99, _UNIT)  # reward discount factor
    batch_size: int = _field(32, _integer(1))  # transitions per update
    memory_size: int = _field(250_000, _integer(1))  # replay capacity; the oldest goes first
    double_dqn: bool = _field(True, _BOOL)  # false: the target net's plain max (the Keras notebook)
    # Copy the online weights into the target net every this many agent steps (0: per episode).
    target_sync_steps: int = _field(0, _integer(0))
    epsilon_start: float = _field(1.0, _UNIT)  # exploration rate at the start
    epsilon_min: float = _field(0.01, _UNIT)  # floor of the per-episode decay
    epsilon_decay: float = _field(0.9994, _DECAY)  # per episode, after any linear phase
    epsilon_linear_steps: int = _field(0, _integer(0))  # Keras notebook's linear phase (0: none)
    epsilon_linear_end: float = _field(0.05, _UNIT)  # epsilon at the end of that phase
    # No update before the memory holds more than max(batch_size, learning_starts) transitions.
    learning_starts: int = _field(0, _integer(0))
    prefill: bool = _field(False, _BOOL)  # Keras notebook: random episodes until a batch
    # A registered scripted policy (dqn_tf.demonstrators) or "": it plays demo_episodes episodes
    # into the memory before learning (not on resume), so rare landings are there from the start.
    demonstrator: str = _field("", _NAME)
    demo_episodes: int = _field(0, _integer(0))
    # DQfD's large-margin loss (Hester et al. 2018 use 0.8): each update also pushes a
    # demonstrated action's Q-value above the others by this margin.
    demo_margin: float = _field(0.0, _MARGIN)
    train_every: int = _field(1, _integer(1))  # one update every this many agent steps
    # "overlap": act, update from the memory as it was, step the game and store, the update
    # and the game running at once on two cores; "original": act, step, store, update, as
    # both originals do ("seeds", its former name, is read as "original").
    learn_order: str = _field("overlap", _one_of("overlap", "original"))
    # Play each chosen action for this many game steps, summing rewards (DQN's frame skip).
    # epsilon_linear_steps, target_sync_steps, train_every and learning_starts count decisions;
    # max_episode_steps, eval_every_steps, --steps and the logs count game steps.
    action_repeat: int = _field(1, _integer(1))
    max_episode_steps: int = _field(1000, _integer(1))  # also capped by the game's own limit
    summary_every: int = _field(1, _integer(1))  # TensorBoard scalars every this many updates
    save_every: int = _field(0, _integer(0))  # weights every this many episodes (0: at the end)
    # Every this many training steps (checked as an episode ends), play eval_episodes greedy
    # episodes on a copy of the game; the best mean's weights are best.weights.h5 (0: never).
    eval_every_steps: int = _field(0, _integer(0))
    eval_episodes: int = _field(10, _integer(1))
    # The game of those evaluations, and the one evaluate and replay play ("": env).
    eval_env: str = _field("", _GAME_OR_NONE)
    # A full resumable checkpoint every this many episodes (0: only at the end or on a stop).
    checkpoint_every: int = _field(100, _integer(0))
    # After the book (notebooks/after_the_book.ipynb), each off by default. n-step returns
    # (Sutton 1988; Rainbow): the target sums n discounted rewards, then bootstraps.
    n_step: int = _field(1, _integer(1))
    # Wang et al. 2016: Q = V + A - mean(A), from two streams of the last hidden layer.
    dueling: bool = _field(False, _BOOL)
    # Schaul et al. 2016, proportional: transitions drawn with probability ~ priority^alpha
    # (0: uniform, off); priority = |TD error| + priority_eps; importance weights with an
    # exponent rising linearly from priority_beta to 1 over priority_beta_steps decisions.
    priority_alpha: float = _field(0.0, _UNIT)
    priority_beta: float = _field(0.4, _UNIT)
    priority_beta_steps: int = _field(100_000, _integer(0))
    priority_eps: float = _field(1e-6, _POSITIVE)

    def __post_init__(self) -> None:
        # Lists from JSON become tuples so configs compare equal after a round trip.
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if self.learn_order == "seeds":  # its former name, in run folders and commands
            object.__setattr__(self, "learn_order", "original")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            allows, words = field.metadata["rule"]
            if not allows(value):
                raise ConfigError(f"{field.name} must be {words} (got {value!r})")
            if field.type == "float" and _is_int(value):  # learning_rate=1 means 1.0
                object.__setattr__(self, field.name, float(value))
        # Then the fields that must agree with each other or with the registry.
        if self.memory_size < self.batch_size:
            raise ConfigError(
                f"memory_size must be at least batch_size={self.batch_size} "
                f"(got {self.memory_size})"
            )
        if self.demonstrator and not self.demonstrator.isidentifier():
            # A name, never an import path: a run folder is data (see dqn_tf.demonstrators).
            raise ConfigError(
                f"demonstrator must be a registered name such as 'rocket_heuristic', or '' "
                f"(got {self.demonstrator!r}); registered: {sorted(DEMONSTRATORS)}"
            )
        if bool(self.demonstrator) != (self.demo_episodes > 0):
            raise ConfigError(
                f"demonstrator and demo_episodes go together: a demonstrator needs "
                f"demo_episodes >= 1 and demo_episodes needs a demonstrator "
                f"(got demonstrator={self.demonstrator!r}, demo_episodes={self.demo_episodes})"
            )
        if self.demo_margin > 0 and not self.demo_episodes:
            raise ConfigError(
                f"demo_margin={self.demo_margin} needs demonstrations (demonstrator and "
                f"demo_episodes)"
            )

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated); unknown names raise ConfigError."""
        _known(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``hidden`` as a list)."""
        return dataclasses.asdict(self) | {"hidden": list(self.hidden)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; unknown keys raise ConfigError."""
        d = dict(d)
        # explore_hold (random actions held for several decisions) was tried on RocketLander
        # and dropped: a run saved with its default, 1, is the same run without it.
        if d.get("explore_hold", 1) != 1:
            raise ConfigError(f"explore_hold={d['explore_hold']!r}: held exploration was removed")
        d.pop("explore_hold", None)
        _known(d)
        # A demonstrator saved by its former import path maps to its registered name.
        if d.get("demonstrator") in FORMER_PATHS:
            d["demonstrator"] = FORMER_PATHS[d["demonstrator"]]
        # Saved before learn_order existed: trained, so resumed, in the originals' order.
        d.setdefault("learn_order", "original")
        return cls(**d)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def _known(names: Any) -> None:
    unknown = sorted(set(names) - set(field_names()))
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; allowed: {field_names()}")


# --- the presets ----------------------------------------------------------------------------------

# presets.toml: per preset, per field, a value and its source (its header says more).
_PRESETS = tomllib.loads(resources.files("dqn_tf").joinpath("presets.toml").read_text("utf-8"))
PRESETS: tuple[str, ...] = tuple(_PRESETS)

# Where each value of each preset comes from (the docs' preset table and the notebooks show it).
SOURCES: dict[str, dict[str, str]] = {
    preset: {
        name: entry if isinstance(entry, str) else entry["source"]
        for name in field_names()
        for entry in [table.get(name, "same as book")]
    }
    for preset, table in _PRESETS.items()
}


def get_preset(name: str, **changes: Any) -> Config:
    """The preset called ``name`` (one of :data:`PRESETS`), with optional field changes."""
    if name not in _PRESETS:
        raise ConfigError(f"preset must be one of {list(PRESETS)} (got {name!r})")
    values = {k: entry["value"] for k, entry in _PRESETS[name].items() if isinstance(entry, dict)}
    return Config(**values).replace(**changes)


def preset_table() -> str:
    """A Markdown table of every value of every preset and its source (for the docs)."""
    configs = {name: get_preset(name) for name in PRESETS}
    rows = ["| field | " + " | ".join(PRESETS) + " |", "|" + "---|" * (len(PRESETS) + 1)]
    for name in field_names():
        cells = []
        for preset, cfg in configs.items():
            value = getattr(cfg, name)
            if isinstance(value, tuple):  # 256x128, or 4x512 for four equal layers
                value = (
                    "x".join(map(str, value)) if len(set(value)) > 1 else f"{len(value)}x{value[0]}"
                )
            elif value == "":
                value = '""'
            cells.append(f"`{value}` ({SOURCES[preset][name]})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
