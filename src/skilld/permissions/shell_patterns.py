"""How a ``Bash(...)`` specifier matches one simple command: exact, ``prefix:*``, wildcards."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["has_unescaped_star", "match_shell_pattern"]

_ESCAPED_STAR = "\x00S\x00"
_ESCAPED_BACKSLASH = "\x00B\x00"


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    text = pattern.strip()
    processed: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "*\\":
            processed.append(_ESCAPED_STAR if text[index + 1] == "*" else _ESCAPED_BACKSLASH)
            index += 2
            continue
        processed.append(char)
        index += 1
    stars = sum(1 for piece in processed if piece == "*")
    source = "".join(
        ".*"
        if piece == "*"
        else r"\*"
        if piece == _ESCAPED_STAR
        else r"\\"
        if piece == _ESCAPED_BACKSLASH
        else re.escape(piece)
        for piece in processed
    )
    # 'git *' also matches a bare 'git' (as the legacy 'git:*' does); not for '* run *',
    # where an optional last star would let 'npm run' match with nothing after it.
    if stars == 1 and source.endswith(r"\ .*"):
        source = source[: -len(r"\ .*")] + "(?: .*)?"
    return re.compile(source, re.DOTALL)


def match_shell_pattern(specifier: str, command: str) -> bool:
    """Whether one simple ``command`` matches a Bash rule's specifier (see the module doc)."""
    if specifier.endswith(":*"):
        prefix = specifier[:-2]
        return command == prefix or command.startswith(prefix + " ")
    if has_unescaped_star(specifier):
        return _wildcard_regex(specifier).fullmatch(command) is not None
    return command == specifier.strip()


def has_unescaped_star(pattern: str) -> bool:
    for index, char in enumerate(pattern):
        if char == "*":
            backslashes = len(pattern[:index]) - len(pattern[:index].rstrip("\\"))
            if backslashes % 2 == 0:
                return True
    return False
