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

Cost: a session lists the same skills every turn, so what does not depend on the budget
is kept: each entry's one-line text and width by its raw text, and the columns of the
last list of skills (the very same objects) with its entries when everything fits or
only names do; cuts of text with wide characters are memoized too. Measuring is skipped
where it cannot matter: ASCII is one column per character, a listing whose names alone
fill the budget never reads its descriptions, and descriptions within the cap are not
cut. ``python -m bench.listing`` measures 10,000 skills.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, repeat
from operator import is_, not_, or_
from typing import TYPE_CHECKING, Literal, NamedTuple
from xml.sax.saxutils import escape

import wcwidth

from skilld.exceptions import ConfigurationError
from skilld.skills.model import Skill, Source
from skilld.skills.widths import (
    ELLIPSIS,
    clear_cut_memo,
    cut_texts_width,
    cut_to_width,
    display_width,
    total_width,
    truncate_to_width,
)

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
_BUNDLED = Source.BUNDLED

ListingOverride = Literal["on", "name-only", "user-invocable-only", "off"]
LISTING_OVERRIDES: tuple[ListingOverride, ...] = ("on", "name-only", "user-invocable-only", "off")
ListingFormat = Literal["text", "xml"]


def _clear_memos() -> None:
    """Forget every memoized entry text, cut and column (what the first listing of a
    process pays; the benchmark's cold cases)."""
    _memos.clear()
    _last_columns.clear()
    clear_cut_memo()


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
    listed, name_only = _listed(skills, overrides)
    return list(zip(listed, name_only, strict=True))


def _listed(
    skills: Iterable[Skill], overrides: Mapping[str, str] | None
) -> tuple[list[Skill], list[bool]]:
    """:func:`listed_skills` as two parallel lists: the skills, and which show names only."""
    if not overrides:
        listed = [skill for skill in skills if not skill.disable_model_invocation]
        return listed, [False] * len(listed)
    for name, value in overrides.items():
        if value not in LISTING_OVERRIDES:
            raise ConfigurationError(
                f"skill override {name!r}: {value!r} is not one of {', '.join(LISTING_OVERRIDES)}"
            )
    listed = []
    name_only = []
    for skill in skills:
        mode = overrides.get(skill.name, "on")
        if mode in ("off", "user-invocable-only") or skill.disable_model_invocation:
            continue
        listed.append(skill)
        name_only.append(mode == "name-only")
    return listed, name_only


def _raw_texts(skills: Iterable[Skill]) -> list[str]:
    """Each skill's entry text as written: its description, then `` - `` and
    ``when_to_use`` when there is one."""
    return [
        skill.description if not skill.when_to_use else f"{skill.description} - {skill.when_to_use}"
        for skill in skills
    ]


