"""Paths and small builders shared by the tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
EXAMPLES = REPO / "examples" / "skills"


def write_skill(root: Path, name: str, frontmatter: str = "", body: str = "Body.\n") -> Path:
    """Write ``root/name/SKILL.md`` and return the SKILL.md path."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    text = f"---\n{frontmatter.strip()}\n---\n{body}" if frontmatter else body
    path = folder / "SKILL.md"
    path.write_text(text, encoding="utf-8")
    return path
