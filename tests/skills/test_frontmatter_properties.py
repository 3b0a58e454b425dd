"""Property tests: no input makes the parser or the loader raise anything unexpected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skilld.exceptions import SkillParseError
from skilld.skills import frontmatter
from skilld.skills.frontmatter import parse_frontmatter
from skilld.skills.loader import skill_from_text
from skilld.skills.model import Skill
from skilld.skills.validate import Profile, validate_document
from tests.helpers import CORPUS

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
        "      hooks: [{type: http, timeout: -1, once: 2}, 3, {type: x}]",
        "  Stop: {a: b}",
        "  NotAnEvent: []",
        "context: Fork",
        "agent: [x]",
        "arguments: [1, [2], {a: b}]",
        "allowed-tools: [Bash(, 3, bash]",
        "paths: [/abs, ../up, '{a,b}']",
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


# The YAML-free fast path must agree with YAML wherever it answers.
_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True)
_VALUES = st.one_of(
    st.text(
        alphabet="aZ09 -_:#'\"\\.,[]{}&*!|>%@`?~\t+eExo\x00\x07\x85\u2028\ufeff日", max_size=12
    ),
    st.sampled_from(
        [
            "true",
            "False",
            "TRUE",
            "yes",
            "no",
            "on",
            "null",
            "Null",
            "~",
            "010",
            "0x1F",
            "0o17",
            "1e5",
            "-1.5",
            ".5",
            "+.inf",
            "-.INF",
            ".NaN",
            "1_000",
            "2024-01-01",
            "'it''s'",
            '"quoted"',
            '"a\\"b"',
            "'a'b'",
            "a: b",
            "a #c",
            "a#b",
            "http://x/y",
        ]
    ),
)
_INDENTS = st.sampled_from(["  ", "    ", " ", "\t", "  \t"])


@st.composite
def _simple_documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(_KEYS)
        if draw(st.booleans()):
            lines.append(f"{key}: {draw(_VALUES)}")
        else:
            lines.append(f"{key}:")
            indent = draw(_INDENTS)
            for _ in range(draw(st.integers(0, 3))):
                lines.append(f"{indent}{draw(_KEYS)}: {draw(_VALUES)}")
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "# comment", "   ", "- item", "key"])))
    return "\n".join(lines)


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float) and left != left:
        return right != right  # NaN
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(_simple_documents())
def test_the_fast_path_agrees_with_yaml(raw: str) -> None:
    fast = frontmatter._parse_simple(raw)
    if fast is None:
        return
    try:
        slow = frontmatter._load(raw)
    except yaml.YAMLError:
        raise AssertionError(f"fast path accepted YAML that does not parse: {raw!r}") from None
    assert _same(fast, slow if slow is not None else {}), raw


@pytest.mark.corpus
def test_the_fast_path_agrees_with_yaml_on_the_corpus() -> None:
    answered = 0
    files = [p for p in CORPUS.rglob("*.md") if p.is_file()]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        if not text.startswith("---\n") or "\n---" not in text[3:]:
            continue
        raw = text[4 : text.index("\n---", 3) + 1]
        fast = frontmatter._parse_simple(raw)
        if fast is not None:
            answered += 1
            assert _same(fast, frontmatter._load(raw) or {}), path
    assert answered > 300  # most real frontmatter takes the fast path


@_SETTINGS
@given(st.lists(_YAML_PIECES, max_size=12), st.sampled_from(list(Profile)))
def test_validation_never_raises_and_always_says_how_to_fix(
    lines: list[str], profile: Profile
) -> None:
    document = parse_frontmatter("---\n" + "\n".join(lines) + "\n---\nbody")
    for kind in ("skill", "command"):
        diagnostics = validate_document(
            document, path=Path("x/SKILL.md"), kind=kind, profile=profile
        )
        assert all(d.fix for d in diagnostics)
