"""Process configuration: ``SKILLD_*`` environment variables, read once, overridable in code.

Every root skilld reads can be moved, so tests and services never touch a real home
directory: ``SKILLD_HOME`` stands for ``~`` and ``SKILLD_MANAGED_DIR`` for Claude Code's
managed-settings directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from skilld.exceptions import ConfigurationError

__all__ = ["DEFAULT_SCAN_MAX_DEPTH", "DEFAULT_SCAN_MAX_DIRS", "Settings", "default_managed_dir"]

DEFAULT_SCAN_MAX_DEPTH = 8
"""Folder levels below an ``--add-dir`` root searched for skills (real repos nest 4 deep)."""
DEFAULT_SCAN_MAX_DIRS = 100_000
"""Folders one recursive scan visits before it stops (and says so)."""


def default_managed_dir() -> Path:
    """Where Claude Code reads managed (enterprise) settings on this platform."""
    if sys.platform == "darwin":
        return Path("/Library/Application Support/ClaudeCode")
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMFILES", r"C:\Program Files")) / "ClaudeCode"
    return Path("/etc/claude-code")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything skilld reads from its environment.

    Attributes:
        home: the directory standing for ``~`` (``SKILLD_HOME``, else ``$HOME``).
        managed_dir: managed-settings directory (``SKILLD_MANAGED_DIR``); its skills live
            in ``<dir>/.claude/skills``.
        data_dir: where the embedded engine keeps its SQLite files (``SKILLD_DATA_DIR``,
            default ``./.skilld``).
        broker_url / store_url: engine backends (``SKILLD_BROKER_URL``,
            ``SKILLD_STORE_URL``); None means the embedded SQLite default.
        default_model: model URI for fork skills (``SKILLD_DEFAULT_MODEL``).
        disable_shell: replace inline shell commands with a notice
            (``SKILLD_DISABLE_SHELL``).
        plugin_dirs: plugin folders (or folders of plugins) loaded in every registry
            (``SKILLD_PLUGIN_DIRS``, separated by ``os.pathsep``).
        scan_max_depth: how deep a recursive scan (an ``--add-dir`` root) descends
            (``SKILLD_SCAN_MAX_DEPTH``).
        scan_max_dirs: how many folders one recursive scan visits at most
            (``SKILLD_SCAN_MAX_DIRS``); a diagnostic says when a bound was hit.
    """

    home: Path = field(default_factory=Path.home)
    managed_dir: Path = field(default_factory=default_managed_dir)
    data_dir: Path = Path(".skilld")
    broker_url: str | None = None
    store_url: str | None = None
    default_model: str | None = None
    disable_shell: bool = False
    plugin_dirs: tuple[Path, ...] = ()
    scan_max_depth: int = DEFAULT_SCAN_MAX_DEPTH
    scan_max_dirs: int = DEFAULT_SCAN_MAX_DIRS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = env.get("SKILLD_HOME") or env.get("HOME") or str(Path.home())
        return cls(
            home=Path(home).expanduser(),
            managed_dir=Path(env["SKILLD_MANAGED_DIR"])
            if env.get("SKILLD_MANAGED_DIR")
            else default_managed_dir(),
            data_dir=Path(env.get("SKILLD_DATA_DIR") or ".skilld"),
            broker_url=env.get("SKILLD_BROKER_URL") or None,
            store_url=env.get("SKILLD_STORE_URL") or None,
            default_model=env.get("SKILLD_DEFAULT_MODEL") or None,
            disable_shell=env.get("SKILLD_DISABLE_SHELL", "").lower() in ("1", "true", "yes", "on"),
            plugin_dirs=tuple(
                Path(p).expanduser()
                for p in env.get("SKILLD_PLUGIN_DIRS", "").split(os.pathsep)
                if p
            ),
            scan_max_depth=_int(env, "SKILLD_SCAN_MAX_DEPTH", DEFAULT_SCAN_MAX_DEPTH),
            scan_max_dirs=_int(env, "SKILLD_SCAN_MAX_DIRS", DEFAULT_SCAN_MAX_DIRS),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{key} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{key} must not be negative, got {raw!r}")
    return value
