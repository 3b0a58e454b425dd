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
is kept: the columns of the last list of skills (the very same objects: names, entry
texts and widths), each entry text's width and one-line form by its raw text (indexed
when another list of skills needs them), and cuts of text with wide characters. A
listing keeps the columns it was built from and makes its entries on first use; both
forms are joined straight from the columns, with no Python step per skill. A first
listing reads every description once: whether a text is already one line and one column
per character is checked from C over a few hundred texts joined at a time, and only the
texts flagged take a Python step of their own. Measuring is skipped where it cannot
matter: plain ASCII is one column per character, a listing whose names alone fill the
budget never reads its descriptions, one whose descriptions are all wider than their
even share of the room reads only their first characters (the share does not depend on
their widths, and they are all cut to it), and descriptions within the cap are not cut.
``python -m bench.listing`` measures 10,000 skills.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass, field
from functools import partial
from itertools import accumulate, chain, compress, repeat
from operator import and_, ge, getitem, gt, is_, not_, or_
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar, cast
from xml.sax.saxutils import escape

import wcwidth

from skilld.exceptions import ConfigurationError
from skilld.skills.model import Skill, Source
from skilld.skills.widths import (
    ELLIPSIS,
    clear_cut_memo,
    cut_to_width,
    display_width,
    total_width,
    truncate_to_width,
)

if TYPE_CHECKING:
    from pathlib import Path

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
_T = TypeVar("_T")


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


