"""Bundled skills as a source: everything registered with ``register_bundled_skill``."""

from __future__ import annotations

from skilld.skills.bundled import bundled_skills as registered
from skilld.skills.sources.base import Batch, Loaded

__all__ = ["bundled_source"]


def bundled_source() -> Batch:
    return Batch([Loaded(skill, None) for skill in registered()])
