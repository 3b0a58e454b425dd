"""The registry: every source in precedence order, deduplicated, with names resolved.

Precedence follows Claude Code: managed > user > project skills (the nearest folder
first) > ``--add-dir`` skills; then legacy commands, so a skill always beats a command
of the same name; then plugins (their names are namespaced, so they never collide),
Python packages, and bundled skills last, so any local skill overrides a bundled one.
The first skill of a name wins and each one it shadows is reported as a diagnostic.

The same file reached twice (a symlinked folder, ``.agents/skills`` pointing at
``skills``) loads once: skills are deduplicated by canonical path, first wins. Paths are
compared after ``realpath``, not by inode: some file systems report inode 0 for every
file. The sources are read in parallel threads; the merge walks them in the fixed order
above, so the result never depends on which thread finished first.

Conditional skills (``paths:``) are held back until :meth:`SkillRegistry.activate_for_paths`
sees a matching file; activated names are remembered for the process and survive
:func:`clear_caches`. :meth:`SkillRegistry.discover_for_paths` loads ``.claude/skills``
folders below the working directory when a file under them is touched.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from skilld.settings import Settings
from skilld.skills.bundled import register_bundled_skill
from skilld.skills.model import Diagnostic, Skill, Source
from skilld.skills.sources.add_dir import add_dir_commands, add_dir_skills
from skilld.skills.sources.base import Batch, Loaded, skills_in_folder
from skilld.skills.sources.bundled import bundled_source
from skilld.skills.sources.managed import managed_commands, managed_skills
from skilld.skills.sources.packages import package_skills
from skilld.skills.sources.plugins import plugin_skills
from skilld.skills.sources.project import project_commands, project_skills
from skilld.skills.sources.scan import GitIgnore
from skilld.skills.sources.user import user_commands, user_skills

__all__ = [
    "SkillRegistry",
    "clear_caches",
    "load_registry",
    "register_bundled_skill",
]

logger = logging.getLogger(__name__)

_ACTIVATED: set[str] = set()
"""Conditional skills activated in this process; kept across :func:`clear_caches`."""
_ACTIVATED_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Origin:
    """Which batch a skill came from (clashes inside one ``--add-dir`` tree keep both)."""

    batch: int


def _describe(skill: Skill) -> str:
    where = f" at {skill.path}" if skill.path is not None else ""
    return f"{skill.source.value} {skill.loaded_from.value.rstrip('s')} {skill.name!r}{where}"


class SkillRegistry:
    """The skills visible from one working directory.

    Args:
        cwd: the working directory (default: the process's).
        add_dirs: extra roots searched for skills (``--add-dir``).
        plugin_dirs: plugin folders or folders of plugins (``--plugin-dir``), on top of
            ``Settings.plugin_dirs``.
        settings: where ``~`` and the managed directory are, scan bounds (default:
            :meth:`Settings.from_env`).
        include_packages: read the ``skilld.skills`` entry points.
        include_bundled: list the skills registered with :func:`register_bundled_skill`.
    """

    def __init__(
        self,
        cwd: str | Path | None = None,
        *,
        add_dirs: Sequence[str | Path] = (),
        plugin_dirs: Sequence[str | Path] = (),
        settings: Settings | None = None,
        include_packages: bool = True,
        include_bundled: bool = True,
    ) -> None:
        self.cwd = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
        self.add_dirs = tuple(Path(os.path.abspath(d)) for d in add_dirs)
        self.settings = settings if settings is not None else Settings.from_env()
        self.plugin_dirs = tuple(
            Path(os.path.abspath(d)) for d in (*self.settings.plugin_dirs, *plugin_dirs)
        )
        self.include_packages = include_packages
        self.include_bundled = include_bundled
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[], None]] = []
        self._gitignore: GitIgnore | None = None
        self._load()

    # -- loading ---------------------------------------------------------------------

    def _jobs(self) -> list[Callable[[], Batch]]:
        settings, cwd = self.settings, self.cwd
        jobs: list[Callable[[], Batch]] = [
            lambda: managed_skills(settings),
            lambda: user_skills(settings),
            lambda: project_skills(cwd, settings),
        ]
        jobs += [partial(add_dir_skills, d, settings) for d in self.add_dirs]
        jobs += [
            lambda: managed_commands(settings),
            lambda: user_commands(settings),
            lambda: project_commands(cwd, settings),
        ]
        jobs += [partial(add_dir_commands, d) for d in self.add_dirs]
        if self.plugin_dirs:
            jobs.append(lambda: plugin_skills(self.plugin_dirs))
        if self.include_packages:
            jobs.append(package_skills)
        if self.include_bundled:
            jobs.append(bundled_source)
        return jobs

    def _load(self) -> None:
        # A cold load allocates many small objects that all stay alive: pausing the
        # cyclic garbage collector meanwhile saves ~10% and frees nothing less.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            self._load_sources()
        finally:
            if paused:
                gc.enable()

    def _load_sources(self) -> None:
        jobs = self._jobs()
        # Threads overlap the file-system waits of independent roots; map() keeps order.
        with ThreadPoolExecutor(max_workers=min(4, len(jobs))) as pool:
            batches = list(pool.map(_run_source, jobs))
        diagnostics: list[Diagnostic] = []
        self._all: list[Skill] = []
        self._by_name: dict[str, Skill] = {}
        self._origin: dict[str, _Origin] = {}
        self._seen: dict[str, Skill] = {}
        for index, batch in enumerate(batches):
            diagnostics.extend(batch.diagnostics)
            for loaded in batch.loaded:
                self._admit(loaded, index, diagnostics)
        self._diagnostics = diagnostics
        self._checked_dirs: set[Path] = set()
        self._specs: dict[str, Callable[[str], bool]] = {}
        with _ACTIVATED_LOCK:
            activated = set(_ACTIVATED)
        self._active = {s.name for s in self._all if not s.conditional or s.name in activated}

    def _admit(
        self,
        loaded: Loaded,
        batch: int,
        diagnostics: list[Diagnostic],
        *,
        nested: str | None = None,
    ) -> Skill | None:
        """Add one skill unless its file or its name is taken; say why when it is not."""
        skill = loaded.skill
        if loaded.real is not None:
            first = self._seen.get(loaded.real)
            if first is not None:
                diagnostics.append(
                    Diagnostic(
                        "info",
                        f"same file as {_describe(first)}; loaded once",
                        skill.path,
                    )
                )
                return None
        name = skill.name
        holder = self._by_name.get(name)
        if holder is not None:
            origin = self._origin[name]
            qualifier = nested
            if qualifier is None and origin.batch == batch and loaded.qualify is not None:
                qualifier = loaded.qualify()
            qualified = f"{qualifier}:{name}" if qualifier else None
            if qualified is not None and qualified not in self._by_name:
                diagnostics.append(
                    Diagnostic(
                        "info",
                        f"two skills are named {name!r}; this one is listed as {qualified!r}",
                        skill.path,
                    )
                )
                skill = replace(skill, name=qualified)
                name = qualified
            else:
                diagnostics.append(
                    Diagnostic(
                        "warning",
                        f"{_describe(skill)} is shadowed by {_describe(holder)}",
                        skill.path,
                        fix="rename one of them to use both",
                    )
                )
                return None
        if loaded.real is not None:
            self._seen[loaded.real] = skill
        self._by_name[name] = skill
        self._origin[name] = _Origin(batch)
        self._all.append(skill)
        return skill

    def reload(self) -> None:
        """Read every source again (activations and discovered folders are kept)."""
        with self._lock:
            checked = set(self._checked_dirs)
            self._load()
            dirs, self._checked_dirs = sorted(checked), set()
        self._discover_dirs(dirs, notify=False)
        self._notify()

    # -- queries ---------------------------------------------------------------------

    def skills(self) -> list[Skill]:
        """Visible skills in precedence order (held-back conditional skills left out)."""
        with self._lock:
            return [s for s in self._all if s.name in self._active]

    def all_skills(self) -> list[Skill]:
        """Every loaded skill, conditional ones not yet activated included."""
        with self._lock:
            return list(self._all)

    def get(self, name: str) -> Skill | None:
        """The active skill with this command name (a leading ``/`` is ignored)."""
        name = name.removeprefix("/")
        with self._lock:
            return self._by_name.get(name) if name in self._active else None

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Skipped files, unreadable folders, shadowed and duplicate skills, scan bounds."""
        with self._lock:
            return list(self._diagnostics)

    # -- conditional skills ----------------------------------------------------------

    def _matcher(self, skill: Skill) -> Callable[[str], bool]:
        matcher = self._specs.get(skill.name)
        if matcher is None:
            import pathspec

            matcher = pathspec.GitIgnoreSpec.from_lines(skill.paths).match_file
            self._specs[skill.name] = matcher
        return matcher

    def activate_for_paths(
        self, files: Iterable[str | Path], cwd: str | Path | None = None
    ) -> list[str]:
        """Activate the conditional skills whose ``paths`` match one of ``files``.

        Files are taken relative to ``cwd`` (default: the registry's); a file outside it
        (``..``, another drive) activates nothing. Returns the names activated now.
        """
        base = os.path.abspath(cwd if cwd is not None else self.cwd)
        relative: list[str] = []
        for file in files:
            rel = _relative_inside(os.fspath(file), base)
            if rel is not None:
                relative.append(rel)
        if not relative:
            return []
        activated: list[str] = []
        with self._lock:
            for skill in self._all:
                if skill.name in self._active or not skill.conditional:
                    continue
                matches = self._matcher(skill)
                if any(matches(rel) for rel in relative):
                    self._active.add(skill.name)
                    activated.append(skill.name)
        if activated:
            with _ACTIVATED_LOCK:
                _ACTIVATED.update(activated)
            self._notify()
        return activated

    # -- nested discovery ------------------------------------------------------------

    def discover_for_paths(self, files: Iterable[str | Path]) -> list[str]:
        """Load ``.claude/skills`` folders between each file and the working directory.

        Each folder is looked at the first time a file below it is touched; git-ignored
        folders are skipped. A discovered skill whose name is taken is listed under a
        qualified name (``apps/web:deploy``). Returns the names added.
        """
        base = str(self.cwd)
        candidates: list[Path] = []
        with self._lock:
            for file in files:
                rel = _relative_inside(os.fspath(file), base)
                if rel is None:
                    continue
                parts = rel.split("/")[:-1]
                for depth in range(len(parts), 0, -1):
                    folder = self.cwd.joinpath(*parts[:depth])
                    if folder in self._checked_dirs:
                        continue
                    self._checked_dirs.add(folder)
                    candidates.append(folder)
        return self._discover_dirs(candidates, notify=True)

    def _discover_dirs(self, candidates: Iterable[Path], *, notify: bool) -> list[str]:
        found: list[Path] = []
        for folder in candidates:
            if not (folder / ".claude" / "skills").is_dir():
                continue
            if self._gitignore is None:
                self._gitignore = GitIgnore.for_path(self.cwd) or GitIgnore(self.cwd)
            if self._gitignore.ignored(folder):
                continue
            found.append(folder)
        # deeper folders first, then by name: the same files give the same names
        found.sort(key=lambda f: (-len(f.parts), str(f)))
        added: list[str] = []
        with self._lock:
            for folder in found:
                self._checked_dirs.add(folder)
                qualifier = folder.relative_to(self.cwd).as_posix()
                batch = skills_in_folder(folder / ".claude" / "skills", source=Source.PROJECT)
                self._diagnostics.extend(batch.diagnostics)
                for loaded in batch.loaded:
                    skill = self._admit(loaded, -1, self._diagnostics, nested=qualifier)
                    if skill is None:
                        continue
                    with _ACTIVATED_LOCK:
                        active = not skill.conditional or skill.name in _ACTIVATED
                    if active:
                        self._active.add(skill.name)
                    added.append(skill.name)
        if added and notify:
            self._notify()
        return added

    # -- change signal ---------------------------------------------------------------

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` whenever the set of skills changes; returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:  # one broken listener must not starve the others
                logger.exception("skill registry change listener failed")

    def __repr__(self) -> str:
        return f"<SkillRegistry cwd={str(self.cwd)!r} skills={len(self._all)}>"


def _run_source(job: Callable[[], Batch]) -> Batch:
    """Run one source; a bug in one source must not hide the skills of the others."""
    try:
        return job()
    except Exception as exc:
        logger.exception("skill source failed")
        return Batch(
            diagnostics=[
                Diagnostic(
                    "error",
                    f"a skill source failed ({type(exc).__name__}: {exc}); its skills are missing",
                    fix="report this as a bug in skilld",
                )
            ]
        )


def _relative_inside(file: str, base: str) -> str | None:
    """``file`` relative to ``base`` in ``/`` form, or None when it lies outside."""
    path = file if os.path.isabs(file) else os.path.join(base, file)
    try:
        rel = os.path.relpath(os.path.normpath(path), base)
    except ValueError:  # another drive on Windows
        return None
    if rel == "." or rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


_CACHE: dict[tuple[Any, ...], SkillRegistry] = {}
_CACHE_LOCK = threading.Lock()


def load_registry(
    cwd: str | Path | None = None,
    *,
    add_dirs: Sequence[str | Path] = (),
    plugin_dirs: Sequence[str | Path] = (),
    settings: Settings | None = None,
    include_packages: bool = True,
    include_bundled: bool = True,
) -> SkillRegistry:
    """The registry for ``cwd`` and these options, built once and then memoized."""
    settings = settings if settings is not None else Settings.from_env()
    key = (
        os.path.realpath(cwd if cwd is not None else os.getcwd()),
        tuple(os.path.realpath(d) for d in add_dirs),
        tuple(os.path.realpath(d) for d in plugin_dirs),
        settings,
        include_packages,
        include_bundled,
    )
    with _CACHE_LOCK:
        registry = _CACHE.get(key)
    if registry is None:
        registry = SkillRegistry(
            cwd,
            add_dirs=add_dirs,
            plugin_dirs=plugin_dirs,
            settings=settings,
            include_packages=include_packages,
            include_bundled=include_bundled,
        )
        with _CACHE_LOCK:
            registry = _CACHE.setdefault(key, registry)
    return registry


def clear_caches(*, activations: bool = False) -> None:
    """Forget every memoized registry. Activated conditional skills are kept unless
    ``activations`` is true (tests use that to start from a clean process state)."""
    with _CACHE_LOCK:
        _CACHE.clear()
    if activations:
        with _ACTIVATED_LOCK:
            _ACTIVATED.clear()