@dataclass(eq=False, slots=True)
class _Memo:
    """The entry texts measured under one entry cap: each raw text's width, and its
    one-line text where that is not the raw text itself (a few only: descriptions are
    mostly one line already). Plain dicts of strings and integers: nothing the garbage
    collector tracks is allocated, so a large first listing does not wake it over and
    over.

    What a build measures is indexed by the next build that needs it, not by the build
    itself: the next build of the same skill objects finds its columns kept and never
    asks, and indexing ten thousand texts (hashing those joined with ``when_to_use``,
    made anew each build) would be a tenth of a first build's cost. A build of other
    skill objects (a registry reloaded) pays it instead, and then finds every text
    whose raw text it has seen.
    """

    widths: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    unindexed: list[tuple[Sequence[str], list[int]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.widths) + sum(len(raws) for raws, _ in self.unindexed)

    def index(self) -> None:
        for raws, widths in self.unindexed:
            self.widths.update(zip(raws, widths, strict=True))
        self.unindexed.clear()


_memos: dict[int, _Memo] = {}
"""The :class:`_Memo` of each entry cap (a few at most)."""


def _one_lines(raws: Sequence[str], max_chars: int) -> tuple[list[str], list[int]]:
    """:func:`_one_line` of each raw text, memoized (:data:`_memos`)."""
    memo = _memos.get(max_chars)
    if memo is None or len(memo) > _MEMO_LIMIT:
        if len(_memos) >= 8:  # many caps in one process: keep memory bounded
            _memos.clear()
        memo = _memos[max_chars] = _Memo()
    if not memo:
        texts, widths, changed = _measure(raws, max_chars)
        memo.unindexed.append((raws, widths))
        memo.texts.update(changed)
        return texts, widths
    memo.index()
    known_widths, known_texts = memo.widths, memo.texts
    found: list[int | None] = list(map(known_widths.get, raws))
    if None in found:
        misses = list(dict.fromkeys(compress(raws, map(is_, found, repeat(None)))))
        widths, changed = _measure(misses, max_chars)[1:]
        known_widths.update(zip(misses, widths, strict=True))
        known_texts.update(changed)
        found = list(map(known_widths.__getitem__, raws))
    texts = list(map(known_texts.get, raws, raws)) if known_texts else list(raws)
    return texts, found  # type: ignore[return-value]


def _measure(raws: Sequence[str], max_chars: int) -> tuple[list[str], list[int], dict[str, str]]:
    """:func:`_one_line` of each raw text, the common cases checked for all texts at once;
    and the one-line texts that are not their raw text, by raw text.

    A first listing reads every description: the checks run over them joined, a chunk
    at a time (from C, a few passes over each chunk: :func:`_odd_ascii`), and only the
    texts they flag take a Python step of their own. Plain ASCII (no control character,
    no doubled or edge space) is its own one-line text, one column per character.
    Printable non-ASCII without doubled or edge spaces is one line too, and is measured
    text by text.
    """
    texts = list(raws)
    lengths = list(map(len, raws))
    widths = lengths.copy()  # plain ASCII: one column per character
    if not texts:
        return texts, widths, {}
    is_ascii = list(map(str.isascii, texts))
    if all(is_ascii):
        odd = _odd_ascii(texts)
    else:
        odd = _odd_ascii(list(compress(texts, is_ascii)))
        if odd:  # indices among the ASCII texts: among all of them
            odd = list(map(list(compress(range(len(texts)), is_ascii)).__getitem__, odd))
        others = list(compress(range(len(texts)), map(not_, is_ascii)))
        wide = list(map(texts.__getitem__, others))
        if _odd_wide(wide):
            odd += others  # each measured on its own below
        else:
            for index, width in zip(others, map(_WIDTH, wide), strict=True):
                widths[index] = width
    if max(lengths) > max_chars:  # the ones to cap too
        long = compress(range(len(texts)), map(gt, lengths, repeat(max_chars)))
        odd = list(dict.fromkeys([*odd, *long]))
    changed = {}
    for index in odd:
        raw = raws[index]
        texts[index], widths[index] = text, _ = _one_line(raw, max_chars)
        if text != raw:
            changed[raw] = text
    return texts, widths, changed


_CONTROLS = bytes([*range(0x20), 0x7F])
_SPACE, _CONTROL = 1, 2
_MARKS = bytes(
    _CONTROL if byte in _CONTROLS else _SPACE if byte == 0x20 else 0 for byte in range(256)
)
"""Each ASCII character's mark: 2 for a control, 1 for the space, 0 for any other."""
_DOUBLE_SPACE = re.compile("  ")


def _odd_ascii(texts: Sequence[str]) -> list[int]:
    """The indices of the ASCII ``texts`` that may not be plain one-liners: holding a
    control character, a doubled space or a space at an end.

    Checked from C over a few hundred texts at a time (small enough to stay in the
    processor's cache across the passes, and to reuse memory rather than map fresh
    pages), joined by spaces and between spaces: a space at an end of a text then makes
    a doubled space as much as one inside it does. One translation marks each character
    (:data:`_MARKS`); ``memchr`` finds a control; read as one integer, the marks ANDed
    with themselves shifted by a character are zero unless two spaces (or two controls)
    are neighbours: a chunk passes in four passes of C over its bytes, fewer than a
    regular expression's search for a doubled space takes alone.

    In a chunk that does not pass, the characters found flag their texts: a text owns
    the space before it (the last one also the space after), and a doubled space flags
    the owners of both its spaces (which may flag a plain text: it is then measured on
    its own, for the same result).
    """
    flagged: list[int] = []
    for first in range(0, len(texts), _CHUNK):
        chunk = texts[first : first + _CHUNK]
        joined = " ".join(["", *chunk, ""])
        marks = joined.encode("ascii").translate(_MARKS)
        at = marks.find(_CONTROL)
        spaces = int.from_bytes(marks, "little")
        if at < 0 and not spaces & (spaces >> 8):
            continue
        # ends[i]: the first position past what text i owns (its space, then itself)
        ends = list(accumulate(len(text) + 1 for text in chunk))
        ends[-1] += 1  # the closing space
        while at >= 0:
            index = bisect_right(ends, at)
            flagged.append(first + index)
            at = marks.find(_CONTROL, ends[index])  # on from the next text
        found = _DOUBLE_SPACE.search(joined)
        while found is not None:
            start = found.start()
            flagged.append(first + bisect_right(ends, start))
            index = bisect_right(ends, start + 1)
            flagged.append(first + index)
            found = _DOUBLE_SPACE.search(joined, ends[index])
    return sorted(set(flagged))


_CHUNK = 128


def _odd_wide(texts: Sequence[str]) -> bool:
    """Whether any of the non-ASCII ``texts`` may not be one line already: holding a
    character that is not printable (every whitespace but the space is not), a doubled
    space or a space at an end (joined between spaces, as in :func:`_odd_ascii`)."""
    for first in range(0, len(texts), _CHUNK):
        joined = " ".join(["", *texts[first : first + _CHUNK], ""])
        if not joined.isprintable() or "  " in joined:
            return True
    return False


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


class Listing:
    """The catalogue: its entries, the budget it was built for, and the width it takes.

    Immutable, compared and hashed by its entries, budget and width. A listing built by
    :func:`build_listing` keeps the columns it was made from (names, texts shown, which
    were cut) and makes its :attr:`entries` on first use: the prompt needs only the
    rendered text, which is joined straight from the columns, and ten thousand entry
    tuples are most of what a build would allocate (and wake the garbage collector for).
    """

    __slots__ = ("_entries", "_source", "budget", "width")
    __match_args__ = ("entries", "budget", "width")

    budget: int
    width: int
    _entries: tuple[ListingEntry, ...] | None
    _source: _Shown | None

    def __init__(self, entries: tuple[ListingEntry, ...], budget: int, width: int) -> None:
        _set = object.__setattr__
        _set(self, "_entries", entries)
        _set(self, "_source", None)
        _set(self, "budget", budget)
        _set(self, "width", width)

    @classmethod
    def _of(cls, columns: _Shown, budget: int, width: int) -> Listing:
        """The listing of ``columns``, its entries made when first asked for."""
        listing = cls.__new__(cls)
        _set = object.__setattr__
        _set(listing, "_entries", None)
        _set(listing, "_source", columns)
        _set(listing, "budget", budget)
        _set(listing, "width", width)
        return listing

    @property
    def entries(self) -> tuple[ListingEntry, ...]:
        """The listed skills, in order."""
        entries = self._entries
        if entries is None:
            assert self._source is not None
            entries = self._source.entries()
            object.__setattr__(self, "_entries", entries)
        return entries

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Listing)
        return (self.entries, self.budget, self.width) == (other.entries, other.budget, other.width)

    def __hash__(self) -> int:
        return hash((self.entries, self.budget, self.width))

    def __repr__(self) -> str:
        return f"Listing(entries={self.entries!r}, budget={self.budget!r}, width={self.width!r})"

    def __reduce__(self) -> tuple[type[Listing], tuple[tuple[ListingEntry, ...], int, int]]:
        return (Listing, (self.entries, self.budget, self.width))

    @property
    def over_budget(self) -> bool:
        """True when even names alone did not fit (no skill is ever left out for room)."""
        return self.width > self.budget

    def _shown(self) -> _Shown:
        if self._source is not None:
            return self._source
        return _Shown.of_entries(self.entries)

    def text(self) -> str:
        """Claude Code's form: one ``- name: description`` line per skill."""
        return self._shown().text()

    def xml(self) -> str:
        """The agentskills.io form: ``<available_skills>`` with one ``<skill>`` each."""
        return self._shown().xml()

    def render(self, format: ListingFormat = "text") -> str:
        if format == "text":
            return self.text()
        if format == "xml":
            return self.xml()
        raise ConfigurationError(f"unknown listing format {format!r}: use text or xml")


