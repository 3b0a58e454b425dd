"""Generate a folder of N realistic skills (frontmatter of the usual size, a body, a file)."""

from __future__ import annotations

from pathlib import Path

_TOOLS = ["Read", "Grep", "Glob", "Bash(git diff:*)", "Bash(git log:*)", "Edit", "Write"]
_TOPICS = ["release", "review", "deploy", "triage", "docs", "migrate", "profile", "audit"]


def skill_text(index: int) -> str:
    topic = _TOPICS[index % len(_TOPICS)]
    tools = ", ".join(_TOOLS[: 2 + index % 5])
    body = "\n".join(
        f"{step}. Step {step} of the {topic} procedure for case {index}: check, act, report."
        for step in range(1, 21)
    )
    return (
        "---\n"
        f"name: {topic}-{index:05d}\n"
        f"description: Helps with {topic} work number {index}. Use when the user asks to "
        f"{topic} something in area {index % 97}, or mentions {topic} checklists.\n"
        f"allowed-tools: {tools}\n"
        f'argument-hint: "[target] [--dry-run]"\n'
        "license: Apache-2.0\n"
        "metadata:\n"
        "  owner: bench\n"
        f'  version: "{index % 7}.0"\n'
        "---\n"
        f"# {topic.title()} {index}\n\n{body}\n\nSee [reference](references/guide.md).\n"
    )


def generate(root: Path, count: int) -> Path:
    """Write ``count`` skills under ``root/skills`` (idempotent); returns ``root``."""
    skills = root / "skills"
    marker = root / f".generated-{count}"
    if marker.exists():
        return root
    for index in range(count):
        folder = skills / f"{_TOPICS[index % len(_TOPICS)]}-{index:05d}"
        (folder / "references").mkdir(parents=True, exist_ok=True)
        (folder / "SKILL.md").write_text(skill_text(index), encoding="utf-8")
        (folder / "references" / "guide.md").write_text(f"# Guide {index}\n", encoding="utf-8")
    marker.touch()
    return root
