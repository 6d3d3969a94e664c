"""`make docs`: render every measured figure of README.md and docs/*.md from docs/results/.

A page marks what is rendered with a pair of HTML comments, which Markdown viewers hide:

    <!-- docs: solve_table solve_fast -->
    (rendered: a table, a sentence)
    <!-- /docs -->

The first word names a function below, the rest are its arguments (usually a results file,
docs/results/NAME.json, as a bench's ``--results`` wrote it). Everything between the two
comments is rewritten; the prose around it is edited by hand. A results file that does not
exist yet renders as the command that writes it, so no figure is ever typed by hand. The
preset table and the module list come from the package itself.

    python docs/render.py           # rewrite the pages
    python docs/render.py --check   # exit 1 and name the pages that differ (tests/test_docs.py)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"<!-- docs: ([^>]*?) -->(.*?)<!-- /docs -->", re.S)

_SOLVE = "python bench/solve.py --seeds 0 1 2 --steps 150000 --eval-episodes 100"
_FEASIBILITY = (
    "python bench/rocket_feasibility.py --episodes 100 --repeat 4 "
    "--demonstrator rocket_heuristic rocket_gimbal"
)
_AGENT = "python bench/rocket_feasibility.py --episodes 100 --seed 1000 --repeat 4 --demonstrator"
# Each results file, and the command that writes it (from the repository root).
# The preset built from the ablation of notebooks/after_the_book.ipynb.
AFTER_THE_BOOK = "lunar100k"
# Its solve tables differ only in their seeds.
_AFTER_SOLVE = f"--steps 100000 --eval-episodes 100 --judge final --preset {AFTER_THE_BOOK}"
# Its fresh seeds, five to a results file, each set named before its runs.
_FRESH = {"fresh": "10 11 12 13 14", "fresh2": "15 16 17 18 19", "fresh3": "20 21 22 23 24"}
COMMANDS = {
    "throughput": "python bench/throughput.py --steps 20000 --rounds 2 --after-the-book",
    "loop_profile": "python bench/loop_profile.py --steps 10000 --rounds 3",
    "update_variants": "python bench/update_variants.py --updates 1000 --rounds 5",
    "checkpoint_cost": "python bench/checkpoint_cost.py",
    "soak_book": "python bench/soak.py --preset book --steps 1000000",
    "soak_rocket": "python bench/soak.py --preset rocket --steps 1000000",
    "sweep_vs_serial": "python bench/sweep_vs_serial.py --preset fast --steps 20000 --seeds 0 1 2 "
    "--set learning_rate=0.00063,0.001 --eval-episodes 20 --serial-threads 1",
    "solve_fast": f"{_SOLVE} --preset fast",
    "solve_fast_overlap": f"{_SOLVE} --preset fast --set learn_order=overlap --tag=-overlap",
    "solve_book": "python bench/solve.py --preset book --seeds 0 --episodes 5000 "
    "--eval-episodes 100",
    "solve_rocket": "python bench/solve.py --preset rocket --seeds 0 1 --steps 1000000 "
    "--eval-episodes 100",
    "rocket_feasibility_seeds0": _FEASIBILITY,
    "rocket_feasibility_seeds1000": f"{_FEASIBILITY} --seed 1000",
    "rocket_agent0_seeds1000": f"{_AGENT} rocket_gimbal --run-dir runs/solve/rocket-seed0",
    "rocket_agent1_seeds1000": f"{_AGENT} rocket_gimbal --run-dir runs/solve/rocket-seed1",
    "after_the_book_ablation": "python bench/ablation.py --steps 100000 --seeds 0 1 2 3 4",
    f"solve_{AFTER_THE_BOOK}": f"python bench/solve.py --seeds 0 1 2 3 4 {_AFTER_SOLVE}",
    **{
        f"solve_{AFTER_THE_BOOK}_{tail}": f"python bench/solve.py --seeds {seeds} {_AFTER_SOLVE}"
        for tail, seeds in _FRESH.items()
    },
    "sweep_loss": "python bench/results.py docs/results/sweep_loss.json -- python -m dqn_tf "
    "sweep --preset fast --steps 150000 --seeds 0 1 2 --set loss=mse,huber "
    "--run-dir runs/sweeps/loss --cpus-per-trial 2 --json",
}


def command_for(name: str) -> str:
    command = COMMANDS[name]
    return command if " -- " in command else f"{command} --results docs/results/{name}.json"


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def n(value: float, digits: int = 0) -> str:
    """A figure as the pages print it: thousands separated, ``digits`` decimals."""
    return f"{value:,.{digits}f}"


class Page:
    """What a renderer needs to know of the page it writes into: where links start."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def link(self, name: str) -> str:
        return os.path.relpath(RESULTS / f"{name}.json", self.path.parent)

    def source(self, *names: str) -> str:
        """Where figures come from: machine, date, commit, command and the results file."""
        parts = []
        for name in names:
            doc = load(name)
            machine = doc["machine"]
            busy = "" if machine["quiet"] else (
                f", not quiet (load average {machine['load_average_before']} before, other "
                f"processes {machine['other_processes_cpu_share']:.0%} of the CPU)"
            )  # fmt: skip
            parts.append(
                f"`{doc['command']}`, {doc['date'][:10]}, {machine['cpu']} "
                f"({machine['cores']} cores){busy}, commit {doc['commit'][:7]} "
                f"([{name}.json]({self.link(name)}))"
            )
        return "*Measured with " + "; ".join(parts) + ".*"

    def missing(self, *names: str) -> str:
        absent = [name for name in names if load(name) is None]
        commands = "; ".join(f"`{command_for(name)}`" for name in absent)
        return f"*Not measured yet: {commands}, then `make docs`.*"