@dataclass(eq=False, slots=True)
class _Catalogue:
    """The names, paths and sources of a list of listed skills, with what the XML form
    makes of them (computed on first use, and kept with the columns)."""

    names: list[str]
    paths: list[Path | None]
    bundled: list[bool]
    _locations: list[str | None] | None = None
    _xml_names: list[str] | None = None
    _xml_locations: list[str | None] | None = None

    @property
    def locations(self) -> list[str | None]:
        if self._locations is None:
            self._locations = [None if path is None else str(path) for path in self.paths]
        return self._locations

    def xml_names(self) -> list[str]:
        if self._xml_names is None:
            self._xml_names = cast("list[str]", _escaped(self.names))
        return self._xml_names

    def xml_locations(self) -> list[str | None]:
        """The locations escaped for XML (None: no path)."""
        if self._xml_locations is None:
            self._xml_locations = _escaped(self.locations)
        return self._xml_locations


@dataclass(eq=False, slots=True)
class _Shown:
    """A listing as columns: its skills, the text each shows (None: the name only), and
    which were cut for the budget (None: none)."""

    catalogue: _Catalogue
    texts: Sequence[str | None]
    cut: Sequence[bool] | None

    @classmethod
    def of_entries(cls, entries: Sequence[ListingEntry]) -> _Shown:
        catalogue = _Catalogue([entry.name for entry in entries], [], [])
        catalogue._locations = [entry.location for entry in entries]
        return cls(catalogue, [entry.description for entry in entries], None)

    def entries(self) -> tuple[ListingEntry, ...]:
        catalogue = self.catalogue
        cut = self.cut if self.cut is not None else [False] * len(self.texts)
        columns = (catalogue.names, self.texts, catalogue.locations, catalogue.bundled, cut)
        # tuple.__new__ straight from C: the NamedTuple's own constructor is Python code
        return tuple(map(tuple.__new__, repeat(ListingEntry), zip(*columns, strict=True)))

    def text(self) -> str:
        names = self.catalogue.names
        if not names:
            return ""
        texts = self.texts
        no_text = list(map(is_, texts, repeat(None)))
        # one join over the pieces of every line: "\n- ", name, ": " or "", text
        pieces = chain.from_iterable(
            zip(
                repeat("\n- "),
                names,
                map(_TEXT_SEPARATOR.__getitem__, no_text),
                _filled(texts, no_text),
            )
        )
        return "".join(pieces)[1:]

    def xml(self) -> str:
        catalogue = self.catalogue
        if not catalogue.names:
            return "<available_skills>\n</available_skills>"
        texts = _escaped(self.texts)
        locations = catalogue.xml_locations()
        # per skill: "<skill><name>", name, then what follows the name, the description
        # (or nothing), what follows it, the location (or nothing), and the close, each
        # chosen by whether there is a description and a location: one join for all
        no_text = list(map(is_, texts, repeat(None)))
        no_location = list(map(is_, locations, repeat(None)))
        pieces = chain.from_iterable(
            zip(
                repeat("\n  <skill>\n    <name>"),
                catalogue.xml_names(),
                map(_AFTER_NAME.__getitem__, no_text),
                _filled(texts, no_text),
                map(_AFTER_DESCRIPTION.__getitem__, zip(no_text, no_location, strict=True)),
                _filled(locations, no_location),
                map(_CLOSE_SKILL.__getitem__, no_location),
            )
        )
        return "".join(chain(("<available_skills>",), pieces, ("\n</available_skills>",)))


