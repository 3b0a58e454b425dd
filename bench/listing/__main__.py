"""``python -m bench.listing``: the system-prompt listing of 10,000 skills.

The skills are built in memory (the listing never touches the disk): descriptions of
40 to 400 characters, a third with ``when_to_use``, one in twenty in CJK with an emoji,
one in a hundred bundled, each with the path of its ``SKILL.md`` as a loaded skill has, a
seeded random mix so every run lists the same skills. Each case is timed ``--repeat``
times after one warm-up; the median and the best wall-clock times are reported, with the
median CPU time of the thread (less sensitive to other jobs on a shared machine) and the
load average, since the wall clock of a loaded machine measures its scheduler too.
Target: under 20 ms for 10,000 skills.

Three states. "warm": the listing is rebuilt from the very same skill objects, as a
session does every turn; the columns of the last list (names, entry texts and widths,
the texts shown when everything fits or only names do) are kept, so what is left is
fitting the budget. "reloaded": new skill objects with the same texts each run (a
registry reloaded after a file changed): the columns are rebuilt, the entry texts come
from their memo. "cold": every memo is cleared before each run, as the first listing of
a process pays.

A listing makes its entries (``Listing.entries``) on first use, and renders straight
from its columns: the render cases time a build and its text, the entries case a build
and its entries.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skilld.skills import listing as listing_module
from skilld.skills.listing import Listing, build_listing
from skilld.skills.model import LoadedFrom, Skill, Source

TARGET_MS = 20.0
# fmt: off
WORDS = (
    "review", "deploy", "test", "lint", "format", "commit", "release", "notes", "docs", "api",
    "schema", "database", "migrate", "python", "typescript", "rust", "go", "kubernetes",
    "docker", "terraform", "security", "audit", "performance", "profile", "trace", "debug",
    "refactor", "generate", "summarize", "translate", "when", "the", "user", "asks", "for",
)
# fmt: on


def make_skills(count: int, seed: int = 7) -> list[Skill]:
    rng = random.Random(seed)
    skills: list[Skill] = []
    for index in range(count):
        length = rng.randint(40, 400)
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(rng.choice(WORDS))
        description = " ".join(words).capitalize() + "."
        if index % 20 == 0:
            description = "日本語のスキルの説明です。" * rng.randint(1, 6) + " 🚀 " + description
        when = (
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20)))
            if index % 3 == 0
            else None
        )
        bundled = index % 100 == 0
        skills.append(
            Skill(
                name=f"skill-{index:05d}",
                description=description,
                body="",
                source=Source.BUNDLED if bundled else Source.PROJECT,
                loaded_from=LoadedFrom.BUNDLED if bundled else LoadedFrom.SKILLS,
                when_to_use=when,
                path=Path(f"/work/skills/skill-{index:05d}/SKILL.md"),
            )
        )
    return skills


def timed(
    function: Callable[[list[Skill]], Any], lists: list[list[Skill]], repeat: int, state: str
) -> tuple[float, float, float, Any]:
    """Median and best wall-clock ms, median thread CPU ms, and the last result."""
    function(lists[-1])  # warm-up
    samples = []
    cpu = []
    result = None
    for run in range(repeat):
        skills = lists[run % len(lists)] if state == "reloaded" else lists[0]
        if state == "cold":
            listing_module._clear_memos()
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = function(skills)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples), statistics.median(cpu), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing", description=__doc__)
    parser.add_argument("--skills", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    lists = [make_skills(args.skills), make_skills(args.skills)]  # same texts, new objects
    invocations = {s.name: i % 7 for i, s in enumerate(lists[0]) if i % 3}
    big = 10_000_000

    def fits(skills: list[Skill]) -> Any:
        return build_listing(skills, budget_chars=10**9)

    def even(skills: list[Skill]) -> Any:
        return build_listing(skills, context_window=big)

    def names_only(skills: list[Skill]) -> Any:
        return build_listing(skills)

    budgets = iter(range(400_000, 0, -1))

    def even_new_budget(skills: list[Skill]) -> Any:
        # the budget a 10M-token window gives, a column less every run: nothing of the
        # last cut can be reused
        return build_listing(skills, budget_chars=next(budgets))

    cases: list[tuple[str, str, Callable[[list[Skill]], Any]]] = [
        ("fits (unlimited budget)", "cold", fits),
        ("fits (unlimited budget)", "reloaded", fits),
        ("fits (unlimited budget)", "warm", fits),
        ("1M-token window: names only", "warm", lambda s: build_listing(s, context_window=10**6)),
        ("10M-token window: even cut", "cold", even),
        ("10M-token window: even cut", "reloaded", even),
        ("10M-token window: even cut", "warm", even),
        ("10M window, a new budget every run", "warm", even_new_budget),
        (
            "10M window + invocation counts",
            "warm",
            lambda s: build_listing(s, context_window=big, invocations=invocations),
        ),
        ("default 8,000 chars: names only", "cold", names_only),
        ("default 8,000 chars: names only", "reloaded", names_only),
        ("default 8,000 chars: names only", "warm", names_only),
        ("text render (10M window)", "warm", lambda s: even(s).text()),
        ("xml render (10M window)", "warm", lambda s: even(s).xml()),
        # a build makes its entries on first use: what asking for them costs
        ("entries (10M window)", "warm", lambda s: even(s).entries),
        ("text render (unlimited budget)", "warm", lambda s: fits(s).text()),
        ("xml render (unlimited budget)", "warm", lambda s: fits(s).xml()),
    ]
    builds = {f"{label}, {state}" for label, state, _ in cases[:12]}
    rows = []
    for label, state, function in cases:
        median, best, cpu, result = timed(function, lists, args.repeat, state)
        label = f"{label}, {state}"
        detail = ""
        if isinstance(result, Listing):
            cut = sum(1 for e in result.entries if e.truncated)
            detail = f"width {result.width:,} / budget {result.budget:,}, {cut:,} cut"
        rows.append(
            {
                "case": label,
                "median_ms": round(median, 2),
                "best_ms": round(best, 2),
                "cpu_ms": round(cpu, 2),
                "detail": detail,
            }
        )

    load = [round(value, 2) for value in os.getloadavg()]
    if args.json:
        print(
            json.dumps(
                {
                    "skills": args.skills,
                    "target_ms": TARGET_MS,
                    "python": sys.version.split()[0],
                    "load_average": load,
                    "rows": rows,
                },
                indent=2,
            )
        )
    else:
        version = sys.version.split()[0]
        print(
            f"listing of {args.skills:,} skills (Python {version}), target < {TARGET_MS:g} ms, "
            f"load average {load[0]:.2f}"
        )
        print(f"{'case':<44} {'median ms':>10} {'best ms':>9} {'cpu ms':>8}  detail")
        for row in rows:
            timing = f"{row['median_ms']:>10.2f} {row['best_ms']:>9.2f} {row['cpu_ms']:>8.2f}"
            print(f"{row['case']:<44} {timing}  {row['detail']}")
    worst = max(row["median_ms"] for row in rows if row["case"] in builds)
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
