"""Hyperparameters as data: :class:`Config`, checked on creation, and the presets.

Every field of Config but ``learn_order`` defaults to the book's value (seed 002), so the
``book`` preset is simply ``Config()``. Each preset is one table of its fields, each with its
value and where that value comes from; the README's preset table is generated from them
(``python -m dqn_tf presets --markdown``), so the docs cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
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
    """Everything a run needs besides its seed: each field with its type, the book's value
    (seed 002, LunarLander) and what it allows. The README's Differences table says what the
    seeds do otherwise."""

    env: str = _field("LunarLander-v3", _GAME)  # gymnasium environment id
    hidden: tuple[int, ...] = _field((32, 32), _LAYERS)  # the Q-network's hidden ReLU layers
    loss: str = _field("mse", _one_of("mse", "huber"))  # "huber" in seed 000
    huber_delta: float = _field(1.0, _POSITIVE)  # the Huber loss threshold
    optimizer: str = _field("adam", _one_of("adam", "rmsprop"))  # "rmsprop" in seed 000
    learning_rate: float = _field(1e-4, _POSITIVE)  # the optimizer's step size
    gamma: float = _field(0.99, _UNIT)  # reward discount factor
    batch_size: int = _field(32, _integer(1))  # transitions per update
    memory_size: int = _field(250_000, _integer(1))  # replay capacity; the oldest goes first
    double_dqn: bool = _field(True, _BOOL)  # false: the target net's plain max (seed 000)
    # Copy the online weights into the target net every this many agent steps; 0: at the end
    # of every episode (book).
    target_sync_steps: int = _field(0, _integer(0))
    epsilon_start: float = _field(1.0, _UNIT)  # exploration rate at the start
    epsilon_min: float = _field(0.01, _UNIT)  # floor of the per-episode decay
    epsilon_decay: float = _field(0.9994, _DECAY)  # per episode, after any linear phase
    epsilon_linear_steps: int = _field(0, _integer(0))  # seed 000's linear phase (0: none)
    epsilon_linear_end: float = _field(0.05, _UNIT)  # epsilon at the end of that phase
    # No update before the memory holds more than max(batch_size, learning_starts)
    # transitions (the book waits for one batch).
    learning_starts: int = _field(0, _integer(0))
    prefill: bool = _field(False, _BOOL)  # seed 000: random episodes until a batch is stored
    # A scripted policy's registered name (dqn_tf.demonstrators), or "": it plays
    # demo_episodes episodes into the memory before learning (not again on resume), so that
    # rare successes (landings) are there from the first update.
    demonstrator: str = _field("", _NAME)
    demo_episodes: int = _field(0, _integer(0))
    # DQfD's large-margin loss (Hester et al. 2018 use 0.8): each update also pushes a
    # demonstrated action's Q-value above the others by this margin.
    demo_margin: float = _field(0.0, _MARGIN)
    train_every: int = _field(1, _integer(1))  # one update every this many agent steps
    # "overlap": act, update from the memory as it was, step the game and store, the update
    # and the game running at once on two cores; "seeds": act, step, store, update, as both
    # seeds do. Run folders saved before this field load as "seeds".
    learn_order: str = _field("overlap", _one_of("overlap", "seeds"))
    # Hold each exploratory random action for 1 to explore_hold decisions, drawn uniformly
    # (Dabney et al. 2021), within the episode.
    explore_hold: int = _field(1, _integer(1))
    # Play each chosen action for this many game steps, summing rewards (DQN's frame skip).
    # epsilon_linear_steps, target_sync_steps, train_every and learning_starts count the
    # agent's decisions; max_episode_steps, eval_every_steps, --steps and the logs count
    # game steps.
    action_repeat: int = _field(1, _integer(1))
    max_episode_steps: int = _field(1000, _integer(1))  # also capped by the game's own limit
    summary_every: int = _field(1, _integer(1))  # TensorBoard scalars every this many updates
    save_every: int = _field(0, _integer(0))  # weights every this many episodes (0: at the end)
    # Every this many training steps (checked when an episode ends), play eval_episodes
    # greedy episodes on a separate copy of the game and keep the weights with the best mean
    # as best.weights.h5 (0: never).
    eval_every_steps: int = _field(0, _integer(0))
    eval_episodes: int = _field(10, _integer(1))
    # The game of those evaluations, and the one evaluate and replay play ("": env).
    eval_env: str = _field("", _GAME_OR_NONE)
    # A full resumable checkpoint every this many episodes (0: only at the end or on a stop).
    checkpoint_every: int = _field(100, _integer(0))

    def __post_init__(self) -> None:
        # Lists from JSON become tuples so configs compare equal after a round trip.
        object.__setattr__(self, "hidden", tuple(self.hidden))
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
        _known(d)
        d = dict(d)
        # Run folders and checkpoints written before the registry named the demonstrator by
        # its import path; those paths map to their names (any other path is refused).
        if d.get("demonstrator") in FORMER_PATHS:
            d["demonstrator"] = FORMER_PATHS[d["demonstrator"]]
        # Saved before learn_order existed: trained in the seeds' order, and a resume must
        # go on in the order it started with.
        d.setdefault("learn_order", "seeds")
        return cls(**d)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def _known(names: Any) -> None:
    unknown = sorted(set(names) - set(field_names()))
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown}; allowed: {field_names()}")


# --- the presets -----------------------------------------------------------------------------
# Each preset is one table: for each field, its value and where that value comes from, or
# only where it comes from when the preset keeps the book's value (Config's default). A field
# a tuned preset does not name is "same as book".

_OURS = {  # fields not in the seeds, off in both seeds' presets
    "demonstrator": "ours (demonstrations); not in the seeds",
    "demo_episodes": "ours (demonstrations); not in the seeds",
    "demo_margin": "ours (demonstrations); not in the seeds",
    "checkpoint_every": "ours (resume); not in the seeds",
    "eval_every_steps": "ours (best-weights selection); not in the seeds",
    "eval_episodes": "ours (best-weights selection); not in the seeds",
    "eval_env": "ours (best-weights selection); not in the seeds",
}
_ROCKET = "tuned, see RocketLander"

# Sources: seed 002 is the book chapter, seed 000 the Keras RocketLander notebook (README, Credits)
_PRESETS: dict[str, dict[str, str | tuple[Any, str]]] = {
    "book": {
        "env": 'seed 002 `Environment(game="LunarLander-v2")`, renamed v3 in gymnasium',
        "hidden": "seed 002 `two_layers_network(layer_1_nodes=32, layer_2_nodes=32)`",
        "loss": "seed 002 `tf.squared_difference` + `reduce_mean`",
        "huber_delta": "unused with mse",
        "optimizer": "seed 002 `optimize_loss(..., optimizer='Adam')`",
        "learning_rate": "seed 002 `self.learning_rate = 0.0001`",
        "gamma": "seed 002 `self.gamma = 0.99`",
        "batch_size": "seed 002 `self.batch_size = 32`",
        "memory_size": "seed 002 `Memory(memory_size=250000)`",
        "double_dqn": "seed 002 `replay`: argmax of the online net, value of the target net",
        "target_sync_steps": "seed 002 `target_model_update()` when an episode ends",
        "epsilon_start": "seed 002 `self.epsilon = 1.0`",
        "epsilon_min": "seed 002 `self.epsilon_min = 0.01`",
        "epsilon_decay": "seed 002 `self.epsilon_decay = 0.9994` per episode",
        "epsilon_linear_steps": "seed 002 has no linear phase",
        "epsilon_linear_end": "unused without a linear phase",
        "learning_starts": "seed 002 replays once `len(memory) > batch_size`",
        "prefill": "seed 002 has no pre-fill",
        "train_every": "seed 002 replays every step",
        "learn_order": "ours (speed): seed 002's order is `seeds`, see Differences",
        "explore_hold": "seed 002 draws every random action afresh",
        "action_repeat": "seed 002 acts on every frame",
        "max_episode_steps": "seed 002 `for time_frame in range(1000)`",
        "summary_every": "seed 002 writes summaries on every `fit`",
        "save_every": "seed 002 saves at the end of `learn`",
        **_OURS,
    },
    "notebook": {
        "env": ("RocketLander-v0", "seed 000 `environment = 'RocketLander-v0'`"),
        "hidden": ((512, 512, 512, 512), "seed 000 `createModel`: four `Dense(512, relu)`"),
        "loss": ("huber", "seed 000 `huber_loss`"),
        "huber_delta": (1.0, "seed 000 `huber_loss_delta = 1.0`"),
        "optimizer": ("rmsprop", "seed 000 `RMSprop(lr=learning_rate)`"),
        "learning_rate": (5e-5, "seed 000 `learning_rate = 5e-5`"),
        "gamma": (0.99, "seed 000 `gamma = 0.99`"),
        "batch_size": (1024, "seed 000 `batch_size = 1024`"),
        "memory_size": (1_000_000, "seed 000 `memory_capacity = int(1e6)`"),
        "double_dqn": (False, "seed 000 `replay`: `r + gamma * np.amax(p_[i])` on the target net"),
        "target_sync_steps": (100, "seed 000 `update_target = 100` (steps)"),
        "epsilon_start": (1.0, "seed 000 `epsilon_start = 1.0`"),
        "epsilon_min": (0.0, "seed 000 has no floor after the linear phase"),
        "epsilon_decay": (0.97, "seed 000 `epsilon_decay_exp = 0.97` per episode"),
        "epsilon_linear_steps": (100_000, "seed 000 `epsilon_decay_length = 1e5`"),
        "epsilon_linear_end": (0.05, "seed 000 `epsilon_end = 0.05`"),
        "learning_starts": "seed 000 replays from the first step (after pre-fill)",
        "prefill": (True, "seed 000 `while agent.memory.numberSamples() <= batch_size`"),
        "train_every": "seed 000 replays every step",
        "learn_order": "ours (speed): seed 000's order is `seeds`, see Differences",
        "explore_hold": "seed 000 draws every random action afresh",
        "action_repeat": "seed 000 acts on every step",
        "max_episode_steps": (1000, "seed 000 `max_steps_ep = 1000`"),
        "summary_every": "ours (seed 000 has no TensorBoard)",
        "save_every": (100, "seed 000 `save_model_episode = 100`"),
        **_OURS,
    },
    # Ours: how each value was chosen is in the README's Solving and RocketLander sections.
    "fast": {
        "hidden": ((256, 256), "tuned"),
        "learning_rate": (6.3e-4, "tuned"),
        "batch_size": (128, "tuned"),
        "memory_size": (50_000, "tuned"),
        "target_sync_steps": (250, "tuned"),
        "epsilon_min": (0.1, "tuned"),
        "epsilon_decay": (1.0, "tuned"),
        "epsilon_linear_steps": (12_000, "tuned"),
        "epsilon_linear_end": (0.1, "tuned"),
        "learning_starts": (0, "tuned"),
        "train_every": (4, "tuned"),
        "summary_every": (100, "tuned"),
        # The greedy policy swings by 100+ between nearby checkpoints: keep the best (Solving).
        "eval_every_steps": (10_000, "tuned"),
        "eval_episodes": (10, "tuned"),
        # Within 150,000 steps the seeds' order solved 7 of 7 seeds, the overlap 4 of 7, and
        # it saves no time here (one update every 4 steps; README, Solving).
        "learn_order": ("seeds", "the order its solve table holds for, see Solving"),
    },
    "rocket": {
        # Half of the variant's episodes start just above the deck, where landings happen;
        # the original's starts teach braking, and the original judges (README, RocketLander).
        "env": ("RocketLanderNearDeck-v0", "named variant of seed 000's game, see RocketLander"),
        "eval_env": ("RocketLander-v0", "seed 000's game"),
        "hidden": ((256, 256), _ROCKET),
        "loss": ("huber", _ROCKET),
        "learning_rate": (5e-4, _ROCKET),
        "batch_size": (128, _ROCKET),
        # ~125,000 demonstrated transitions and a 1,000,000-step run's 250,000 decisions:
        # no demonstration is ever overwritten (DQfD keeps them for good).
        "memory_size": (450_000, _ROCKET),
        # In decisions of 4 game steps; exploration starts low, the demonstrations already
        # show what to do.
        "target_sync_steps": (1000, _ROCKET),
        "epsilon_start": (0.2, _ROCKET),
        "epsilon_min": (0.05, _ROCKET),
        "epsilon_decay": (1.0, _ROCKET),
        "epsilon_linear_steps": (25_000, _ROCKET),
        "epsilon_linear_end": (0.05, _ROCKET),
        "train_every": (1, _ROCKET),
        # Braking needs about a hundred "throttle up" in a row: acting on every step the
        # agent never learnt it; every 8 steps the controllers land less (README).
        "action_repeat": (4, _ROCKET),
        # Without demonstrations no landing ever reached the memory; rocket_gimbal lands
        # about three times as many starts as rocket_heuristic (README, RocketLander).
        "demonstrator": ("rocket_gimbal", _ROCKET),
        "demo_episodes": (1000, _ROCKET),
        "demo_margin": (0.8, _ROCKET),
        "summary_every": (100, _ROCKET),
        "save_every": (100, _ROCKET),
        "eval_every_steps": (50_000, _ROCKET),
        "eval_episodes": (20, _ROCKET),
        # The overlap changes every run from its first update: kept until they are measured
        # again in it.
        "learn_order": ("seeds", "the order its RocketLander figures were measured in"),
    },
}

PRESETS: tuple[str, ...] = tuple(_PRESETS)


def _source(entry: str | tuple[Any, str]) -> str:
    return entry if isinstance(entry, str) else entry[1]


# Where each value of each preset comes from (the README's table and the notebooks show it).
SOURCES: dict[str, dict[str, str]] = {
    preset: {name: _source(table.get(name, "same as book")) for name in field_names()}
    for preset, table in _PRESETS.items()
}


def get_preset(name: str, **changes: Any) -> Config:
    """The preset called ``name`` (one of :data:`PRESETS`), with optional field changes."""
    if name not in _PRESETS:
        raise ConfigError(f"preset must be one of {list(PRESETS)} (got {name!r})")
    values = {k: entry[0] for k, entry in _PRESETS[name].items() if not isinstance(entry, str)}
    return Config(**values).replace(**changes)


def preset_table() -> str:
    """A Markdown table of every value of every preset and its source (for the README)."""
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