_TEXT_SEPARATOR = {True: "", False: ": "}
_AFTER_NAME = {False: "</name>\n    <description>", True: "</name>"}
_AFTER_DESCRIPTION = {
    (False, False): "</description>\n    <location>",
    (False, True): "</description>",
    (True, False): "\n    <location>",
    (True, True): "",
}
_CLOSE_SKILL = {False: "</location>\n  </skill>", True: "\n  </skill>"}


def _filled(texts: Sequence[str | None], missing: Sequence[bool]) -> Sequence[str]:
    """``texts`` with an empty string for each None."""
    if True in missing:
        return ["" if text is None else text for text in texts]
    return texts  # type: ignore[return-value]


_XML_SPECIAL = re.compile("[&<>]")


def _escaped(texts: Sequence[str | None]) -> list[str | None]:
    """``texts`` escaped for XML (None stays None). Searched a thousand texts joined at a
    time (joined, and in the processor's cache, ``in`` is a ``memchr`` per character):
    when none holds ``&``, ``<`` or ``>`` (the common case) nothing else is done."""
    given = list(filter(None, texts))
    for first in range(0, len(given), 1024):
        joined = "".join(given[first : first + 1024])
        if "&" in joined or "<" in joined or ">" in joined:
            break
    else:
        return list(texts)
    return [escape(text) if text and _XML_SPECIAL.search(text) else text for text in texts]


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
    catalogue = columns.catalogue
    if columns.any_yielding and _no_room_for_descriptions(
        columns.listed,
        columns.name_only,
        catalogue.bundled,
        budget - columns.fixed,
        max_entry_chars,
    ):
        # names only for all but bundled skills, whatever their texts: never read them
        shown, width = columns.names_only(max_entry_chars)
        return Listing._of(_Shown(catalogue, shown, columns.yielding), budget, width)
    if not invocations and max_entry_chars not in columns.by_cap:
        cut_evenly = columns.cut_at_the_share(budget, max_entry_chars)
        if cut_evenly is not None:
            shown, width = cut_evenly
            return Listing._of(_Shown(catalogue, shown, columns.yielding), budget, width)
    texts, widths, full = columns.texts(max_entry_chars)
    if full <= budget:
        return Listing._of(_Shown(catalogue, texts, None), budget, full)
    shown, cut, change = _fit(
        budget - full, texts, widths, columns.yielding, catalogue.names, invocations
    )
    return Listing._of(_Shown(catalogue, shown, cut), budget, full + change)


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
    catalogue: _Catalogue
    yielding: list[bool]  # the skills whose descriptions give way on overflow
    any_yielding: bool
    fixed: int  # "- " + name per line, newlines between lines
    by_cap: dict[int, tuple[list[str | None], list[int], int]] = field(default_factory=dict)
    names_only_by_cap: dict[int, tuple[list[str | None], int]] = field(default_factory=dict)
    cut_by_budget: dict[tuple[int, int], tuple[list[str | None], int] | None] = field(
        default_factory=dict
    )
    yielding_skills: list[Skill] | None = None
    descriptions: list[str] | None = None

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

    def cut_at_the_share(self, budget: int, max_chars: int) -> tuple[list[str | None], int] | None:
        """:func:`_cut_at_the_share`, the last few kept: a session has the same budget
        every turn."""
        key = (budget, max_chars)
        if key not in self.cut_by_budget:
            if len(self.cut_by_budget) >= 4:
                self.cut_by_budget.clear()
            self.cut_by_budget[key] = _cut_at_the_share(self, budget, max_chars)
        return self.cut_by_budget[key]

    def yielding_descriptions(self) -> tuple[list[Skill], list[str]]:
        """The skills whose descriptions give way, and their descriptions."""
        if self.yielding_skills is None:
            self.yielding_skills = list(compress(self.listed, self.yielding))
            self.descriptions = [skill.description for skill in self.yielding_skills]
        assert self.descriptions is not None
        return self.yielding_skills, self.descriptions

    def names_only(self, max_chars: int) -> tuple[list[str | None], int]:
        """The texts shown, and the listing's width, with names only but for bundled
        skills."""
        found = self.names_only_by_cap.get(max_chars)
        if found is None:
            shown = _bundled_texts(self.listed, self.name_only, self.catalogue.bundled, max_chars)
            described = len(shown) - shown.count(None)
            width = self.fixed + total_width(list(filter(None, shown))) + 2 * described
            found = self.names_only_by_cap[max_chars] = (shown, width)
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
    yielding = list(map(not_, map(or_, bundled, name_only) if overrides else bundled))
    columns = _Columns(
        given,
        wanted,
        listed,
        name_only,
        _Catalogue(names, [skill.path for skill in listed], bundled),
        yielding,
        any(yielding),
        total_width(names) + 3 * len(names) - (1 if names else 0),
    )
    _last_columns[:] = [columns]
    return columns


