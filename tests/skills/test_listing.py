"""The system-prompt catalogue: which skills, the budget, the cuts, both formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from skilld.exceptions import ConfigurationError
from skilld.settings import Settings
from skilld.skills.listing import (
    DEFAULT_CHAR_BUDGET,
    Listing,
    ListingEntry,
    build_listing,
    char_budget,
    display_width,
    listed_skills,
    listing_for_registry,
    truncate_to_width,
)
from skilld.skills.model import LoadedFrom, Skill, Source
from skilld.skills.registry import SkillRegistry, clear_caches
from tests.helpers import write_skill


def mk(
    name: str,
    description: str = "",
    *,
    when_to_use: str | None = None,
    source: Source = Source.PROJECT,
    disable_model_invocation: bool = False,
    path: Path | None = None,
) -> Skill:
    return Skill(
        name=name,
        description=description,
        body="",
        source=source,
        loaded_from=LoadedFrom.BUNDLED if source is Source.BUNDLED else LoadedFrom.SKILLS,
        path=path,
        when_to_use=when_to_use,
        disable_model_invocation=disable_model_invocation,
    )


def measured(listing: Listing) -> int:
    """The listing's width as the budget counts it: each line's columns plus newlines."""
    lines = listing.text().split("\n")
    return sum(display_width(text) for text in lines) + len(lines) - 1


# --------------------------------------------------------------------------- budget


def test_char_budget() -> None:
    assert char_budget() == DEFAULT_CHAR_BUDGET == 8_000
    assert char_budget(context_window=200_000) == 8_000
    assert char_budget(context_window=1_000_000) == 40_000
    assert char_budget(context_window=200_000, fraction=0.02) == 16_000
    assert char_budget(context_window=999) == 39  # floor of 39.96
    assert char_budget(budget_chars=123) == 123
    assert char_budget(budget_chars=0) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_window": 1000, "budget_chars": 10}, "not both"),
        ({"budget_chars": -1}, "must be >= 0, not -1"),
        ({"context_window": 0}, "must be > 0, not 0"),
        ({"context_window": 10, "fraction": 0}, "fraction must be in \\(0, 1\\], not 0"),
        ({"context_window": 10, "fraction": 1.5}, "fraction must be in \\(0, 1\\], not 1.5"),
    ],
)
def test_bad_budget(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        char_budget(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- which skills


def test_full_listing_in_claude_code_format() -> None:
    listing = build_listing(
        [
            mk("commit", "Create a git commit."),
            mk("pdf", "Work with PDFs.", when_to_use="When a PDF is mentioned."),
        ]
    )
    assert listing.text() == (
        "- commit: Create a git commit.\n- pdf: Work with PDFs. - When a PDF is mentioned."
    )
    assert listing.width == measured(listing) == 79 + 1
    assert not listing.over_budget
    assert not any(entry.truncated for entry in listing.entries)


def test_empty_listing() -> None:
    listing = build_listing([])
    assert (listing.text(), listing.width, listing.entries) == ("", 0, ())
    assert listing.xml() == "<available_skills>\n</available_skills>"


def test_model_disabled_skills_are_left_out() -> None:
    listing = build_listing([mk("a", "A."), mk("b", "B.", disable_model_invocation=True)])
    assert listing.text() == "- a: A."


def test_overrides() -> None:
    skills = [mk("a", "A."), mk("b", "B."), mk("c", "C."), mk("d", "D."), mk("e", "E.")]
    overrides = {"a": "on", "b": "name-only", "c": "user-invocable-only", "d": "off"}
    assert build_listing(skills, overrides=overrides).text() == "- a: A.\n- b\n- e: E."


def test_override_on_does_not_list_a_model_disabled_skill() -> None:
    skill = mk("a", "A.", disable_model_invocation=True)
    assert listed_skills([skill], overrides={"a": "on"}) == []


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        listed_skills([], overrides={"a": "hidden"})
    assert str(caught.value) == (
        "skill override 'a': 'hidden' is not one of on, name-only, user-invocable-only, off"
    )


def test_whitespace_is_collapsed_to_one_line() -> None:
    listing = build_listing([mk("a", "Line one\n  line\ttwo.  ", when_to_use="x\ny")])
    assert listing.text() == "- a: Line one line two. - x y"


def test_entry_is_capped_at_1536_characters() -> None:
    listing = build_listing([mk("a", "d" * 1500, when_to_use="w" * 100)], budget_chars=10**6)
    description = listing.entries[0].description
    assert description is not None
    assert len(description) == 1536
    assert description == "d" * 1500 + " - " + "w" * 32 + "…"


def test_entry_cap_is_configurable() -> None:
    listing = build_listing([mk("a", "abcdefghij")], max_entry_chars=5)
    assert listing.text() == "- a: abcd…"
    assert not listing.entries[0].truncated  # capped, not cut for the budget
    with pytest.raises(ConfigurationError, match="the entry cap must be >= 1, not 0"):
        build_listing([], max_entry_chars=0)


def test_conditional_skills_wait_for_activation(tmp_path: Path) -> None:
    clear_caches(activations=True)
    root = tmp_path / ".claude" / "skills"
    write_skill(root, "always", "description: Always here.")
    write_skill(root, "pyonly", "description: For Python.\npaths: '**/*.py'")
    write_skill(root, "manual", "description: Manual.\ndisable-model-invocation: true")
    registry = SkillRegistry(
        tmp_path,
        settings=Settings.from_env(),
        include_packages=False,
        include_bundled=False,
    )
    assert listing_for_registry(registry).text() == "- always: Always here."
    registry.activate_for_paths([tmp_path / "src" / "main.py"])
    assert listing_for_registry(registry).text() == "- always: Always here.\n- pyonly: For Python."
    clear_caches(activations=True)


# --------------------------------------------------------------------------- cuts


def line(name: str, description: str | None) -> str:
    return f"- {name}" if description is None else f"- {name}: {description}"


def test_overflow_cuts_descriptions_evenly() -> None:
    skills = [mk("a", "x" * 50), mk("b", "y" * 50), mk("c", "short")]
    # names: "- a" "- b" "- c" = 9, ": " x3 = 6, newlines 2 -> 17 + room for texts
    listing = build_listing(skills, budget_chars=17 + 5 + 2 * 30)
    assert listing.text() == "\n".join(
        [line("a", "x" * 29 + "…"), line("b", "y" * 29 + "…"), line("c", "short")]
    )
    assert listing.width == listing.budget == 82
    assert [e.truncated for e in listing.entries] == [True, True, False]


def test_uneven_lengths_share_the_room() -> None:
    skills = [mk("a", "x" * 100), mk("b", "y" * 25), mk("c", "z" * 40)]
    listing = build_listing(skills, budget_chars=17 + 90)
    # cap 32: b (25) fits whole, a and c share the other 65 columns
    assert listing.text() == "\n".join(
        [line("a", "x" * 31 + "…"), line("b", "y" * 25), line("c", "z" * 31 + "…")]
    )
    assert listing.width == 17 + 25 + 32 + 32


def test_bundled_skills_are_never_cut() -> None:
    skills = [mk("help", "h" * 60, source=Source.BUNDLED), mk("a", "x" * 60), mk("b", "y" * 60)]
    # names 6 + "- " x3 + newlines 2 = 14; help's ": " + 60; a and b share 50 after ": " x2
    listing = build_listing(skills, budget_chars=14 + 62 + 4 + 50)
    assert listing.text() == "\n".join(
        [line("help", "h" * 60), line("a", "x" * 24 + "…"), line("b", "y" * 24 + "…")]
    )
    assert listing.entries[0] == ListingEntry("help", "h" * 60, None, True, False)
    assert listing.width == listing.budget == 130


def test_below_twenty_columns_names_only() -> None:
    skills = [
        mk("help", "Bundled help.", source=Source.BUNDLED),
        mk("a", "x" * 60),
        mk("b", "y" * 60),
    ]
    listing = build_listing(skills, budget_chars=60)
    assert listing.text() == "- help: Bundled help.\n- a\n- b"
    assert [e.truncated for e in listing.entries] == [False, True, True]
    assert not listing.over_budget


def test_cap_of_exactly_twenty_keeps_descriptions() -> None:
    skills = [mk("a", "x" * 60), mk("b", "y" * 60)]
    listing = build_listing(skills, budget_chars=11 + 40)
    assert listing.text() == "- a: " + "x" * 19 + "…\n- b: " + "y" * 19 + "…"
    assert build_listing(skills, budget_chars=11 + 39).text() == "- a\n- b"


def test_names_that_do_not_fit_are_still_all_listed() -> None:
    listing = build_listing([mk("alpha", "A" * 30), mk("beta", "B" * 30)], budget_chars=5)
    assert listing.text() == "- alpha\n- beta"
    assert listing.over_budget
    assert listing.width == 14


def test_least_invoked_lose_their_descriptions_first() -> None:
    skills = [mk("a", "x" * 40), mk("b", "y" * 40), mk("c", "z" * 40), mk("d", "w" * 40)]
    # names 12 + newlines 3 + ": " for the described + their texts
    budget = 15 + 2 * 2 + 80
    listing = build_listing(skills, budget_chars=budget, invocations={"a": 5, "b": 0, "c": 9})
    assert listing.text() == "\n".join(
        [line("a", "x" * 40), line("b", None), line("c", "z" * 40), line("d", None)]
    )
    assert [e.truncated for e in listing.entries] == [False, True, False, True]


def test_ties_at_the_top_are_cut_evenly_not_dropped() -> None:
    skills = [mk("a", "x" * 40), mk("b", "y" * 40), mk("c", "z" * 40)]
    listing = build_listing(skills, budget_chars=11 + 4 + 60, invocations={"a": 3, "b": 3})
    # c (never invoked) goes name-only; a and b tie at the top and share 60 columns
    assert listing.text() == "\n".join(
        [line("a", "x" * 29 + "…"), line("b", "y" * 29 + "…"), line("c", None)]
    )


def test_among_equally_rare_skills_the_later_listed_go_first() -> None:
    skills = [mk("a", "x" * 30), mk("b", "y" * 30), mk("c", "z" * 30), mk("top", "t" * 30)]
    budget = 3 * 3 + 5 + 3 + 2 * 3 + 90  # everything but one description
    listing = build_listing(skills, budget_chars=budget, invocations={"top": 1})
    assert [e.description is None for e in listing.entries] == [False, False, True, False]


def test_without_invocations_nothing_is_dropped_before_the_even_cut() -> None:
    skills = [mk("a", "x" * 40), mk("b", "y" * 40)]
    with_counts = build_listing(skills, budget_chars=60, invocations={})
    assert with_counts.text() == build_listing(skills, budget_chars=60).text()
    assert with_counts.text() == "- a: " + "x" * 23 + "…\n- b: " + "y" * 23 + "…"


# --------------------------------------------------------------------------- widths


def test_display_width() -> None:
    assert display_width("abc") == 3
    assert display_width("日本語") == 6
    assert display_width("👍") == 2
    assert display_width("👨‍👩‍👧") == 2
    assert display_width("e\u0301") == 1
    assert display_width("a\x07b") == 2


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("hello world", 20, "hello world"),
        ("hello world", 11, "hello world"),
        ("hello world", 10, "hello wor…"),
        ("hello world", 7, "hello…"),
        ("hello", 1, "…"),
        ("hello", 0, ""),
        ("日本語テキスト", 7, "日本語…"),
        ("日本語テキスト", 6, "日本…"),
        ("ab👨‍👩‍👧cd", 5, "ab👨‍👩‍👧…"),
        ("ab👨‍👩‍👧cd", 4, "ab…"),
        ("a" + "\u0301" * 100 + "bcdefgh", 5, "a" + "\u0301" * 100 + "bcd…"),
        ("日本語" * 200, 9, "日本語日…"),
    ],
)
def test_truncate_to_width(text: str, width: int, expected: str) -> None:
    result = truncate_to_width(text, width)
    assert result == expected
    assert display_width(result) <= max(width, 0)


def test_cjk_descriptions_count_double() -> None:
    skills = [mk("a", "漢" * 30), mk("b", "字" * 30)]
    listing = build_listing(skills, budget_chars=11 + 60)
    assert listing.text() == "- a: " + "漢" * 14 + "…\n- b: " + "字" * 14 + "…"
    assert listing.width == measured(listing) == 11 + 29 + 29
    fits = build_listing(skills, budget_chars=11 + 120)
    assert not any(e.truncated for e in fits.entries)
    assert build_listing(skills, budget_chars=11 + 119).entries[0].truncated


# --------------------------------------------------------------------------- XML


def test_xml_format_is_escaped() -> None:
    listing = build_listing(
        [
            mk("pdf", 'Read <PDF> & "forms".', path=Path("/skills/pdf/SKILL.md")),
            mk("quiet", "Hidden."),
            mk("inline", "No path."),
        ],
        overrides={"quiet": "name-only"},
    )
    assert listing.xml() == (
        "<available_skills>\n"
        "  <skill>\n"
        "    <name>pdf</name>\n"
        '    <description>Read &lt;PDF&gt; &amp; "forms".</description>\n'
        "    <location>/skills/pdf/SKILL.md</location>\n"
        "  </skill>\n"
        "  <skill>\n"
        "    <name>quiet</name>\n"
        "  </skill>\n"
        "  <skill>\n"
        "    <name>inline</name>\n"
        "    <description>No path.</description>\n"
        "  </skill>\n"
        "</available_skills>"
    )
    assert listing.render("xml") == listing.xml()
    assert listing.render("text") == listing.text()


def test_unknown_format() -> None:
    with pytest.raises(ConfigurationError, match="unknown listing format 'json'"):
        Listing((), 0, 0).render("json")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- edge cases


def test_every_kind_of_whitespace_collapses_in_ascii_too() -> None:
    # vertical tab, form feed and the ASCII separators are whitespace as much as "\n"
    listing = build_listing([mk("a", "one\x0btwo\x0cthree\x1cfour  five "), mk("b", "  lead")])
    assert listing.text() == "- a: one two three four five\n- b: lead"
    assert listing.width == measured(listing)


def test_control_characters_take_no_column() -> None:
    skills = [mk("a", "bell\x07" + "x" * 40), mk("b", "y" * 41)]
    listing = build_listing(skills, budget_chars=11 + 50)
    assert listing.text() == "- a: bell\x07" + "x" * 19 + "…\n- b: " + "y" * 24 + "…"
    assert listing.width == measured(listing) == 11 + 24 + 25


def part_by_part(listing: Listing) -> int:
    """The width with each name and each description measured on its own."""
    parts = [e.name for e in listing.entries]
    parts += [e.description for e in listing.entries if e.description is not None]
    separators = 3 * len(listing.entries) - 1 + 2 * (len(parts) - len(listing.entries))
    return sum(map(display_width, parts)) + separators


def test_escape_sequences_are_measured_one_text_at_a_time() -> None:
    # names and texts are measured apart: a sequence split across two of them (measured
    # joined, "\x1b[" + "31m" is a zero-width colour code) counts its printable half
    assert display_width("x\x1b[31mz") == 2 != display_width("x\x1b[") + display_width("31mz")
    skills = [mk("x\x1b[", "p\x1b[31" + "m" * 40), mk("31mz", "q" * 41)]
    full = build_listing(skills, budget_chars=10**6)
    # names 1 + 4, "- " x2 + ": " x2 + newline 9, texts 40 (the colour code takes none) + 41
    assert full.width == part_by_part(full) == 5 + 9 + 40 + 41
    cut = build_listing(skills, budget_chars=full.width - 10)
    assert [e.truncated for e in cut.entries] == [True, True]
    assert cut.width == part_by_part(cut) <= cut.budget


def test_names_only_when_names_and_bundled_texts_fill_the_budget() -> None:
    skills = [
        mk("help", "Bundled help.", source=Source.BUNDLED),
        mk("a", "x" * 60),
        mk("quiet", "Q."),
        mk("b", "y" * 60),
    ]
    # names 11 + "- " x4 + newlines 3 = 22; help's ": Bundled help." = 15: 37 in all; with
    # less than 20 columns more, "a" (the most invoked) cannot show a description either
    for budget in (0, 36, 37, 38, 39, 37 + 2 + 19):
        listing = build_listing(
            skills, budget_chars=budget, invocations={"a": 3}, overrides={"quiet": "name-only"}
        )
        assert listing.text() == "- help: Bundled help.\n- a\n- quiet\n- b"
        assert [e.truncated for e in listing.entries] == [False, True, False, True]
        assert listing.width == 37
        assert listing.over_budget is (budget < 37)
    wider = build_listing(
        skills, budget_chars=37 + 2 + 20, invocations={"a": 3}, overrides={"quiet": "name-only"}
    )
    assert wider.text() == "- help: Bundled help.\n- a: " + "x" * 19 + "…\n- quiet\n- b"


def test_only_bundled_skills_overflow_with_invocation_counts() -> None:
    skills = [
        mk("one", "x" * 30, source=Source.BUNDLED),
        mk("two", "y" * 30, source=Source.BUNDLED),
    ]
    listing = build_listing(skills, budget_chars=10, invocations={"one": 2})
    assert listing.text() == "- one: " + "x" * 30 + "\n- two: " + "y" * 30
    assert listing.over_budget
    assert listing.width == measured(listing)


def test_xml_escapes_values_holding_nul() -> None:
    listing = build_listing([mk("a", "x\x00<y>"), mk("b&", "z")])
    assert listing.xml() == (
        "<available_skills>\n"
        "  <skill>\n    <name>a</name>\n    <description>x\x00&lt;y&gt;</description>\n  </skill>\n"
        "  <skill>\n    <name>b&amp;</name>\n    <description>z</description>\n  </skill>\n"
        "</available_skills>"
    )


def test_memos_change_nothing() -> None:
    from skilld.skills import listing as listing_module

    skills = [mk(f"s{i}", ("日本語 " * i) + "x" * 30, when_to_use="w" * i) for i in range(12)]
    first = build_listing(skills, budget_chars=300)
    again = build_listing(skills, budget_chars=300)
    listing_module._clear_memos()
    cold = build_listing(skills, budget_chars=300)
    assert first == again == cold
    assert any(e.truncated for e in cold.entries)
    assert cold.width == measured(cold)
    # one memo per entry cap, a bounded number of them
    capped = [build_listing(skills, max_entry_chars=cap) for cap in range(1, 30)]
    listing_module._clear_memos()
    assert capped == [build_listing(skills, max_entry_chars=cap) for cap in range(1, 30)]
    assert len(listing_module._memos) <= 8


def test_columns_are_reused_only_for_the_very_same_skills() -> None:
    first = [mk("a", "First."), mk("b", "x" * 60)]
    second = [mk("a", "Second."), mk("b", "x" * 60)]
    assert first != second  # equal names and paths, other descriptions
    assert build_listing(first).text() == "- a: First.\n- b: " + "x" * 60
    assert build_listing(second).text() == "- a: Second.\n- b: " + "x" * 60
    # the same objects under other budgets, caps and overrides
    assert build_listing(second, budget_chars=20).text() == "- a\n- b"
    cut = build_listing(second, budget_chars=40).text()
    assert cut == "- a: Second.\n- b: " + "x" * 21 + "…"
    assert build_listing(second, max_entry_chars=4).text() == "- a: Sec…\n- b: xxx…"
    assert build_listing(second, overrides={"a": "name-only"}).text() == "- a\n- b: " + "x" * 60
    assert build_listing(second).text() == "- a: Second.\n- b: " + "x" * 60
    assert build_listing(iter(second)).text() == "- a: Second.\n- b: " + "x" * 60


def test_a_listing_made_from_its_entries_is_the_same_listing() -> None:
    import copy
    import dataclasses
    import pickle

    skills = [
        mk("pdf", "Read <PDF> & forms.", path=Path("/skills/pdf/SKILL.md")),
        mk("quiet", "Hidden."),
        mk("long", "x" * 80, when_to_use="when asked"),
        mk("help", "Bundled.", source=Source.BUNDLED),
    ]
    built = build_listing(skills, budget_chars=70, overrides={"quiet": "name-only"})
    made = Listing(built.entries, built.budget, built.width)
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    assert made.text() == built.text()
    assert made.xml() == built.xml()
    assert built.entries[2].truncated  # a cut listing: entries made from its columns
    assert built.entries[1].description is None
    assert not built.entries[3].truncated
    assert pickle.loads(pickle.dumps(built)) == built == copy.deepcopy(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.width = 0  # type: ignore[misc]


def test_an_even_cut_read_from_the_starts_of_texts_is_the_one_measured_whole() -> None:
    from skilld.skills import listing as listing_module

    words = ["review", "deploy", "test", "lint", "the", "user", "asks", "for", "kubernetes"]
    odd = ["  ", "\n", "\x07", "\x1b[31m", "日本語", "👍", "e\u0301", " ", "\x00"]
    skills = []
    for i in range(80):
        text = " ".join(words[(i + k) % len(words)] for k in range(6 + i % 30))
        if i % 4 == 0:  # something odd, early or late
            at = (3 + i) % len(text)
            text = text[:at] + odd[i % len(odd)] + text[at:]
        skills.append(
            mk(
                f"s{i}",
                text,
                when_to_use="when asked" if i % 3 == 0 else None,
                source=Source.BUNDLED if i % 25 == 0 else Source.PROJECT,
            )
        )
    full = build_listing(skills, budget_chars=10**9).width
    read_from_starts = 0
    for budget in range(0, full, 37):
        listing_module._clear_memos()
        first = build_listing(skills, budget_chars=budget)
        columns = listing_module._last_columns[0]
        read_from_starts += any(v is not None for v in columns.cut_by_budget.values())
        build_listing(skills, budget_chars=10**9)  # every text measured, and kept
        measured = build_listing(skills, budget_chars=budget)
        assert first == measured
        assert first.text() == measured.text()
        assert first.xml() == measured.xml()
    assert read_from_starts > 10  # the texts were not measured whole for these budgets