# -- the renderers: each returns Markdown; a block renderer returns None when a file is missing


def preset_diff(page: Page, name: str, base: str) -> str:
    """The values of preset ``name`` that differ from preset ``base``, each with its source."""
    from dqn_tf.presets import PRESETS, SOURCES, get_preset

    if name not in PRESETS:
        return f"*The `{name}` preset is not in presets.toml yet.*"
    mine, theirs = get_preset(name).to_dict(), get_preset(base).to_dict()
    rows = [f"| `{field}` | `{theirs[field]}` | `{value}` | {SOURCES[name][field]} |"
            for field, value in mine.items() if value != theirs[field]]  # fmt: skip
    head = [f"| field | `{base}` | `{name}` | why |", "|---|---|---|---|"]
    return "\n".join(head + rows)


def presets(page: Page) -> str:
    from dqn_tf.presets import preset_table

    return preset_table().strip()


def notebook_times(page: Page) -> str:
    """How long each notebook's saved full run took, part by part, from the time table the
    notebook itself keeps under its set-up cell (notebooks/course.py's PartClock)."""
    lines = []
    for name in ("lunar_lander", "rocket_lander", "after_the_book"):
        path = ROOT / "notebooks" / f"{name}.ipynb"
        if not path.is_file():
            continue
        outputs = [o for c in json.loads(path.read_text())["cells"] for o in c.get("outputs", [])]
        texts = ["".join(o.get("data", {}).get("text/markdown", "")) for o in outputs]
        tables = [text for text in texts if "| part | seconds (" in text]
        link = os.path.relpath(path, page.path.parent)
        if not tables:
            lines.append(
                f"- [`notebooks/{name}.ipynb`]({link}): not run in full yet (`make notebooks`)"
            )
            continue
        header, *rows = tables[0].splitlines()
        where = header.split("this run on ", 1)[-1].rstrip(" |)")
        parts = [r.strip("|").split("|") for r in rows[1:] if not r.startswith("| **")]
        total = sum(float(seconds) for _, seconds in parts)
        long = [(part.strip(), float(sec)) for part, sec in parts if float(sec) >= 5]
        each = ", ".join(f"{part} {sec:.0f} s" for part, sec in long)
        rest = total - sum(sec for _, sec in long)
        took = f"{total / 60:.1f} min in its saved full run on {where}"
        lines.append(f"- [`notebooks/{name}.ipynb`]({link}): {took}: {each}, the other parts "
                     f"{rest:.0f} s together")  # fmt: skip
    return "\n".join(lines)


