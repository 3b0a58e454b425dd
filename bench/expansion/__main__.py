"""``python -m bench.expansion``: expanding a skill without inline shell.

Cases (each timed as the median of ``--repeat`` rounds of ``--number`` calls, after a
warm-up; figures are microseconds per expansion):

* ``typical``: a 40-line skill with a folder, two named arguments, ``$ARGUMENTS``,
  ``${CLAUDE_SKILL_DIR}`` and ``${CLAUDE_SESSION_ID}``, called with two arguments;
* ``no-arguments``: the same skill called with no arguments;
* ``append``: a body without placeholders, arguments appended;
* ``typical-cold``: ``typical`` with the compiled-template cache cleared before each call
  (a skill expanded for the first time, or after its file changed);
* ``docs-with-examples``: the corpus ``command-development`` skill (850 lines whose
  `` !`...` `` examples sit in code blocks, so the Markdown scan runs and finds nothing);
  ``-cold`` clears the caches first (this is the cost of the Markdown parse);
* ``corpus``: every corpus SKILL.md once (mean per skill, caches warm).

Target: ``typical`` under 50 µs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skilld.skills import expansion, markdown
from skilld.skills.expansion import ExpansionContext, expand_skill_sync
from skilld.skills.loader import load_skill_file, skill_from_text
from skilld.skills.model import LoadedFrom, Skill, Source

TARGET_US = 50.0
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
TYPICAL = """---
name: migrate-component
description: Migrate a UI component from one framework to another, keeping its tests.
argument-hint: "<component> <from> [to]"
arguments: [component, from]
allowed-tools: Read, Grep, Bash(npm test:*)
---
# Migrate a component

Migrate `$component` from $from to the framework named in the rest of the request:
$ARGUMENTS.

## Steps

1. Read the component and its tests. The checklist is in
   ${CLAUDE_SKILL_DIR}/references/checklist.md; the style guide in
   ${CLAUDE_SKILL_DIR}/references/style.md.
2. Write the new component next to the old one; keep the public props identical.
3. Port every test; a test that cannot be ported gets a comment saying why.
4. Run the test suite with `npm test -- $component` and fix what fails.
5. Remove the old component only when every test passes.

## Rules

- Keep the component's public API: props, events, slots.
- Costs nothing to keep the old snapshot files: leave them.
- Do not reformat unrelated files.
- Log what you did in `migrations/${CLAUDE_SESSION_ID}.md`.

## Output

A short summary:

- files created, changed and removed;
- tests ported, and tests skipped with the reason;
- anything that needs a human decision.

If `$component` does not exist, say so and stop.
"""


def _clear() -> None:
    expansion._compile.cache_clear()
    markdown.find_shell_patterns.cache_clear()


def timed(function: Callable[[], Any], number: int, repeat: int) -> tuple[float, float]:
    """Median and best microseconds per call."""
    function()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples), min(samples)


def corpus_skills() -> list[Skill]:
    skills = []
    for path in sorted(CORPUS.rglob("*")):
        if path.name.upper() == "SKILL.MD" and path.is_file():
            skills.append(load_skill_file(path, source=Source.PROJECT))
    return skills


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.expansion", description=__doc__)
    parser.add_argument("--number", type=int, default=2000, help="calls per round")
    parser.add_argument("--repeat", type=int, default=7, help="rounds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args(argv)
    n, r = options.number, options.repeat

    typical = skill_from_text(
        TYPICAL,
        name="migrate-component",
        source=Source.PROJECT,
        loaded_from=LoadedFrom.SKILLS,
        directory=Path("/home/dev/project/.claude/skills/migrate-component"),
    )
    plain = skill_from_text(
        "Summarize the staged changes in one paragraph.\n", name="plain", source=Source.PROJECT
    )
    context = ExpansionContext(session_id="0f6c2d1e-bench", cwd=Path("/home/dev/project"))
    docs_path = (
        CORPUS / "skills/anthropics__claude-plugins-official/plugins/plugin-dev/skills"
        "/command-development/SKILL.md"
    )
    docs = load_skill_file(docs_path, source=Source.PLUGIN)

    def cold_typical() -> None:
        _clear()
        expand_skill_sync(typical, "Button vue react", context=context)

    def cold_docs() -> None:
        _clear()
        expand_skill_sync(docs, "123 staging", context=context)

    cases: dict[str, tuple[float, float]] = {
        "typical": timed(
            lambda: expand_skill_sync(typical, "Button vue react", context=context), n, r
        ),
        "no-arguments": timed(lambda: expand_skill_sync(typical, context=context), n, r),
        "append": timed(lambda: expand_skill_sync(plain, "a b c", context=context), n, r),
        "typical-cold": timed(cold_typical, max(n // 10, 1), r),
        "docs-with-examples": timed(
            lambda: expand_skill_sync(docs, "123 staging", context=context), max(n // 10, 1), r
        ),
        "docs-with-examples-cold": timed(cold_docs, 5, r),
    }
    skills = corpus_skills()
    if skills:
        for skill in skills:  # warm the caches once
            expand_skill_sync(skill, "a b", context=context)

        def all_corpus() -> None:
            for skill in skills:
                expand_skill_sync(skill, "a b", context=context)

        median, best = timed(all_corpus, 1, r)
        cases[f"corpus ({len(skills)} skills, per skill)"] = (
            median / len(skills),
            best / len(skills),
        )

    ok = cases["typical"][0] < TARGET_US
    if options.json:
        payload = {
            "target_us": TARGET_US,
            "ok": ok,
            "python": sys.version.split()[0],
            "cases": {
                k: {"median_us": round(m, 2), "best_us": round(b, 2)} for k, (m, b) in cases.items()
            },
        }
        print(json.dumps(payload, indent=2))
    else:
        print(f"{'case':44} {'median µs':>10} {'best µs':>10}")
        for name, (median, best) in cases.items():
            print(f"{name:44} {median:10.2f} {best:10.2f}")
        verdict = "meets" if ok else "MISSES"
        print(f"typical expansion {verdict} the {TARGET_US:g} µs target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
