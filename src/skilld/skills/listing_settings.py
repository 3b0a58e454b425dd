"""The skill listing's settings, from Claude Code's settings files.

``skillOverrides`` (how each skill appears: ``on``, ``name-only``,
``user-invocable-only`` or ``off``) merged name by name, ``skillListingBudgetFraction``
(share of the context window, default 0.01) and ``skillListingMaxDescChars`` (cap on one
entry, default 1,536), the file of highest precedence winning (see
:mod:`skilld.settings_files`). A value of the wrong type or out of range raises
:class:`ConfigurationError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from skilld.exceptions import ConfigurationError
from skilld.settings import Settings
from skilld.settings_files import SettingsFile, read_settings_files
from skilld.skills.listing import DEFAULT_CONTEXT_FRACTION, LISTING_OVERRIDES, MAX_ENTRY_CHARS

__all__ = ["ListingSettings", "load_listing_settings", "load_skill_overrides"]


def load_skill_overrides(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> dict[str, str]:
    """``skillOverrides`` merged from the settings files, the higher source winning."""
    return _merge_overrides(read_settings_files(cwd, settings=settings))


def _merge_overrides(files: Sequence[SettingsFile]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for file in reversed(files):
        overrides = file.data.get("skillOverrides")
        if overrides is None:
            continue
        if not isinstance(overrides, dict) or not all(
            isinstance(k, str) and v in LISTING_OVERRIDES for k, v in overrides.items()
        ):
            raise ConfigurationError(
                f"{file.path}: 'skillOverrides' must map skill names to "
                f"{', '.join(LISTING_OVERRIDES[:-1])} or {LISTING_OVERRIDES[-1]}"
                + _first_bad_value(overrides)
            )
        merged.update(overrides)
    return merged


def _first_bad_value(overrides: object) -> str:
    if not isinstance(overrides, dict):
        return f", not {type(overrides).__name__}"
    for name, value in overrides.items():
        if value not in LISTING_OVERRIDES:
            return f" (skill {name!r}: {value!r})"
    return ""


@dataclass(frozen=True, slots=True)
class ListingSettings:
    """What the settings files say about the skill listing (defaults when they are silent)."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    fraction: float = DEFAULT_CONTEXT_FRACTION
    max_entry_chars: int = MAX_ENTRY_CHARS


def load_listing_settings(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> ListingSettings:
    """``skillOverrides``, ``skillListingBudgetFraction`` and ``skillListingMaxDescChars``."""
    files = read_settings_files(cwd, settings=settings)
    fraction = DEFAULT_CONTEXT_FRACTION
    max_chars = MAX_ENTRY_CHARS
    for file in reversed(files):  # lowest precedence first, so higher files win
        value = file.data.get("skillListingBudgetFraction")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ConfigurationError(
                    f"{file.path}: 'skillListingBudgetFraction' must be a number in (0, 1], "
                    f"not {value!r}"
                )
            fraction = float(value)
        value = file.data.get("skillListingMaxDescChars")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"{file.path}: 'skillListingMaxDescChars' must be a whole number >= 1, "
                    f"not {value!r}"
                )
            max_chars = value
    return ListingSettings(_merge_overrides(files), fraction, max_chars)
