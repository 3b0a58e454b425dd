"""Plugins: folders holding ``.claude-plugin/plugin.json`` (or, without one, ``skills/``).

A plugin's skills live in ``<plugin>/skills/<name>/SKILL.md`` and its commands in
``<plugin>/commands/**/*.md``; the manifest's ``skills`` and ``commands`` entries (a path
or a list of paths, relative to the plugin) add more places, as in Claude Code. Every
name is namespaced by the plugin (``plugin:skill``, ``plugin:dir:command``), so plugin
skills never collide with local ones. ``Skill.plugin_root`` is the plugin folder, the
value of ``${CLAUDE_PLUGIN_ROOT}``.

A path given to the registry may be a plugin folder or a folder of plugins (a
marketplace checkout such as ``plugins/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skilld.skills.model import Diagnostic, LoadedFrom, Source
from skilld.skills.sources.base import Batch, skills_from_found
from skilld.skills.sources.commands import load_commands
from skilld.skills.sources.scan import SKILL_FILE, FoundSkill, scan_skills_folder

__all__ = ["MANIFEST", "Plugin", "find_plugins", "load_plugin", "plugin_skills"]

MANIFEST = Path(".claude-plugin") / "plugin.json"


class Plugin:
    """A plugin folder and what its manifest says."""

    def __init__(self, root: Path, manifest: dict[str, Any], diagnostics: list[Diagnostic]):
        self.root = root
        self.manifest = manifest
        raw_name = manifest.get("name")
        self.name = (
            raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else root.name
        )
        self.diagnostics = diagnostics

    def paths(self, key: str, default: str) -> list[Path]:
        """The default folder and the manifest's extra ones, each once."""
        found = [self.root / default]
        value = self.manifest.get(key)
        extra = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for item in extra:
            if not isinstance(item, str):
                continue
            path = (self.root / item).resolve()
            if not path.is_relative_to(self.root.resolve()):
                self.diagnostics.append(
                    Diagnostic(
                        "warning",
                        f"{key} path {item!r} leaves the plugin folder; ignored",
                        self.root / MANIFEST,
                        field=key,
                    )
                )
                continue
            if path not in {p.resolve() for p in found}:
                found.append(self.root / item)
        return found


def _read_manifest(root: Path, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.exists():
        return {}  # optional, as in Claude Code: the folder name is the plugin's name
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        diagnostics.append(
            Diagnostic(
                "warning",
                f"plugin manifest cannot be read ({exc}); using the folder name",
                path,
                line,
                fix="write valid JSON with at least a 'name'",
            )
        )
        return {}
    if not isinstance(value, dict):
        diagnostics.append(
            Diagnostic("warning", "plugin manifest is not a JSON object; ignored", path)
        )
        return {}
    return value


def _is_plugin(path: Path) -> bool:
    """A manifest, or (the manifest being optional) a ``skills`` or ``commands`` folder."""
    return (path / MANIFEST).is_file() or (path / "skills").is_dir() or (path / "commands").is_dir()


def find_plugins(paths: Iterable[Path], diagnostics: list[Diagnostic]) -> list[Path]:
    """Plugin folders: each path itself if it is a plugin, else its plugin subfolders."""
    plugins: list[Path] = []
    for path in paths:
        if _is_plugin(path):
            plugins.append(path)
            continue
        try:
            children = sorted(e.path for e in os.scandir(path) if e.is_dir())
        except OSError as exc:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    f"plugin folder cannot be read: {exc.strerror or exc}",
                    path,
                    fix="check the --plugin-dir path",
                )
            )
            continue
        inside = [Path(c) for c in children if _is_plugin(Path(c))]
        if not inside:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "no plugin here: neither the folder nor its subfolders hold "
                    f"{MANIFEST.as_posix()}, skills/ or commands/",
                    path,
                    fix="point --plugin-dir at a plugin folder",
                )
            )
        plugins.extend(inside)
    return plugins


def load_plugin(root: Path) -> Batch:
    """One plugin's skills, then its commands (a skill beats a command of its name)."""
    batch = Batch()
    plugin = Plugin(root, _read_manifest(root, batch.diagnostics), batch.diagnostics)
    prefix = plugin.name + ":"

    def naming(name: str) -> str:
        return prefix + name

    for folder in plugin.paths("skills", "skills"):
        if (folder / SKILL_FILE).is_file():  # the manifest may name one skill folder
            real = os.path.realpath(folder / SKILL_FILE)
            found = [FoundSkill(str(folder / SKILL_FILE), real, str(folder.parent))]
        else:
            found = scan_skills_folder(folder, batch.diagnostics)
        batch.extend(
            skills_from_found(
                found,
                source=Source.PLUGIN,
                loaded_from=LoadedFrom.PLUGIN,
                naming=naming,
                plugin=plugin.name,
                plugin_root=root,
            )
        )
    for folder in plugin.paths("commands", "commands"):
        batch.extend(
            load_commands(
                folder,
                source=Source.PLUGIN,
                loaded_from=LoadedFrom.PLUGIN,
                naming=naming,
                plugin=plugin.name,
                plugin_root=root,
            )
        )
    return batch


def plugin_skills(paths: Iterable[Path]) -> Batch:
    batch = Batch()
    for root in find_plugins(paths, batch.diagnostics):
        batch.extend(load_plugin(root))
    return batch
