"""The skill catalogue a system prompt carries, within a budget.

Which skills: every active skill the model may invoke, in the order given (the
registry's precedence order): ``disable-model-invocation`` skills are left out, and so
are held-back conditional skills (use :func:`listing_for_registry`, which asks the
registry for its active skills). Per-skill overrides (Claude Code's ``skillOverrides``)
change that: ``on`` lists the skill as usual, ``name-only`` lists its name without a
description, ``user-invocable-only`` and ``off`` leave it out.

How much: the budget is a fraction of the context window (default 1%, 4 characters per
token; 8,000 characters when no window is known, as in Claude Code) or a fixed number of
characters. Each entry's text is its description, then `` - `` and ``when_to_use`` when
there is one, on one line (runs of whitespace become one space), capped at 1,536
characters with ``…``. Lines are ``- name: text`` joined by newlines, and the budget counts
their displayed width (CJK and emoji count two columns, measured with ``wcwidth``) plus
the newlines. When everything fits nothing is cut. Otherwise, bundled skills keep their
full text and the others give way:

1. with an invocation count per skill, the descriptions of the least-invoked skills go
   first (fewest invocations first, the later-listed first among equals), one by one,
   until the rest fits or only the most-invoked skills still have descriptions;
2. the descriptions left are cut evenly: one width cap for all, the largest that fits,
   and descriptions shorter than the cap stay whole (so no column is wasted);
3. when that cap falls below 20 columns, every non-bundled skill shows its name only.

No skill is ever dropped for lack of room: a listing that cannot fit even as names says
so (:attr:`Listing.over_budget`).

Two formats: Claude Code's text lines, and the agentskills.io XML
(``<available_skills>`` with ``<name>``, ``<description>`` and ``<location>`` per skill,
escaped), which carries the same descriptions as the text form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple
from xml.sax.saxutils import escape

import wcwidth

from skilld.exceptions import ConfigurationError
from skilld.skills.model import Skill, Source

if TYPE_CHECKING:
    from skilld.skills.registry import SkillRegistry

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_CHAR_BUDGET",
    "DEFAULT_CONTEXT_FRACTION",
    "LISTING_OVERRIDES",
    "MAX_ENTRY_CHARS",
    "MIN_DESCRIPTION_WIDTH",
    "Listing",
    "ListingEntry",
    "ListingFormat",
    "ListingOverride",
    "build_listing",
    "char_budget",
    "display_width",
    "listed_skills",
    "listing_for_registry",
    "truncate_to_width",
]

DEFAULT_CONTEXT_FRACTION = 0.01
"""Share of the context window the listing may use."""
CHARS_PER_TOKEN = 4
DEFAULT_CHAR_BUDGET = 8_000
"""Budget when no context window is known (1% of 200k tokens, 4 characters each)."""
MAX_ENTRY_CHARS = 1_536
"""Cap on one entry's description plus ``when_to_use``."""
MIN_DESCRIPTION_WIDTH = 20
"""A description cut below this many columns is dropped: the name alone is clearer."""
ELLIPSIS = "…"

ListingOverride = Literal["on", "name-only", "user-invocable-only", "off"]
LISTING_OVERRIDES: tuple[ListingOverride, ...] = ("on", "name-only", "user-invocable-only", "off")
ListingFormat = Literal["text", "xml"]

_WHITESPACE = re.compile(r"\s+")


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
    return _cut(text, width)


