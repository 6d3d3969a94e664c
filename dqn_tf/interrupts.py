"""Signals during training: SIGINT (Ctrl-C), SIGTERM and SIGHUP ask the run to stop after its
episode and save; a signal never cuts a save short."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by ``Environment.learn`` after a signal, once the ``checkpoint`` is written."""

    def __init__(self, message: str, checkpoint: Path) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


@contextmanager
def stop_on_signals() -> Iterator[list[str]]:
    """While the block runs, the first signal's name lands in the yielded list: stop after
    this episode and save. Further signals only say they wait for that save."""
    stop: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if stop:
            _say(f"\n{name}: already stopping; saving the last whole episode, a moment...")
            return
        if signum == signal.SIGHUP:
            _detach_from_closed_terminal()
        stop.append(name)
        _say(f"\n{name}: stopping after this episode, then saving...")

    for sig in SIGNALS:
        signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _say(line: str) -> None:
    with suppress(OSError):  # a terminal that is gone must not stop the save
        print(line, flush=True)


def _detach_from_closed_terminal() -> None:
    """After SIGHUP, send terminal output to /dev/null: writing to it would fail the save."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with suppress(OSError):
            if os.isatty(fd):
                os.dup2(devnull, fd)
    os.close(devnull)
