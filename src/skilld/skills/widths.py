"""Display widths: how many terminal columns text takes, and cutting text to a width.

Measured with ``wcwidth`` (CJK and emoji count two columns, controls and escape sequences
none, grapheme clusters whole). The helpers for many texts at once exist for the skill
listing, which measures thousands of descriptions per build: ASCII is measured in one
call where that gives the same sum.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import compress
from operator import not_

import wcwidth

__all__ = [
    "ELLIPSIS",
    "clear_cut_memo",
    "cut_texts_width",
    "cut_to_width",
    "display_width",
    "total_width",
    "truncate_to_width",
]

ELLIPSIS = "…"
"""What ends a cut text; one column wide."""


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: CJK and emoji count two, controls none."""
    return int(wcwidth.width(text, control_codes="ignore"))


def truncate_to_width(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, ending in ``…`` when cut.

    Never splits a wide character or a grapheme cluster (an emoji sequence stays whole
    or goes whole).
    """
    if display_width(text) <= width:
        return text
    return cut_to_width(text, width)


def cut_to_width(text: str, width: int) -> str:
    """``text`` (known to be wider than ``width``) cut to ``width`` columns with ``…``."""
    if width <= 0:
        return ""
    if text.isascii():  # O(1) in CPython; one column per character at most
        return text[: width - 1].rstrip() + ELLIPSIS
    return _cut_clusters(text, width)


@lru_cache(maxsize=1 << 12)
def _cut_clusters(text: str, width: int) -> str:
    """:func:`cut_to_width` for text that may hold wide characters and grapheme clusters,
    memoized: an overflowing listing cuts the same descriptions to the same width turn
    after turn."""
    # Only a window as wide as needed is looked at (2 * width characters cover width
    # columns unless zero-width marks abound); the result is the same for any window
    # wider than the limit, since a prefix splits into the same clusters as the text.
    limit = width - 1
    window = text[: 2 * width + 16]
    if display_width(window) <= limit:
        window = text
    if _ESCAPES.search(window):
        return cut_by_clusters(window, limit)
    # The longest prefix in characters within the limit, by bisection (splitting text
    # into clusters costs far more than measuring it), then back to the start of the
    # cluster its next character belongs to: the longest prefix of whole clusters. The
    # same as cut_by_clusters wherever prefix widths never shrink, which escape
    # sequences and the text presentation selector alone break (a property test checks
    # the rest). No character adds more than two columns, so the first limit // 2 fit:
    # the search starts there, and ends at once when the next one does not fit (as in a
    # text of wide characters).
    low, high = 0, len(window)
    if _VS15 not in window:
        low = min(limit // 2, high)
        if low < high and display_width(window[: low + 1]) > limit:
            high = low
    while low < high:
        middle = (low + high + 1) // 2
        if display_width(window[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    if low == len(window):
        end = low
    elif not _PREPEND.search(window):
        end = _cluster_start(window[: low + 1], low + 1)  # one call to C
    else:
        end = 0
        for cluster in wcwidth.iter_graphemes(window[: low + 1]):
            if end + len(cluster) > low:
                break
            end += len(cluster)
    return window[:end].rstrip() + ELLIPSIS


_VS15 = "\ufe0e"
"""The text presentation selector: it can make an emoji before it narrower."""
_cluster_start = wcwidth.grapheme_boundary_before
"""Where the grapheme cluster of a string's character before an index starts. Looking
back from that character, it takes any printable ASCII character for the start of a
cluster, which a Prepend character before it (GB9b) belies: text holding one is split
into clusters from its start instead, as iter_graphemes does."""


def _prepend_pattern() -> re.Pattern[str]:
    """What matches a character of the Prepend grapheme break class (a few Arabic,
    Syriac and Brahmic signs), from wcwidth's own table; any non-ASCII character when
    the table cannot be read."""
    try:
        from wcwidth.table_grapheme import GRAPHEME_PREPEND
    except ImportError:  # pragma: no cover - a wcwidth without the table
        return re.compile("[^\\x00-\\x7f]")
    ranges = "".join(
        f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in GRAPHEME_PREPEND
    )
    return re.compile(f"[{ranges}]")


_PREPEND = _prepend_pattern()

_ESCAPES = re.compile("[\x1b\x80-\x9f]")
"""What can start a terminal escape sequence (ESC and the C1 controls)."""


def cut_by_clusters(window: str, limit: int) -> str:
    """The longest prefix of whole grapheme clusters of ``window`` within ``limit``
    columns, with ``…``: the definition, by bisection over the clusters."""
    clusters = list(wcwidth.iter_graphemes(window))
    low, high = 0, len(clusters)
    while low < high:
        middle = (low + high + 1) // 2
        if display_width("".join(clusters[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    return "".join(clusters[:low]).rstrip() + ELLIPSIS


def total_width(texts: Sequence[str]) -> int:
    """The summed display width of ``texts``, measured in as few calls as possible.

    ASCII texts are measured joined: their widths add up (one column per printable
    character, none per control) unless an escape sequence could span two of them.
    """
    joined = "".join(texts)
    if joined.isascii() and "\x1b" not in joined:
        return display_width(joined)
    ascii_texts = list(map(str.isascii, texts))
    plain = "".join(compress(texts, ascii_texts))
    if "\x1b" in plain:
        return sum(map(display_width, texts))
    others = compress(texts, map(not_, ascii_texts))
    return display_width(plain) + sum(map(display_width, others))


def cut_texts_width(texts: Sequence[str]) -> int:
    """The summed width of cut ``texts``, each ending in the one-column ellipsis.

    An ASCII text cut is ASCII again but for its ellipsis: measured apart, the ASCII
    parts join into one measure (see :func:`total_width`).
    """
    bodies = [text[:-1] for text in texts]
    plain = list(map(str.isascii, bodies))
    joined = "".join(compress(bodies, plain))
    if "\x1b" in joined:
        return sum(map(display_width, texts))
    others = compress(texts, map(not_, plain))
    return display_width(joined) + plain.count(True) + sum(map(display_width, others))


def clear_cut_memo() -> None:
    """Forget the memoized cuts of wide text (see :func:`cut_to_width`)."""
    _cut_clusters.cache_clear()