def _cut_at_the_share(
    columns: _Columns, budget: int, max_chars: int
) -> tuple[list[str | None], int] | None:
    """The texts shown and the listing's width when every description that gives way
    is cut to the even share of the room (module doc, 2-3), found without measuring
    those descriptions whole; None when that is not so, or cannot be told this way.

    The room the yielding descriptions may take does not depend on their widths (the
    budget, less names, separators and the bundled texts), nor does their even share.
    When each of them is wider than the share, the share is the cap (the water-filling
    stops at once), the listing overflows (they need more than the room), every one of
    them is cut, and the listing's width is that of the cuts. A plain ASCII text whose
    first ``share + 2`` characters are already one line is that wide at least, and its
    one-line form starts with them: only its first characters are read, to check them
    and to cut them. The others (non-ASCII, shorter, or not plain so early) are
    measured as usual, and the listing too when one of them is not wider than the
    share: what is found is then exactly what measuring everything finds.
    """
    yielding = columns.yielding
    count = yielding.count(True)
    shows = [
        not hidden and not gives for hidden, gives in zip(columns.name_only, yielding, strict=True)
    ]
    kept_texts, kept_widths = _one_lines(_raw_texts(compress(columns.listed, shows)), max_chars)
    described = count + len(kept_texts)
    room = budget - columns.fixed - 2 * described - sum(kept_widths)
    if not count or room <= 0:
        return None
    share = room // count
    window = share + 2
    if window > max_chars:  # the prefix must be the start of the capped text too
        return None
    # a text starts with its description: one that long is the start to read
    skills, descriptions = columns.yielding_descriptions()
    heads: Iterable[str] = map(getitem, descriptions, repeat(slice(0, window)))
    prefixes = list(map(str.rstrip, heads))
    plain = list(map(ge, map(len, prefixes), repeat(window - 1)))  # none short
    is_ascii = list(map(str.isascii, descriptions))
    if False in is_ascii:
        plain = list(map(and_, plain, is_ascii))
    candidates = list(compress(range(len(descriptions)), plain))
    for index in _odd_ascii(list(map(prefixes.__getitem__, candidates))):
        plain[candidates[index]] = False
    texts: list[str] = descriptions
    if False in plain:
        texts = list(descriptions)
        others = list(compress(range(len(descriptions)), map(not_, plain)))
        raws = _raw_texts(map(skills.__getitem__, others))
        measured, widths = _one_lines(raws, max_chars)
        if min(widths) <= share:
            return None
        for index, text in zip(others, measured, strict=True):
            texts[index] = text
    if share < MIN_DESCRIPTION_WIDTH:  # names only for them all
        shown: list[str | None] = _merge(shows, kept_texts, repeat(None))
        return shown, columns.fixed + 2 * len(kept_texts) + sum(kept_widths)
    cuts, cuts_width = _cut_all(texts, share)
    if True in columns.name_only:
        next_kept, next_cut = iter(kept_texts).__next__, iter(cuts).__next__
        shown = [
            next_cut() if gives else next_kept() if show else None
            for gives, show in zip(yielding, shows, strict=True)
        ]
    else:  # every skill that does not give way shows its text
        shown = _merge(yielding, cuts, kept_texts)
    return shown, columns.fixed + 2 * described + sum(kept_widths) + cuts_width


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
    long = list(map(and_, map(gt, widths, repeat(cap)), kept))
    whole: list[str] = list(compress(shown, long))  # type: ignore[arg-type]
    cuts, cuts_width = _cut_all(whole, cap)
    shown = _merge(long, cuts, compress(shown, map(not_, long)))
    change += cuts_width - sum(compress(widths, long))
    return shown, list(map(or_, cut, long)) if True in cut else long, change


