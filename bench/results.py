"""Results files: a bench's figures with the command, date, machine and commit that made them.

Every figure the README and docs/ quote comes from one of these JSON files under
docs/results/, and `make docs` (docs/render.py) renders the pages from them. A bench writes
one with ``--results PATH``:

    python bench/checkpoint_cost.py --results docs/results/checkpoint_cost.json

and a command of the package that ends with a JSON line (``train``, ``evaluate``, ``sweep``
with ``--json``) is recorded by running it through this module:

    python bench/results.py docs/results/NAME.json -- python -m dqn_tf sweep ... --json

A file holds ``figures`` (what the command measured), ``command`` (as typed, from the
repository root), ``date`` (ISO 8601, UTC), ``machine`` (CPU model, core count, the load
average before and after, the share of the CPU that other processes used meanwhile, and
``quiet``: false when other work may have skewed the timings; ``tf_threads``, TensorFlow's
pool sizes from ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``, "default" when
unset: other pools make another run of the same seed), ``commit`` (the package's
``git rev-parse HEAD`` when the measurement started, with ``uncommitted_changes`` when dqn_tf/
or bench/ differed from it then) and ``note`` (free text, ``--note``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class OtherLoad:
    """CPU time other processes use while the bench runs, as a share of the machine.

    The machine's busy time comes from /proc/stat; this process's own (and its children's)
    from os.times(); the difference is everyone else's.
    """

    def __init__(self) -> None:
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        busy = (sum(fields[:8]) - idle) / self.ticks  # up to steal, no guest double count
        t = os.times()
        return busy, t.user + t.system + t.children_user + t.children_system, time.time()

    def share(self) -> float:
        busy0, own0, wall0 = self.start
        busy1, own1, wall1 = self._sample()
        cores = os.cpu_count() or 1
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / ((wall1 - wall0) * cores)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def add_option(parser: argparse.ArgumentParser) -> None:
    """``--results PATH`` and ``--note TEXT`` for a bench's parser."""
    parser.add_argument("--results", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--note", default="", help="free text for the results file")


class Recorder:
    """Started before a measurement, writes the results file after it."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.load_before = os.getloadavg()[0]
        self.others = OtherLoad()
        # The code that runs is the code at the start: a commit made during a long run is not.
        self.commit = _git("rev-parse", "HEAD")
        self.changed = bool(_git("status", "--porcelain", "--", "dqn_tf", "bench"))

    def document(self, figures: dict[str, Any], note: str = "") -> dict[str, Any]:
        share = self.others.share()
        load_after = os.getloadavg()[0]
        threads = {
            pool: os.environ.get(f"TF_NUM_{pool.upper()}_THREADS", "default")
            for pool in ("intraop", "interop")
        }
        return {
            "figures": figures,
            "command": self.command,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpu": cpu_model(),
                "cores": os.cpu_count(),
                "load_average_before": round(self.load_before, 2),
                "load_average_after": round(load_after, 2),
                "other_processes_cpu_share": round(share, 3),
                "quiet": self.load_before <= 0.5 and share <= 0.05,
                "tf_threads": threads,
            },
            "commit": self.commit,
            "uncommitted_changes": self.changed,
            "note": note,
        }

    def write(self, path: Path | None, figures: dict[str, Any], note: str = "") -> None:
        if path is None:
            return
        document = self.document(figures, note)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n")
        quiet = "" if document["machine"]["quiet"] else " (the machine was not quiet)"
        print(f"results: {path}{quiet}", file=sys.stderr)


def bench_command() -> str:
    """The running bench's command line, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join(["python", str(shown), *sys.argv[1:]])


def start() -> Recorder:
    """A recorder for the running bench (call it before measuring)."""
    return Recorder(bench_command())


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run a command that ends with a JSON line and record that line."
    )
    parser.add_argument("results", type=Path)
    parser.add_argument("--note", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    recorder = Recorder(shlex.join(command))
    argv = [sys.executable, *command[1:]] if command[0] in ("python", "python3") else command
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.exit(done.returncode)
    lines = done.stdout.strip().splitlines()
    recorder.write(args.results, json.loads(lines[-1]) if lines else {}, args.note)


if __name__ == "__main__":
    main()
