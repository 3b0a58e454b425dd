"""The listing's width helpers: measuring many texts at once gives the sum of each."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skilld.skills.widths import (
    ELLIPSIS,
    cut_by_clusters,
    cut_texts_width,
    cut_to_width,
    display_width,
    total_width,
)

pieces = st.sampled_from(
    [
        *"ab -.",
        "\x07",
        "\x1b",
        "\x1b[",
        "31m",
        "\x1b[31m",
        "\r",
        "\t",
        "日",
        "👍",
        "e\u0301",
        "\u200d",
    ]
)
texts = st.lists(st.lists(pieces, max_size=6).map("".join), max_size=12)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_total_width_is_the_sum_of_each(given: list[str]) -> None:
    assert total_width(given) == sum(map(display_width, given))


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(1, 10))
def test_cut_texts_width_is_the_sum_of_each(given: list[str], width: int) -> None:
    cuts = [cut_to_width(text + "xxxxxxxxxxxxxxx", width) for text in given]
    assert all(text.endswith(ELLIPSIS) for text in cuts)
    assert cut_texts_width(cuts) == sum(map(display_width, cuts))


def test_an_escape_sequence_split_across_texts_is_not_joined() -> None:
    assert display_width("\x1b[31m") == 0
    assert total_width(["\x1b[", "31m"]) == display_width("\x1b[") + display_width("31m") == 3
    assert cut_texts_width(["\x1b[…", "31m…"]) == 5


wide = st.sampled_from(
    [
        *"ab -.,",
        *"\x07\t\r\n",
        "日",
        "語",
        "한",
        "👍",
        "❤",
        "\ufe0f",
        "\U0001f3fb",
        "e\u0301",
        "\u0301",
        "\u200d",
        "\u200b",
        "👨\u200d👩\u200d👧",
        "🇯",
        "🇵",
        "\u1100",
        "\u1161",
        "\u11a8",
        "क्ष",
        "\u0903",
        "ก",
        "\u0e33",
        "\u0600",
        "\u00a0",
        "\u3000",
        "\u2028",
        "\u00ad",
        "—",
        "1\ufe0f\u20e3",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(wide, min_size=1, max_size=60).map("".join), st.integers(1, 50))
def test_cutting_by_characters_gives_the_cluster_definition(text: str, width: int) -> None:
    if display_width(text) <= width or text.isascii():
        return
    window = text[: 2 * width + 16]
    if display_width(window) <= width - 1:
        window = text
    assert cut_to_width(text, width) == cut_by_clusters(window, width - 1)


def test_a_prepend_character_joins_the_cluster_after_it() -> None:
    # "\u0600" (Prepend) + "." + "\u0e33" is one cluster: a cut within it keeps none of
    # it, though a backward look from "\u0e33" alone would start the cluster at "."
    text = "日" * 5 + "\u0600.\u0e33" + "x" * 20
    assert cut_to_width(text, 13) == "日" * 5 + ELLIPSIS == cut_by_clusters(text, 12)
    assert cut_to_width(text, 14) == "日" * 5 + "\u0600.\u0e33" + ELLIPSIS


def test_a_text_presentation_selector_is_cut_as_before() -> None:
    # "\ufe0e" can make the emoji before it narrower, so prefix widths may shrink: such
    # text is bisected from the start, as it always was
    text = "⌚\ufe0e" * 3 + "日" * 10
    assert display_width("⌚") == 2 > display_width("⌚\ufe0e") == 1
    assert cut_to_width(text, 8) == "⌚\ufe0e" * 3 + "日" * 2 + ELLIPSIS
