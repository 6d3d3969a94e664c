"""The error of a bad setting, shared by the modules that check settings."""

import numbers


class ConfigError(ValueError):
    """A bad hyperparameter or argument: the message names the field, its value and what is
    allowed. The CLI prints it on one line and exits non-zero."""


def check_count(name: str, value: object, least: int = 1, error: type = ConfigError) -> None:
    """The one rule for every count (episodes, steps, seeds, frames, ...): an integer (numpy's
    too), not a bool, of at least ``least``; else ``error`` naming ``name`` and the value."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < least:
        raise error(f"{name} must be an integer >= {least} (got {value!r})")
