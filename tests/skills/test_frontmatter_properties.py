"""Property tests: no input makes the parser or the loader raise anything unexpected."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import parse_frontmatter
from skilld.skills.loader import skill_from_text
from skilld.skills.model import Skill

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces real frontmatter is made of, so that generated text reaches deep into YAML.
_YAML_PIECES = st.sampled_from(
    [
        "name: x",
        "description: Use when: y",
        "argument-hint: [a] | [b]",
        "allowed-tools: Bash(git add:*), Read",
        "hooks:",
        "  PreToolUse:",
        "    - matcher: Bash",
        "      hooks: [{type: command, command: echo}]",
        "metadata: {a: 1, b: [x, y]}",
        "paths: src/**/*.{ts,tsx}",
        "\tkey: tab",
        "a: &x [1, 2]",
        "b: *x",
        "c: !!int nope",
        "d: !!python/object:os.system ls",
        "e: |",
        "  literal",
        "f: >-",
        "  folded",
        "---",
        "...",
        "? [complex, key]",
        ": value",
        "{",
        "[[[[[[",
        "'unclosed",
        '"bad \\escape"',
        "on: yes",
        "when: 2024-13-45",
        "n: 1" + "0" * 5000,
        "user-invocable: maybe",
        "effort: -3",
        "- item",
        "",
    ]
)


def _load(document: str | bytes) -> Skill | None:
    try:
        return skill_from_text(document, name="prop", path=Path("prop/SKILL.md"))
    except SkillParseError:
        return None


@_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise_anything_but_the_library_error(data: bytes) -> None:
    try:
        document = parse_frontmatter(data)
    except SkillParseError:
        return
    assert isinstance(document.body, str)
    for diagnostic in document.diagnostics:
        assert diagnostic.message
    skill = _load(data)
    assert skill is not None
    assert isinstance(skill.description, str)


@_SETTINGS
@given(st.text(max_size=1024), st.text(max_size=256))
def test_arbitrary_text_in_a_frontmatter_shape_loads(frontmatter: str, body: str) -> None:
    for document in (f"---\n{frontmatter}\n---\n{body}", f"\ufeff---\r\n{frontmatter}\r\n---\r\n"):
        parsed = parse_frontmatter(document)
        assert parsed.has_frontmatter or parsed.diagnostics
        skill = _load(document)
        assert skill is not None


@_SETTINGS
@given(st.lists(_YAML_PIECES, max_size=12), st.text(max_size=64))
def test_yaml_shaped_frontmatter_loads(lines: list[str], body: str) -> None:
    document = "---\n" + "\n".join(lines) + "\n---\n" + body
    parsed = parse_frontmatter(document)
    assert all(isinstance(key, str) for key in parsed.metadata)
    skill = _load(document)
    assert skill is not None
    # whatever the YAML held, the coerced fields have their declared types
    assert isinstance(skill.user_invocable, bool)
    assert all(isinstance(tool, str) for tool in skill.allowed_tools)
    assert all(isinstance(path, str) for path in skill.paths)
    assert skill.context in ("inline", "fork")
