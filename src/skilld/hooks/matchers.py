"""Matchers: which tool (or source, trigger, agent type...) a group of hooks answers to.

Claude Code's rules, in order:

* no matcher, ``""`` or ``"*"`` matches everything;
* a matcher made only of letters, digits and ``_``, with names joined by ``|`` (or, as
  skilld also accepts, ``,``), is a list of exact, case-sensitive names:
  ``"Write|Edit"`` matches ``Write`` and ``Edit`` but not ``WriteFile``;
* anything else is a regular expression searched in the value (JavaScript's
  ``RegExp.test``): ``"mcp__.*"``, ``"^Notebook"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Matcher", "compile_matcher"]

_NAME_LIST = re.compile(r"^[A-Za-z0-9_|,\s]+$")
_SEPARATORS = re.compile(r"[|,]")


@dataclass(frozen=True, slots=True)
class Matcher:
    """A compiled matcher; ``pattern`` is what the configuration said."""

    pattern: str | None
    names: frozenset[str] | None = None
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def matches_all(self) -> bool:
        return self.names is None and self.regex is None

    def matches(self, value: str | None) -> bool:
        """Whether hooks under this matcher run for ``value``.

        ``value`` is None for events without a matcher field (UserPromptSubmit, Stop):
        their hooks always run, whatever the matcher says.
        """
        if value is None or self.matches_all:
            return True
        if self.names is not None:
            return value in self.names
        assert self.regex is not None
        return self.regex.search(value) is not None


def compile_matcher(pattern: str | None) -> Matcher:
    """Compile a matcher; raises :class:`re.error` for a pattern that is not a regex."""
    if pattern is None:
        return Matcher(None)
    stripped = pattern.strip()
    if stripped in ("", "*"):
        return Matcher(pattern)
    if _NAME_LIST.match(stripped):
        names = frozenset(n.strip() for n in _SEPARATORS.split(stripped) if n.strip())
        return Matcher(pattern, names=names)
    return Matcher(pattern, regex=re.compile(stripped))
