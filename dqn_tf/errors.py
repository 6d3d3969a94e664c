"""The error of a bad setting, shared by the modules that check settings."""


class ConfigError(ValueError):
    """A bad hyperparameter or argument: the message names the field, its value and what is
    allowed. The CLI prints it on one line and exits non-zero."""
