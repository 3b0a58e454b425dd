"""The README's "embed skilld in your agent" example runs, and says what it prints.

The example lives in ``docs/embed_example.py``; the README carries the same code between
``<!-- embed-example -->`` and ``<!-- /embed-example -->`` (in a ```python fence). When
the markers are there the two must agree, and the README's copy is the one that runs.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from tests.helpers import REPO

EXAMPLE = REPO / "docs" / "embed_example.py"
_BLOCK = re.compile(
    r"<!-- embed-example -->\s*```python\n(?P<code>.*?)```\s*<!-- /embed-example -->", re.S
)


def readme_code() -> str | None:
    readme = REPO / "README.md"
    if not readme.exists():
        return None
    text = readme.read_text(encoding="utf-8")
    if "<!-- embed-example -->" not in text:
        return None
    match = _BLOCK.search(text)
    assert match is not None, "the embed-example markers must wrap one ```python block"
    return match.group("code")


def test_the_readme_copy_matches_the_example_file() -> None:
    code = readme_code()
    if code is None:
        pytest.skip("README.md has no embed-example markers yet")
    assert code.strip() == EXAMPLE.read_text(encoding="utf-8").strip()


def test_the_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = readme_code() or EXAMPLE.read_text(encoding="utf-8")
    script = tmp_path / "embed_example.py"
    script.write_text(code, encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == [
        "Skill -> Launching skill: greet",
        "word_count -> 3",
        "Hello Ada, welcome!",
    ]