def _cut(text: str, width: int) -> str:
    """``text`` (known to be wider than ``width``) cut to ``width`` columns with ``…``."""
    if width <= 0:
        return ""
    if text.isascii():  # O(1) in CPython; one column per character at most
        return text[: width - 1].rstrip() + ELLIPSIS
    # Largest prefix of whole grapheme clusters within width - 1 columns, found by
    # bisection (prefix widths never shrink); only a window as wide as needed is split
    # (2 * width characters cover width columns unless zero-width marks abound).
    limit = width - 1
    window = text[: 2 * width + 16]
    if display_width(window) <= limit:
        window = text
    clusters = list(wcwidth.iter_graphemes(window))
    low, high = 0, len(clusters)
    while low < high:
        middle = (low + high + 1) // 2
        if display_width("".join(clusters[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    return "".join(clusters[:low]).rstrip() + ELLIPSIS


def char_budget(
    *,
    context_window: int | None = None,
    budget_chars: int | None = None,
    fraction: float = DEFAULT_CONTEXT_FRACTION,
) -> int:
    """The listing's budget in characters (columns): fixed, or a share of the window."""
    if budget_chars is not None and context_window is not None:
        raise ConfigurationError("give a context window or a character budget, not both")
    if budget_chars is not None:
        if budget_chars < 0:
            raise ConfigurationError(f"the character budget must be >= 0, not {budget_chars}")
        return budget_chars
    if context_window is not None:
        if context_window <= 0:
            raise ConfigurationError(f"the context window must be > 0, not {context_window}")
        if not 0 < fraction <= 1:
            raise ConfigurationError(f"the budget fraction must be in (0, 1], not {fraction}")
        return int(context_window * CHARS_PER_TOKEN * fraction)
    return DEFAULT_CHAR_BUDGET


def listed_skills(
    skills: Iterable[Skill],
    *,
    overrides: Mapping[str, str] | None = None,
) -> list[tuple[Skill, bool]]:
    """The skills the model is told about, each with whether it shows its name only.

    Raises :class:`ConfigurationError` for an override that is not one of
    :data:`LISTING_OVERRIDES`.
    """
    if not overrides:
        return [(skill, False) for skill in skills if not skill.disable_model_invocation]
    for name, value in overrides.items():
        if value not in LISTING_OVERRIDES:
            raise ConfigurationError(
                f"skill override {name!r}: {value!r} is not one of {', '.join(LISTING_OVERRIDES)}"
            )
    result: list[tuple[Skill, bool]] = []
    for skill in skills:
        mode = overrides.get(skill.name, "on")
        if mode in ("off", "user-invocable-only") or skill.disable_model_invocation:
            continue
        result.append((skill, mode == "name-only"))
    return result


@lru_cache(maxsize=1 << 16)
def _entry(
    description: str, when_to_use: str | None, max_chars: int = MAX_ENTRY_CHARS
) -> tuple[str, int]:
    """An entry's one-line text and its width, memoized: a listing is rebuilt every turn
    from the same skills, and the strings' hashes are cached by Python already."""
    text = f"{description} - {when_to_use}" if when_to_use else description
    # isascii is O(1); the substring tests are memchr-fast; the regex runs only when needed
    if not text.isascii() or "  " in text or "\n" in text or "\t" in text or "\r" in text:
        text = _WHITESPACE.sub(" ", text)
    text = text.strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1] + ELLIPSIS
    return text, display_width(text)


class ListingEntry(NamedTuple):
    """One listed skill. ``description`` is None when the skill shows its name only."""

    name: str
    description: str | None
    location: str | None = None
    bundled: bool = False
    truncated: bool = False

    @property
    def line(self) -> str:
        """The entry as Claude Code writes it: ``- name: description`` or ``- name``."""
        if self.description is None:
            return f"- {self.name}"
        return f"- {self.name}: {self.description}"


@dataclass(frozen=True, slots=True)
class Listing:
    """The catalogue: its entries, the budget it was built for, and the width it takes."""

    entries: tuple[ListingEntry, ...]
    budget: int
    width: int

    @property
    def over_budget(self) -> bool:
        """True when even names alone did not fit (no skill is ever left out for room)."""
        return self.width > self.budget

    def text(self) -> str:
        """Claude Code's form: one ``- name: description`` line per skill."""
        return "\n".join(entry.line for entry in self.entries)

    def xml(self) -> str:
        """The agentskills.io form: ``<available_skills>`` with one ``<skill>`` each."""
        parts = ["<available_skills>"]
        for entry in self.entries:
            parts.append("  <skill>")
            parts.append(f"    <name>{escape(entry.name)}</name>")
            if entry.description is not None:
                parts.append(f"    <description>{escape(entry.description)}</description>")
            if entry.location is not None:
                parts.append(f"    <location>{escape(entry.location)}</location>")
            parts.append("  </skill>")
        parts.append("</available_skills>")
        return "\n".join(parts)

    def render(self, format: ListingFormat = "text") -> str:
        if format == "text":
            return self.text()
        if format == "xml":
            return self.xml()
        raise ConfigurationError(f"unknown listing format {format!r}: use text or xml")


def build_listing(
    skills: Iterable[Skill],
    *,
    context_window: int | None = None,
    budget_chars: int | None = None,
    fraction: float = DEFAULT_CONTEXT_FRACTION,
    overrides: Mapping[str, str] | None = None,
    invocations: Mapping[str, int] | None = None,
    max_entry_chars: int = MAX_ENTRY_CHARS,
) -> Listing:
    """Build the catalogue of ``skills`` within the budget (the rules in the module doc).

    Args:
        skills: active skills in precedence order (see :func:`listing_for_registry`).
        context_window: the model's context window in tokens; the budget is
            ``fraction`` of it at 4 characters per token.
        budget_chars: a fixed budget in characters instead.
        overrides: per-skill listing overrides (``skillOverrides``).
        invocations: how often each skill was invoked; the least-invoked lose their
            descriptions first when the listing overflows.
        max_entry_chars: the cap on one entry's text (Claude Code's
            ``skillListingMaxDescChars``).
    """
    if max_entry_chars < 1:
        raise ConfigurationError(f"the entry cap must be >= 1, not {max_entry_chars}")
    budget = char_budget(
        context_window=context_window, budget_chars=budget_chars, fraction=fraction
    )
    chosen = listed_skills(skills, overrides=overrides)
    names = [skill.name for skill, _ in chosen]
    entries_info = [
        (None, 0) if name_only else _entry(skill.description, skill.when_to_use, max_entry_chars)
        for skill, name_only in chosen
    ]
    texts: list[str | None] = [text for text, _ in entries_info]
    widths = [width for _, width in entries_info]
    # "- " + name per line, ": " + text when there is one, newlines between lines
    fixed = sum(map(display_width, names)) + 3 * len(names) - (1 if names else 0)
    full = fixed + sum(widths) + 2 * sum(text is not None for text in texts)
    bundled = [skill.source is Source.BUNDLED for skill, _ in chosen]
    if full <= budget:
        shown, cut, width = texts, [False] * len(names), full
    else:
        shown, cut, width = _fit(budget, fixed, texts, widths, bundled, names, invocations)
    locations = [None if skill.path is None else str(skill.path) for skill, _ in chosen]
    entries = tuple(
        map(ListingEntry._make, zip(names, shown, locations, bundled, cut, strict=True))
    )
    return Listing(entries, budget, width)


def _fit(
    budget: int,
    fixed: int,
    texts: Sequence[str | None],
    widths: Sequence[int],
    bundled: Sequence[bool],
    names: Sequence[str],
    invocations: Mapping[str, int] | None,
) -> tuple[list[str | None], list[bool], int]:
    """Shorten the non-bundled descriptions until the listing fits (module doc, 1-3).

    Returns the texts shown, which were cut, and the listing's width.
    """
    shown: list[str | None] = list(texts)
    cut = [False] * len(texts)
    # Room for descriptions once names, bundled descriptions and separators are paid.
    room = budget - fixed
    described: list[int] = []
    for i, text in enumerate(texts):
        if text is None:
            continue
        if bundled[i]:
            room -= widths[i] + 2
        else:
            described.append(i)
            room -= 2  # ": "
    used = budget - room  # everything but the non-bundled descriptions
    demand = sum(widths[i] for i in described)

    if invocations and described:
        counts = {i: invocations.get(names[i], 0) for i in described}
        top = max(counts.values())
        # least-invoked first; among equals the later-listed (lower precedence) first
        order = sorted(described, key=lambda i: (counts[i], -i))
        kept = set(described)
        for i in order:
            if demand <= room or counts[i] >= top:
                break
            kept.discard(i)
            shown[i] = None
            cut[i] = True
            room += 2
            used -= 2
            demand -= widths[i]
        described = [i for i in described if i in kept]
    if demand <= room:
        return shown, cut, used + demand

    cap = _even_cap([widths[i] for i in described], room)
    if cap < MIN_DESCRIPTION_WIDTH:
        for i in described:
            shown[i] = None
            cut[i] = True
        return shown, cut, used - 2 * len(described)
    width = used
    keep = cap - 1  # characters of an ASCII text kept before the ellipsis
    for i in described:
        text_width = widths[i]
        text = texts[i]
        if text_width <= cap or text is None:
            width += text_width
            continue
        if text.isascii():  # the hot path, inlined: one column per character at most
            shorter = text[:keep].rstrip() + ELLIPSIS
            width += len(shorter) if text_width == len(text) else display_width(shorter)
        else:
            shorter = _cut(text, cap)
            width += display_width(shorter)
        shown[i] = shorter
        cut[i] = True
    return shown, cut, width


def _even_cap(widths: Sequence[int], room: int) -> int:
    """The largest cap with ``sum(min(w, cap)) <= room`` (water-filling)."""
    if room <= 0:
        return 0
    remaining = room
    ordered = sorted(widths)
    count = len(ordered)
    for index, width in enumerate(ordered):
        share = remaining // (count - index)
        if width > share:
            return share
        remaining -= width
    return ordered[-1] if ordered else 0


def listing_for_registry(
    registry: SkillRegistry,
    *,
    context_window: int | None = None,
    budget_chars: int | None = None,
    fraction: float = DEFAULT_CONTEXT_FRACTION,
    overrides: Mapping[str, str] | None = None,
    invocations: Mapping[str, int] | None = None,
    max_entry_chars: int = MAX_ENTRY_CHARS,
) -> Listing:
    """The listing of a registry's active skills (held-back conditional skills excluded)."""
    return build_listing(
        registry.skills(),
        context_window=context_window,
        budget_chars=budget_chars,
        fraction=fraction,
        overrides=overrides,
        invocations=invocations,
        max_entry_chars=max_entry_chars,
    )