def _cut_all(texts: Sequence[str], cap: int) -> tuple[list[str], int]:
    """Each of ``texts`` (all wider than ``cap``) cut to ``cap`` columns, and the summed
    width of the cuts.

    An ASCII text takes one column per character at most, so its first ``cap - 1``
    characters (less a trailing space) and the ellipsis fit: cut from C, for all of them
    at once, and measured joined (see :func:`cut_texts_width`).
    """
    if not texts:
        return [], 0
    # every text cut as ASCII (the others, a few as a rule, are cut properly after); the
    # ellipses added by one join and one split (no text on one line holds "\n")
    heads: Iterable[str] = map(getitem, texts, repeat(slice(0, cap - 1)))
    bodies = list(map(str.rstrip, heads))
    wide = list(compress(range(len(texts)), map(not_, map(str.isascii, texts))))
    for index in wide:
        bodies[index] = ""  # kept out of the join: it stays two bytes a character
    cuts = (f"{ELLIPSIS}\n".join(bodies) + ELLIPSIS).split("\n")
    for index in wide:
        cuts[index] = cut_to_width(texts[index], cap)
    joined = "".join(bodies)
    if "\x1b" in joined:  # an escape sequence could span two bodies: measure each
        return cuts, sum(map(display_width, cuts))
    width = display_width(joined) + len(texts) - len(wide)
    return cuts, width + sum(map(display_width, map(cuts.__getitem__, wide)))


def _merge(flags: Iterable[bool], chosen: Iterable[_T], others: Iterable[_T]) -> list[_T]:
    """One list from two, in the order ``flags`` give: the next of ``chosen`` where a
    flag is true, else the next of ``others`` (from C: a comprehension calling a Python
    step per item costs as much as the rest of a cut)."""
    sources = (iter(others), iter(chosen))
    return list(map(next, map(sources.__getitem__, flags)))


def _even_cap(widths: Sequence[int], room: int) -> int:
    """The largest cap with ``sum(min(w, cap)) <= room`` (water-filling)."""
    if room <= 0 or not widths:
        return 0
    if min(widths) > room // len(widths):  # the even share is the cap: no need to sort
        return room // len(widths)
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
