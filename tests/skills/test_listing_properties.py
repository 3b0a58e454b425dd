"""Invariants of the listing for any skills and any budget, and on the real corpus."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skilld.settings import Settings
from skilld.skills.listing import (
    MIN_DESCRIPTION_WIDTH,
    Listing,
    build_listing,
    display_width,
    listing_for_registry,
)
from skilld.skills.model import LoadedFrom, Skill, Source
from skilld.skills.registry import SkillRegistry
from tests.helpers import CORPUS

text = st.text(
    st.sampled_from([*"abc xyz-.", "日", "語", "👍", "é", "\n"]), min_size=0, max_size=120
)


@st.composite
def skills(draw: st.DrawFn) -> list[Skill]:
    count = draw(st.integers(0, 12))
    result = []
    for index in range(count):
        bundled = draw(st.booleans())
        result.append(
            Skill(
                name=f"skill-{index}",
                description=draw(text),
                body="",
                source=Source.BUNDLED if bundled else Source.PROJECT,
                loaded_from=LoadedFrom.BUNDLED if bundled else LoadedFrom.SKILLS,
                when_to_use=draw(st.none() | text),
            )
        )
    return result


def measured(listing: Listing) -> int:
    lines = listing.text().split("\n") if listing.entries else []
    return sum(display_width(line) for line in lines) + max(len(lines) - 1, 0)


@settings(max_examples=300, deadline=None)
@given(
    skills(),
    st.integers(0, 3000),
    st.none()
    | st.dictionaries(st.sampled_from([f"skill-{i}" for i in range(12)]), st.integers(0, 5)),
)
def test_listing_invariants(
    given_skills: list[Skill], budget: int, invocations: dict[str, int] | None
) -> None:
    listing = build_listing(given_skills, budget_chars=budget, invocations=invocations)
    full = build_listing(given_skills, budget_chars=10**9)
    # every skill listed once, in order, one line each
    assert [e.name for e in listing.entries] == [s.name for s in given_skills]
    assert listing.text().count("\n") == max(len(given_skills) - 1, 0)
    # the width is what the budget counts
    assert listing.width == measured(listing)
    # bundled skills keep their full text
    for entry, whole in zip(listing.entries, full.entries, strict=True):
        if entry.bundled:
            assert entry.description == whole.description
        if entry.description is not None and entry.description != whole.description:
            assert entry.truncated
            assert entry.description.endswith("…")
            assert display_width(entry.description) >= MIN_DESCRIPTION_WIDTH - 1
    # within budget, unless nothing more could be given up
    if listing.over_budget:
        assert all(e.description is None for e in listing.entries if not e.bundled)
    # nothing is cut when everything fits
    if full.width <= budget:
        assert listing == Listing(full.entries, budget, full.width)


@pytest.mark.corpus
def test_corpus_listing_fits_and_keeps_every_skill() -> None:
    registry = SkillRegistry(
        CORPUS,
        add_dirs=[CORPUS / "skills"],
        settings=Settings.from_env(),
        include_packages=False,
        include_bundled=False,
    )
    active = [s for s in registry.skills() if not s.disable_model_invocation]
    assert len(active) > 50
    listing = listing_for_registry(registry, context_window=200_000)
    assert [e.name for e in listing.entries] == [s.name for s in active]
    assert listing.width <= listing.budget == 8_000 or all(
        e.description is None for e in listing.entries
    )
    assert listing.width == measured(listing)
    generous = listing_for_registry(registry, budget_chars=10**7)
    assert not any(e.truncated for e in generous.entries)
    assert "<available_skills>" in generous.xml()


raw_pieces = st.sampled_from(
    [
        *"ab-. ",
        "  ",
        "word ",
        "\t",
        "\n",
        "\x07",
        "\x1b[31m",
        "\x00",
        "\x7f",
        "\x1c",
        "日",
        "👍",
        "e\u0301",
        "\u3000",
        "\u00a0",
        "\u2028",
        "\x85",
    ]
)
raw_texts = st.lists(raw_pieces, max_size=12).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(raw_texts, max_size=300),
    st.lists(st.integers(0, 299), max_size=6),
    st.integers(1, 40),
)
def test_texts_checked_together_are_each_their_own_one_line_form(
    texts: list[str], plain_at: list[int], cap: int
) -> None:
    from skilld.skills import listing as listing_module

    # mostly plain texts (as descriptions are) around the odd ones, across many chunks
    given = ["plain text", *texts, *(["Some plain ASCII description."] * 260)]
    for index in plain_at:
        given.insert(index, "x")
    texts_found, widths_found, changed = listing_module._measure(given, cap)
    expected = [listing_module._one_line(raw, cap) for raw in given]
    assert list(zip(texts_found, widths_found, strict=True)) == expected
    assert changed == {
        raw: text for raw, (text, _) in zip(given, expected, strict=True) if text != raw
    }


# mostly long plain text (as descriptions are), now and then something odd early on
long_text = st.lists(
    st.sampled_from(
        [
            *["plain words here "] * 40,
            "x" * 30,
            " ",
            "  ",
            "\n",
            "\x07",
            "\x1b[31m",
            "日本",
            "e\u0301",
        ]
    ),
    min_size=4,
    max_size=20,
).map("".join)


@st.composite
def described_skills(draw: st.DrawFn) -> list[Skill]:
    result = []
    for index in range(draw(st.integers(1, 30))):
        bundled = draw(st.integers(0, 9)) == 0
        result.append(
            Skill(
                name=f"skill-{index}",
                description=draw(long_text),
                body="",
                source=Source.BUNDLED if bundled else Source.PROJECT,
                loaded_from=LoadedFrom.BUNDLED if bundled else LoadedFrom.SKILLS,
                when_to_use=draw(st.none() | long_text),
            )
        )
    return result


@settings(max_examples=400, deadline=None)
@given(
    described_skills(),
    st.floats(0, 0.4),
    st.sampled_from([1536, 60, 25]),
    st.sampled_from([None, {"skill-1": "name-only"}]),
)
def test_a_cut_read_from_the_starts_of_texts_is_the_one_measured_whole(
    given_skills: list[Skill], share: float, cap: int, overrides: dict[str, str] | None
) -> None:
    from skilld.skills import listing as listing_module

    full = build_listing(given_skills, budget_chars=10**9, max_entry_chars=cap).width
    budget = int(full * share)
    listing_module._clear_memos()
    first = build_listing(
        given_skills, budget_chars=budget, max_entry_chars=cap, overrides=overrides
    )
    # once every text is measured (kept with the columns), builds use the measures
    build_listing(given_skills, budget_chars=10**9, max_entry_chars=cap, overrides=overrides)
    measured = build_listing(
        given_skills, budget_chars=budget, max_entry_chars=cap, overrides=overrides
    )
    assert first == measured
    assert first.text() == measured.text()
    assert first.xml() == measured.xml()