def layout(page: Page) -> str:
    """One line per module of the package: its name and the first line of its docstring."""
    lines = []
    for path in sorted([*ROOT.glob("dqn_tf/*.py"), *ROOT.glob("dqn_tf/envs/*.py")]):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.strip().split("\n\n")[0].split())  # the first paragraph
        first = re.sub(r":\w+:`~?([^`]+)`|``([^`]+)``", lambda m: f"`{m[1] or m[2]}`", first)
        lines.append(f"- [`{path.relative_to(ROOT)}`]({os.path.relpath(path, page.path.parent)})"
                     + (f": {first}" if first else ""))  # fmt: skip
    return "\n".join(lines)


def solve_table(page: Page, name: str) -> str | None:
    if (doc := load(name)) is None:
        return None
    rows = doc["figures"]
    out = [
        "| seed | steps | episodes | minutes | greedy mean (std), final weights | "
        "greedy mean (std), best weights (found at step) | 100-episode training average "
        ">= 200 at episode (steps) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        best = (
            f"{r['best_eval_mean']} ({r['best_eval_std']}) ({n(r['best_found_at_steps'])})"
            if r["best_eval_mean"] is not None
            else "no periodic evaluation"
        )
        first = (
            f"{n(r['avg100_200_at_episode'])} ({n(r['avg100_200_at_steps'])})"
            if r["avg100_200_at_episode"]
            else "not reached"
        )
        out.append(
            f"| {r['seed']} | {n(r['steps'])} | {n(r['episodes'])} | {r['minutes']} | "
            f"{r['eval_mean']} ({r['eval_std']}) | {best} | {first} |"
        )
    return "\n".join(out) + "\n\n" + page.source(name)


def _solved(rows: list[dict[str, Any]]) -> int:
    return sum(bool(r["solved"]) for r in rows)


def train_time(page: Page) -> str:
    """The quick start's sentence on how long `make train` takes (seed 0 of solve_fast)."""
    if (doc := load("solve_fast")) is None:
        return ""
    minutes = [r["minutes"] for r in doc["figures"]]
    machine = doc["machine"]
    return (
        f"On {machine['cpu']} ({machine['cores']} cores) training took "
        + (f"{min(minutes)} to {max(minutes)}" if min(minutes) < max(minutes) else f"{minutes[0]}")
        + f" minutes per seed ([solve_fast.json]({page.link('solve_fast')}))."
    )


def book_run(page: Page) -> str | None:
    if (doc := load("solve_book")) is None:
        return None
    (r,) = doc["figures"]
    reached = (
        f"The 100-episode training average first reached 200 at episode "
        f"{n(r['avg100_200_at_episode'])}, after {n(r['avg100_200_at_steps'])} steps"
        if r["avg100_200_at_episode"]
        else "The 100-episode training average did not reach 200"
    )
    return (
        f"{reached}; the run took {n(r['episodes'])} episodes ({n(r['steps'])} steps, "
        f"{r['minutes']} minutes). Its final weights scored a greedy mean of {r['eval_mean']} "
        f"(std {r['eval_std']}) over 100 episodes.\n\n" + page.source("solve_book")
    )


