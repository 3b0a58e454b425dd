"""File-tool path patterns: gitignore-style, anchored as the module doc of
:mod:`skilld.permissions` says (``//abs``, ``~/home``, ``/root``, ``./cwd``, bare)."""

from __future__ import annotations

from functools import lru_cache

import pathspec

__all__ = ["compile_path", "relative_to"]


@lru_cache(maxsize=1024)
def compile_path(pattern: str) -> tuple[str, pathspec.GitIgnoreSpec]:
    """(anchor, spec) for a file-tool pattern; the anchor says which folder it is under."""
    if pattern.startswith("//"):
        anchor, body = "absolute", "/" + pattern[2:].lstrip("/")
    elif pattern == "~" or pattern.startswith("~/"):
        anchor, body = "home", "/" + (pattern[2:] or "**")
    elif pattern.startswith("/"):
        anchor, body = "root", pattern
    elif pattern.startswith("./"):
        anchor, body = "cwd", "/" + pattern[2:]
    else:
        anchor, body = "cwd", pattern
    return anchor, pathspec.GitIgnoreSpec.from_lines([body])


def relative_to(path: str, base: str) -> str | None:
    """``path`` relative to the folder ``base`` (both absolute), None when outside it."""
    if base == "/":
        return path.lstrip("/") or None
    if path == base or not path.startswith(base.rstrip("/") + "/"):
        return None
    return path[len(base.rstrip("/")) + 1 :]
