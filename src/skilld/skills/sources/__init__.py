"""Where skills come from: one module per kind of source.

Each source returns a :class:`~skilld.skills.sources.base.Batch` (skills in precedence
order with their canonical paths, and diagnostics); the registry orders the sources,
deduplicates and resolves names.
"""

from skilld.skills.sources.base import Batch, Loaded

__all__ = ["Batch", "Loaded"]