def sweep_table(page: Page, name: str) -> str | None:
    if (doc := load(name)) is None:
        return None
    out = [
        "| setting | seed | status | episodes | minutes | final weights: mean (std) | "
        "best weights: mean (std) (found at step) |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in doc["figures"]["trials"]:
        out.append(
            f"| {t['setting']} | {t['seed']} | {t['status']} | {t['episodes']} | "
            f"{t['minutes']} | {t['final_mean']:.1f} ({t['final_std']:.1f}) | "
            f"{t['best_mean']:.1f} ({t['best_std']:.1f}) ({n(t['best_at_steps'])}) |"
        )
    return "\n".join(out) + "\n\n" + page.source(name)


def rocket_runs(page: Page) -> str | None:
    if (doc := load("solve_rocket")) is None:
        return None
    out = [
        "| seed | game steps | minutes | landings of 100, final weights | landings of 100, "
        "best weights (found at step) | landings in the periodic evaluations | training "
        "episodes that landed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["figures"]:
        evals = r["evaluation_landings"]
        out.append(
            f"| {r['seed']} | {n(r['steps'])} | {r['minutes']} | {r['landings']} "
            f"(mean {r['eval_mean']}) | **{r['best_landings']}** (mean {r['best_eval_mean']}; "
            f"{n(r['best_found_at_steps'])}) | {min(evals)} to {max(evals)} per evaluation, "
            f"{sum(evals)} in all | {r['training_landings']} of {n(r['episodes'])} |"
        )
    return "\n".join(out) + "\n\n" + page.source("solve_rocket")


def band_table(page: Page, name: str, *agents: str) -> str | None:
    """Landings by the start's spin, demonstrators (and trained agents) on the same starts."""
    if (doc := load(name)) is None:
        return None
    f = doc["figures"]
    first, last = f["seeds"]
    out = [
        f"| controller (starts {first}-{last}) | \\|omega0\\| < 0.2 rad/s | 0.2-0.4 rad/s | "
        "> 0.4 rad/s | all |",
        "|---|---|---|---|---|",
    ]

    def row(label: str, landed: int, bands: list[dict[str, Any]]) -> str:
        cells = " | ".join(f"{b['landed']}/{b['starts']}" for b in bands)
        return f"| {label} | {cells} | **{landed}/{sum(b['starts'] for b in bands)}** |"

    for who, entries in f["demonstrators"].items():
        for e in entries:
            how = "every step" if e["repeat"] == 1 else f"action repeat {e['repeat']}"
            out.append(row(f"`{who}`, {how}", e["landed"], e["by_band"]))
    for a in (a for a in agents if load(a) is not None):
        agent = load(a)["figures"]["agent"]
        seed = a.split("_")[1].removeprefix("agent")
        label = f"greedy agent, `rocket` preset, seed {seed}, {agent['weights']} weights"
        out.append(row(label, agent["landed"], agent["landed_by_band"]))
    measured = [a for a in agents if load(a) is not None]
    note = (
        "" if measured == list(agents) else "\n\nThe trained agents' rows: " + page.missing(*agents)
    )
    return "\n".join(out) + "\n\n" + page.source(name, *measured) + note


def rocket_facts(page: Page) -> str:
    """The braking facts of the game: full throttle on every step from the start."""
    if (doc := load("rocket_feasibility_seeds0")) is None:
        return ""
    f = doc["figures"]
    first, last = f["seeds"]
    return (
        f"The rocket starts {f['start_height_above_deck']:.1f} units above the deck (it is "
        f"{f['rocket_height']:.1f} tall); at full thrust, upright, the net deceleration is "
        f'{f["upright_full_throttle_decel"]:.1f} m/s^2. Pressing "throttle up" on every step '
        f"and nothing else stops the rocket above the deck on {f['stopped_above_deck']} of the "
        f"{f['episodes']} starts {first}-{last}, between {f['stop_height_min']:.1f} and "
        f"{f['stop_height_max']:.1f} units up ([rocket_feasibility_seeds0.json]"
        f"({page.link('rocket_feasibility_seeds0')}))."
    )


def throughput_table(page: Page) -> str | None:
    if (doc := load("throughput")) is None:
        return None
    f = doc["figures"]
    rounds = f.get("rounds_sps", {})

    def sps(value: float) -> str:
        return n(value, 1 if value < 10 else 0)  # the literal port runs a few steps/s

    def cell(key: str) -> str:
        shown = sps(f[key])
        if len(rounds.get(key, [])) > 1:
            shown += " (" + ", ".join(sps(v) for v in rounds[key]) + ")"
        return shown

    rows = [
        ("the game alone, random actions, plain Python (the ceiling)", "env_only_sps"),
        ("the originals as written, in Keras 3: `model.predict` per action, three `predict`s "
         "and a `fit` per replay", "literal_port_sps"),
        ("the originals' loop shape with our compiled pieces: `agent.act` + `agent.observe` "
         "from Python every step", "python_loop_sps"),
        ("Stable-Baselines3 DQN (PyTorch, CPU), same settings, 1 torch thread",
         "sb3_1_thread_sps"),
        ("the same, 2 torch threads", "sb3_2_thread_sps"),
        ("our compiled episode loop, acting only (no learning)", "compiled_act_sps"),
        ("our compiled episode loop, learning in the originals' order "
         "(`learn_order=\"seeds\"`)", "seeds_order_sps"),
        ("**our compiled episode loop, learning, the update beside the game's step** "
         "(default)", "sps"),
        ("the same with the book's summaries written on every update",
         "compiled_learn_summaries_sps"),
    ]  # fmt: skip
    out = ["| loop | environment steps/s (the rounds) |", "|---|---|"]
    out += [f"| {label} | {cell(key)} |" for label, key in rows if f.get(key) is not None]
    return "\n".join(out) + "\n\n" + page.source("throughput")


def speed_ratio(page: Page) -> str:
    """The sentence that compares our loop with SB3's, side by side (one line in README)."""
    if (doc := load("throughput")) is None or not doc["figures"].get("ratio"):
        return ""
    f, machine = doc["figures"], doc["machine"]
    return (
        f"Training runs at **{f['ratio']:.1f}x the steps per second of Stable-Baselines3's DQN** "
        f"at the book's settings, both measured side by side on {machine['cpu']} "
        f"({machine['cores']} cores; [throughput.json]({page.link('throughput')}))."
    )


def memory_size(page: Page) -> str:
    if (doc := load("throughput")) is None:
        return ""
    f = doc["figures"]
    return (
        f"The replay memory takes {f['memory_bytes_per_transition']:.0f} bytes per transition, "
        f"the raw size of its arrays: {f['memory_raw_mb_1m']:.1f} MiB for 1,000,000 "
        f"transitions, which raised the process's peak resident memory by "
        f"{f['memory_peak_rss_increase_mb_1m']:.1f} MiB. The originals' deque of tuples of "
        f"numpy arrays takes {f['deque_bytes_per_transition']:.0f} bytes per transition "
        f"(`tracemalloc`, 100,000 transitions; [throughput.json]({page.link('throughput')}))."
    )


def loop_profile_table(page: Page) -> str | None:
    if (doc := load("loop_profile")) is None:
        return None
    sps, us = doc["figures"]["sps"], doc["figures"]["us_per_step"]
    # What each variant adds to: the one above it, unless named here.
    base = {"crossing, fresh thread state": "loop", "loop": None, "crossing": "loop",
            "learn, overlap": "store", "update alone": "loop", "EpisodeRunner": None}  # fmt: skip
    out = ["| variant | steps/s | us per step | added |", "|---|---|---|---|"]
    previous = None
    for variant in sps:
        against = base.get(variant, previous)
        added = f"{us[variant] - us[against]:+.0f} us (vs {against})" if against else ""
        out.append(f"| {variant} | {n(sps[variant])} | {us[variant]:.0f} | {added} |")
        previous = variant
    inside = doc["figures"]["inside"]
    out.append("\nInside the real loop, microseconds per step:\n")
    out += [f"- {name}: {value:.0f}" for name, value in inside.items()]
    return "\n".join(out) + "\n\n" + page.source("loop_profile")


def update_variants_table(page: Page) -> str | None:
    if (doc := load("update_variants")) is None:
        return None
    f = doc["figures"]
    out = ["| variant | us per update (median) | the rounds |", "|---|---|---|"]
    for variant, median in f["us_per_update_median"].items():
        rounds = ", ".join(f"{t:.0f}" for t in f["us_per_update_rounds"][variant])
        out.append(f"| {variant} | {median:.0f} | {rounds} |")
    same = "gives" if f["lean_adam_same_weights"] else "does not give"
    out.append(f"\n`lean Adam` {same} Keras' weights to the bit.")
    return "\n".join(out) + "\n\n" + page.source("update_variants")


def checkpoint_cost(page: Page) -> str | None:
    if (doc := load("checkpoint_cost")) is None:
        return None
    f = doc["figures"]
    return (
        f"With the book's network and a replay memory filled to {n(f['capacity'])} "
        f"transitions, a checkpoint is {f['checkpoint_mb']:.1f} MiB (the memory's raw arrays "
        f"are {f['memory_raw_mb']:.1f} MiB), written in {f['save_seconds_median']:.2f} s and "
        f"restored in {f['restore_seconds_median']:.2f} s (medians).\n\n"
        + page.source("checkpoint_cost")
    )


def soak_table(page: Page) -> str | None:
    names = ("soak_book", "soak_rocket")
    if any(load(name) is None for name in names):
        return None
    out = [
        "| preset | steps | episodes | minutes | replay memory | peak RSS | RSS when the "
        "memory was full, at the end | checkpoints | checkpoint size, write time (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        f = load(name)["figures"]
        full = (
            f"{n(f['rss_when_full_mb'])}, {n(f['rss_end_mb'])} MiB"
            if f["rss_when_full_mb"] is not None
            else f"never full; {n(f['rss_end_mb'])} MiB at the end"
        )
        write = f["checkpoint_write_s_median"]
        write = "" if write is None else f", {write} s"
        out.append(
            f"| `{f['preset']}` | {n(f['steps'])} | {n(f['episodes'])} | {f['minutes']} | "
            f"{n(f['memory_capacity'])} | {n(f['peak_rss_mb'])} MiB | {full} | "
            f"{f['checkpoints_written']} | {f['checkpoint_mb']} MB{write} |"
        )
    return "\n".join(out) + "\n\n" + page.source(*names)


def sweep_vs_serial(page: Page) -> str | None:
    if (doc := load("sweep_vs_serial")) is None:
        return None
    f = doc["figures"]
    same = "equals" if f["same_results"] else "does NOT equal"
    return (
        f"The {f['runs']} runs one after another (train, then evaluate final and best weights) "
        f"took {n(f['serial_s'])} s, {n(f['serial_train_s'])} s of it training; the sweep, two "
        f"trials at once with one CPU each, took {n(f['sweep_s'])} s (**{f['speedup']}x**), "
        f"and every trial {same} its serial twin (returns, final and best greedy means).\n\n"
        + page.source("sweep_vs_serial")
    )


def ablation_table(page: Page) -> str | None:
    """Per setting of the after-the-book ablation: greedy means on the held-out starts across
    seeds (mean, min and max) and the seeds at 200 or more. No minutes: the trials ran beside
    other work (see speed.md for what each improvement costs)."""
    if (doc := load("after_the_book_ablation")) is None:
        return None
    f = doc["figures"]
    settings: dict[str, list[dict[str, Any]]] = {}
    for trial in f["trials"]:
        settings.setdefault(trial["setting"], []).append(trial)
    out = [
        "| setting | seeds | final weights: mean (min to max) | >= 200 | best weights: mean "
        "(min to max) | >= 200 |",
        "|---|---|---|---|---|---|",
    ]
    for setting, trials in settings.items():
        cells = []
        for key in ("final_mean", "best_mean"):
            values = [t[key] for t in trials if t[key] is not None]
            if not values:
                cells += ["no evaluation", ""]
                continue
            cells.append(
                f"{sum(values) / len(values):.1f} ({min(values):.1f} to {max(values):.1f})"
            )
            cells.append(f"{sum(v >= 200 for v in values)} of {len(values)}")
        out.append(f"| {setting} | {len(trials)} | {' | '.join(cells)} |")
    return (
        "\n".join(out) + f"\n\nThe `{f['preset']}` preset, {n(f['steps'])} steps per trial, "
        f"seeds {', '.join(map(str, f['seeds']))}; greedy means over {f['eval_episodes']} "
        f"episodes from the held-out starts {f['held_out_first_start']}, "
        f"{f['held_out_first_start'] + 1}, ...; trials of one CPU, two at a time.\n\n"
        + page.source("after_the_book_ablation")
    )


def after_the_book_cost(page: Page) -> str | None:
    """Steps per second of the learning loop at the book's settings with each improvement."""
    if (doc := load("throughput")) is None or "all_three_sps" not in doc["figures"]:
        return f"*Not measured yet: `{command_for('throughput')}`, then `make docs`.*"
    f = doc["figures"]
    rows = [("none (the book's settings)", "sps"), ("n-step returns (n = 3)", "n_step_3_sps"),
            ("dueling head", "dueling_sps"), ("prioritized replay (alpha 0.6)", "prioritized_sps"),
            ("all three", "all_three_sps")]  # fmt: skip
    out = ["| learning loop | environment steps/s (the rounds) | cost per step |", "|---|---|---|"]
    base = f["sps"]
    for label, key in rows:
        rounds = ", ".join(n(v) for v in f["rounds_sps"][key])
        cost = "" if key == "sps" else f"{1e6 / f[key] - 1e6 / base:+.0f} us"
        out.append(f"| {label} | {n(f[key])} ({rounds}) | {cost} |")
    return "\n".join(out) + "\n\n" + page.source("throughput")


def glance(page: Page) -> str:
    """The README's one table of results, each row from its results file."""
    docs = "docs/" if page.path.parent == ROOT else ""
    rows = []
    if (doc := load("solve_fast")) is not None:
        r = doc["figures"]
        means = ", ".join(f"{max(x['eval_mean'], x['best_eval_mean'] or -1e9)}" for x in r)
        result = f"solved on {_solved(r)} of {len(r)} seeds (greedy means, better weights: {means})"
    else:
        result = "not measured yet"
    rows.append(("LunarLander-v3, `fast` preset, 150,000 steps, seeds 0-2", result,
                 f"[LunarLander]({docs}lunarlander.md)"))  # fmt: skip
    results = []
    if (doc := load(f"solve_{AFTER_THE_BOOK}")) is not None:
        r = doc["figures"]
        judged = r[0]["judged"]
        key = {"final": "eval_mean", "best": "best_eval_mean"}[judged]
        means = ", ".join(str(x[key]) for x in r)
        results.append(f"seeds {r[0]['seed']}-{r[-1]['seed']}: solved on {_solved(r)} of "
                       f"{len(r)} (greedy means, {judged} weights: {means})")  # fmt: skip
    else:
        results.append("seeds: not measured yet")
    # The fresh seeds' files, five seeds each, as one count and the count of each file.
    fresh = [load(f"solve_{AFTER_THE_BOOK}_{tail}") for tail in _FRESH]
    fresh = [doc["figures"] for doc in fresh if doc is not None]
    if fresh:
        first, last = fresh[0][0]["seed"], fresh[-1][-1]["seed"]
        each = ", ".join(f"{r[0]['seed']}-{r[-1]['seed']}: {_solved(r)}" for r in fresh)
        results.append(f"fresh seeds {first}-{last}: solved on {sum(map(_solved, fresh))} of "
                       f"{sum(map(len, fresh))} ({each})")  # fmt: skip
    else:
        results.append("fresh seeds: not measured yet")
    rows.append((f"LunarLander-v3, `{AFTER_THE_BOOK}` preset (after the book), 100,000 steps",
                 "; ".join(results), f"[After the book]({docs}after-the-book.md)"))  # fmt: skip
    if (doc := load("solve_book")) is not None and doc["figures"][0]["avg100_200_at_episode"]:
        r = doc["figures"][0]
        result = f"100-episode average >= 200 at episode {n(r['avg100_200_at_episode'])}"
    else:
        result = "not measured yet" if doc is None else "100-episode average never reached 200"
    rows.append(("LunarLander-v3, `book` preset, seed 0", result,
                 f"[LunarLander]({docs}lunarlander.md)"))  # fmt: skip
    rocket = []
    if (doc := load("solve_rocket")) is not None:
        rocket.append("landings of 100, best weights: " + ", ".join(
            f"{r['best_landings']} (seed {r['seed']})" for r in doc["figures"]
        ))  # fmt: skip
    else:
        rocket.append("the agent: not measured yet")
    if (demo := load("rocket_feasibility_seeds1000")) is not None:
        (gimbal,) = [e for e in demo["figures"]["demonstrators"]["rocket_gimbal"]
                     if e["repeat"] == 4]  # fmt: skip
        rocket.append(f"its demonstrator, `rocket_gimbal`, lands {gimbal['landed']} of the same "
                      f"{demo['figures']['episodes']} starts")  # fmt: skip
    result = "; ".join(rocket)
    rows.append(("RocketLander-v0, `rocket` preset, 1,000,000 steps", result,
                 f"[RocketLander]({docs}rocketlander.md)"))  # fmt: skip
    if (doc := load("throughput")) is not None and doc["figures"].get("ratio"):
        f = doc["figures"]
        machine = doc["machine"]
        result = (f"{f['ratio']:.1f}x the steps per second of Stable-Baselines3's DQN, side by "
                  f"side on {machine['cpu']} ({machine['cores']} cores)")  # fmt: skip
    else:
        result = "not measured yet"
    rows.append(("training speed, the book's settings", result, f"[Speed]({docs}speed.md)"))
    out = ["| what | result | details |", "|---|---|---|"]
    return "\n".join(out + [f"| {a} | {b} | {c} |" for a, b, c in rows])


RENDERERS: dict[str, Callable[..., str | None]] = {
    f.__name__: f
    for f in (
        preset_diff,
        presets,
        layout,
        solve_table,
        train_time,
        notebook_times,
        book_run,
        sweep_table,
        rocket_runs,
        band_table,
        rocket_facts,
        throughput_table,
        speed_ratio,
        memory_size,
        loop_profile_table,
        update_variants_table,
        checkpoint_cost,
        soak_table,
        sweep_vs_serial,
        glance,
        ablation_table,
        after_the_book_cost,
    )  # fmt: skip
}
# The results files each block renderer reads, for the note a missing file leaves.
READS = {
    "throughput_table": ["throughput"],
    "loop_profile_table": ["loop_profile"],
    "update_variants_table": ["update_variants"],
    "checkpoint_cost": ["checkpoint_cost"],
    "soak_table": ["soak_book", "soak_rocket"],
    "sweep_vs_serial": ["sweep_vs_serial"],
    "book_run": ["solve_book"],
    "rocket_runs": ["solve_rocket"],
    "ablation_table": ["after_the_book_ablation"],
    "after_the_book_cost": ["throughput"],
}


def render(path: Path) -> str:
    """The page at ``path`` with every block rewritten."""
    text, page = path.read_text(), Page(path)

    def block(match: re.Match[str]) -> str:
        name, *args = match.group(1).split()
        out = RENDERERS[name](page, *args)
        if out is None:
            out = page.missing(*READS.get(name, args))
        inline = not match.group(2).startswith("\n")
        inner = out if inline else f"\n{out}\n"
        return f"<!-- docs: {match.group(1)} -->{inner}<!-- /docs -->"

    return BLOCK.sub(block, text)


def missing() -> list[str]:
    return [command_for(name) for name in COMMANDS if load(name) is None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on a diff")
    args = parser.parse_args()
    differ = []
    for path in PAGES:
        text = render(path)
        if text != path.read_text():
            differ.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.write_text(text)
    for command in missing():
        print(f"not measured yet: {command}", file=sys.stderr)
    if args.check and differ:
        print(f"differ from `make docs`: {', '.join(differ)}", file=sys.stderr)
        sys.exit(1)
    print(f"{'differ' if args.check else 'rewritten'}: {', '.join(differ) or 'none'}")


if __name__ == "__main__":
    main()