def _one_line(raw: str, max_chars: int) -> tuple[str, int]:
    """An entry's text on one line, capped at ``max_chars``, and its width."""
    if raw.isascii():
        # ASCII without control characters is one column per character, so its width is
        # its length, and its only whitespace is the space: one pass of wcwidth (C) tells
        # both, and such a text is already one line unless spaces are doubled or at an end.
        width = _WIDTH(raw)
        if width == len(raw) and "  " not in raw and raw[:1] != " " and raw[-1:] != " ":
            if width <= max_chars:
                return raw, width
            return raw[: max_chars - 1] + ELLIPSIS, max_chars
        text = " ".join(raw.split())  # runs of whitespace become one space, ends stripped
    elif raw.isprintable() and "  " not in raw and raw[:1] != " " and raw[-1:] != " ":
        text = raw  # printable: no whitespace but the space (every other is Zs, Zl, Zp or Cc)
    else:
        text = " ".join(raw.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + ELLIPSIS
    return text, display_width(text)


_MEMO_LIMIT = 1 << 16
_WIDTH = partial(wcwidth.width, control_codes="ignore")  # display_width without a frame
_memos: dict[int, tuple[dict[str, str], dict[str, int]]] = {}
"""Per entry cap: each raw entry text's one-line text, and its width. A listing is
rebuilt every turn from the same skills; the raw texts are mostly the skills' own
description strings, whose hashes Python keeps, so a lookup costs no hashing. Two plain
dicts rather than one of pairs: nothing but strings is allocated, so building a large
listing for the first time does not wake the garbage collector over and over."""


def _one_lines(raws: Sequence[str], max_chars: int) -> tuple[list[str], list[int]]:
    """:func:`_one_line` of each raw text, memoized (:data:`_memos`)."""
    memo = _memos.get(max_chars)
    if memo is None or len(memo[0]) > _MEMO_LIMIT:
        if len(_memos) >= 8:  # many caps in one process: keep memory bounded
            _memos.clear()
        memo = _memos[max_chars] = ({}, {})
    known_texts, known_widths = memo
    if known_texts:
        texts: list[str | None] = list(map(known_texts.get, raws))
        if None not in texts:
            return texts, list(map(known_widths.__getitem__, raws))  # type: ignore[return-value]
        misses = {raw for raw, text in zip(raws, texts, strict=True) if text is None}
    else:
        misses = set(raws)
    for raw in misses:
        # _one_line's common case inlined: a first listing of thousands of skills
        # feels a Python call per entry
        if raw.isascii():
            width = _WIDTH(raw)
            if (
                width == len(raw) <= max_chars
                and "  " not in raw
                and raw[:1] != " "
                and raw[-1:] != " "
            ):
                known_texts[raw] = raw
                known_widths[raw] = width
                continue
        known_texts[raw], known_widths[raw] = _one_line(raw, max_chars)
    return list(map(known_texts.__getitem__, raws)), list(map(known_widths.__getitem__, raws))


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
        return "\n".join(
            [
                f"- {name}" if description is None else f"- {name}: {description}"
                for name, description, _, _, _ in self.entries
            ]
        )

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
    columns = _columns(skills, overrides)
    if columns.any_yielding and _no_room_for_descriptions(
        columns.listed, columns.name_only, columns.bundled, budget - columns.fixed, max_entry_chars
    ):
        # names only for all but bundled skills, whatever their texts: never read them
        entries, width = columns.names_only(max_entry_chars)
        return Listing(entries, budget, width)
    texts, widths, full = columns.texts(max_entry_chars)
    if full <= budget:
        return Listing(columns.whole(max_entry_chars), budget, full)
    shown, cut, change = _fit(
        budget - full, texts, widths, columns.yielding, columns.names, invocations
    )
    return Listing(columns.entries(shown, cut), budget, full + change)


@dataclass(eq=False, slots=True)
class _Columns:
    """What a list of skills brings to any listing of it, whatever the budget.

    The last one is kept (:func:`_columns`): a session lists the same skills every turn,
    and names, locations, entry texts and widths do not change between turns.
    """

    given: tuple[Skill, ...]
    overrides: dict[str, str] | None
    listed: list[Skill]
    name_only: list[bool]
    names: list[str]
    bundled: list[bool]
    yielding: list[bool]  # the skills whose descriptions give way on overflow
    any_yielding: bool
    locations: list[str | None]
    fixed: int  # "- " + name per line, newlines between lines
    by_cap: dict[int, tuple[list[str | None], list[int], int]] = field(default_factory=dict)
    whole_by_cap: dict[int, tuple[ListingEntry, ...]] = field(default_factory=dict)
    names_only_by_cap: dict[int, tuple[tuple[ListingEntry, ...], int]] = field(default_factory=dict)

    def texts(self, max_chars: int) -> tuple[list[str | None], list[int], int]:
        """Each entry's text (None: name only), its width, and the listing's full width."""
        found = self.by_cap.get(max_chars)
        if found is not None:
            return found
        if any(self.name_only):  # their texts are never read
            described = list(compress(self.listed, map(not_, self.name_only)))
            found_texts, found_widths = _one_lines(_raw_texts(described), max_chars)
            next_text, next_width = iter(found_texts).__next__, iter(found_widths).__next__
            texts: list[str | None] = [None if hidden else next_text() for hidden in self.name_only]
            widths = [0 if hidden else next_width() for hidden in self.name_only]
        else:
            texts, widths = _one_lines(_raw_texts(self.listed), max_chars)  # type: ignore[assignment]
        full = self.fixed + sum(widths) + 2 * (len(texts) - self.name_only.count(True))
        if len(self.by_cap) >= 8:
            self.by_cap.clear()
        found = self.by_cap[max_chars] = (texts, widths, full)
        return found

    def entries(self, shown: Sequence[str | None], cut: Sequence[bool]) -> tuple[ListingEntry, ...]:
        """The entries showing ``shown`` (``cut`` says which were cut for the budget)."""
        # tuple.__new__ straight from C: the NamedTuple's own constructor is Python code
        return tuple(
            map(
                tuple.__new__,
                repeat(ListingEntry),
                zip(self.names, shown, self.locations, self.bundled, cut, strict=True),
            )
        )

    def whole(self, max_chars: int) -> tuple[ListingEntry, ...]:
        """The entries when everything fits (immutable, so one tuple serves every build)."""
        entries = self.whole_by_cap.get(max_chars)
        if entries is None:
            texts = self.texts(max_chars)[0]
            entries = self.whole_by_cap[max_chars] = self.entries(texts, [False] * len(texts))
        return entries

    def names_only(self, max_chars: int) -> tuple[tuple[ListingEntry, ...], int]:
        """The entries, and their width, with names only but for bundled skills."""
        found = self.names_only_by_cap.get(max_chars)
        if found is None:
            shown = _bundled_texts(self.listed, self.name_only, self.bundled, max_chars)
            described = len(shown) - shown.count(None)
            width = self.fixed + total_width(list(filter(None, shown))) + 2 * described
            found = self.names_only_by_cap[max_chars] = (self.entries(shown, self.yielding), width)
        return found


_last_columns: list[_Columns] = []
"""The columns of the last list of skills listed (one at most)."""


def _columns(skills: Iterable[Skill], overrides: Mapping[str, str] | None) -> _Columns:
    """The :class:`_Columns` of ``skills``: the last ones when the skills (the very same
    objects, in the same order: a :class:`Skill` is frozen) and the overrides are."""
    given = tuple(skills)
    wanted = dict(overrides) if overrides else None
    for last in _last_columns:
        # identity, not ==: Skill.__eq__ compares some fields only, and in Python
        if (
            len(last.given) == len(given)
            and all(map(is_, last.given, given))
            and last.overrides == wanted
        ):
            return last
    listed, name_only = _listed(given, overrides)
    names = [skill.name for skill in listed]
    bundled = [skill.source is _BUNDLED for skill in listed]
    yielding = list(map(not_, map(or_, bundled, name_only)))
    columns = _Columns(
        given,
        wanted,
        listed,
        name_only,
        names,
        bundled,
        yielding,
        any(yielding),
        [None if skill.path is None else str(skill.path) for skill in listed],
        total_width(names) + 3 * len(names) - (1 if names else 0),
    )
    _last_columns[:] = [columns]
    return columns


def _no_room_for_descriptions(
    listed: Sequence[Skill],
    name_only: Sequence[bool],
    bundled: Sequence[bool],
    room: int,
    max_chars: int,
) -> bool:
    """Whether the ``room`` left by names is too small for any non-bundled description
    (its ": " at least) once the bundled descriptions are paid."""
    if room >= 2 + (max_chars + 2) * bundled.count(True):
        return False  # room for any bundled texts and more: no need to measure them
    shown = [
        skill
        for skill, hidden in compress(zip(listed, name_only, strict=True), bundled)
        if not hidden
    ]
    return room - sum(_one_lines(_raw_texts(shown), max_chars)[1]) - 2 * len(shown) < 2


def _bundled_texts(
    listed: Sequence[Skill], name_only: Sequence[bool], bundled: Sequence[bool], max_chars: int
) -> list[str | None]:
    """The bundled skills' texts, None for every other skill."""
    shows = [
        is_bundled and not hidden for hidden, is_bundled in zip(name_only, bundled, strict=True)
    ]
    found = iter(_one_lines(_raw_texts(compress(listed, shows)), max_chars)[0])
    return [next(found) if show else None for show in shows]


def _fit(
    excess: int,
    texts: Sequence[str | None],
    widths: Sequence[int],
    yielding: Sequence[bool],
    names: Sequence[str],
    invocations: Mapping[str, int] | None,
) -> tuple[list[str | None], list[bool], int]:
    """Shorten the ``yielding`` descriptions until the listing, ``excess`` columns over
    its budget, fits (module doc, 1-3).

    Returns the texts shown, which were cut, and the change in the listing's width.
    """
    shown: list[str | None] = list(texts)
    cut = [False] * len(texts)
    kept = list(yielding)
    demand = sum(compress(widths, kept))  # columns of the yielding descriptions
    room = demand + excess  # columns they may take (excess < 0)
    change = 0
    if invocations and any(kept):
        counts = list(map(invocations.get, names, repeat(0)))
        top = max(compress(counts, kept))
        # least-invoked first; among equals the later-listed (lower precedence) first:
        # a stable sort of the indices taken latest-first keeps equals latest-first
        latest_first = compress(range(len(kept) - 1, -1, -1), reversed(kept))
        for i in sorted(latest_first, key=counts.__getitem__):
            if demand <= room or counts[i] >= top:
                break
            shown[i] = None
            cut[i] = True
            kept[i] = False
            room += 2  # its ": " is freed
            change -= 2 + widths[i]
            demand -= widths[i]
        if demand <= room:
            return shown, cut, change

    cap = _even_cap(list(compress(widths, kept)), room)
    if cap < MIN_DESCRIPTION_WIDTH:
        shown = [None if gone else text for text, gone in zip(shown, kept, strict=True)]
        cut = list(map(or_, cut, kept))
        return shown, cut, change - demand - 2 * kept.count(True)
    keep = cap - 1  # characters of an ASCII text kept before the ellipsis
    long = [wide > cap and gives for wide, gives in zip(widths, kept, strict=True)]
    shown = [
        (  # the hot path inlined: ASCII takes one column per character at most
            (text[:keep].rstrip() + ELLIPSIS if text.isascii() else cut_to_width(text, cap))
            if over and text is not None
            else text
        )
        for text, over in zip(shown, long, strict=True)
    ]
    change += cut_texts_width(list(compress(shown, long))) - sum(compress(widths, long))  # type: ignore[arg-type]
    return shown, list(map(or_, cut, long)), change


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
