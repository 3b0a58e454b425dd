"""Find skill folders on disk: the one walker every file-system source shares.

Two shapes of root exist. A *skills folder* (``.claude/skills``, ``~/.agents/skills``...)
holds one skill per direct subfolder, as in Claude Code. A *tree* (an ``--add-dir``
root) is searched recursively for any folder holding a ``SKILL.md``, because real
repositories keep skills under ``skills/``, ``plugins/*/skills/`` and dot-folders. A
skill folder's own subfolders belong to that skill and are not searched (a ``SKILL.md``
in there is one of its files, as in Claude Code), except below the root itself.

The walk canonicalizes paths as it goes: a child that is not a symbolic link has the
canonical path ``canonical(parent)/name``, so only symlinked entries cost a
``realpath`` call. Symlinked folders are followed; a folder already visited (by
canonical path) is not walked twice, which also ends symlink cycles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skilld.skills.model import Diagnostic

__all__ = [
    "NEVER_SCANNED",
    "SKILL_FILE",
    "FoundSkill",
    "GitIgnore",
    "ScanLimits",
    "find_git_root",
    "iter_tree",
    "scan_skills_folder",
    "scan_tree",
]

SKILL_FILE = "SKILL.md"
NEVER_SCANNED = frozenset({".git", "node_modules"})
"""Folder names no scan ever enters (git-ignored folders are skipped as well)."""


@dataclass(frozen=True, slots=True)
class FoundSkill:
    """A skill file found on disk.

    ``file`` is the path as found (through any symlink), ``real`` its canonical path
    (the deduplication key), ``container`` the folder the skill folder sits in.
    """

    file: str
    real: str
    container: str


@dataclass(frozen=True, slots=True)
class ScanLimits:
    max_depth: int
    max_dirs: int


@dataclass(slots=True)
class _Spec:
    base: str
    match: Callable[[str], bool]


def _compile_gitignore(path: str) -> _Spec | None:
    import pathspec  # imported on first use: most scans meet no .gitignore at all

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    if not spec.patterns:
        return None
    return _Spec(os.path.dirname(path), spec.match_file)


def find_git_root(start: str | Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (folder or file)."""
    current = os.path.abspath(start)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return Path(current)
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


@dataclass
class GitIgnore:
    """Answers "is this folder git-ignored?" from the ``.gitignore`` files of a repository.

    Only ``.gitignore`` files between the repository root and the folder asked about
    count (as in git); compiled specs are cached per folder.
    """

    root: Path
    _specs: dict[str, _Spec | None] = field(default_factory=dict)

    @classmethod
    def for_path(cls, path: str | Path) -> GitIgnore | None:
        root = find_git_root(path)
        return cls(root) if root is not None else None

    def _spec(self, folder: str) -> _Spec | None:
        if folder not in self._specs:
            self._specs[folder] = _compile_gitignore(os.path.join(folder, ".gitignore"))
        return self._specs[folder]

    def specs_above(self, folder: str | Path) -> list[_Spec]:
        """The specs of ``root`` down to ``folder``'s parent, outermost first."""
        folder = os.path.abspath(folder)
        root = str(self.root)
        chain: list[str] = []
        current = os.path.dirname(folder)
        while current.startswith(root) and len(current) >= len(root):
            chain.append(current)
            if current == root:
                break
            current = os.path.dirname(current)
        return [s for s in (self._spec(c) for c in reversed(chain)) if s is not None]

    def ignored(self, folder: str | Path) -> bool:
        folder = os.path.abspath(folder)
        return _ignored(folder, self.specs_above(folder))


def _ignored(folder: str, specs: Iterable[_Spec]) -> bool:
    for spec in specs:
        rel = os.path.relpath(folder, spec.base)
        if rel.startswith(".."):
            continue
        if spec.match(rel.replace(os.sep, "/") + "/"):
            return True
    return False


def _skill_file_in(entries: list[os.DirEntry[str]]) -> os.DirEntry[str] | None:
    """The SKILL.md among ``entries``; another case spelling only if the exact one is absent."""
    other: os.DirEntry[str] | None = None
    for entry in entries:
        name = entry.name
        if len(name) == 8 and name.upper() == "SKILL.MD":
            if name == SKILL_FILE:
                return entry
            other = entry if other is None or name < other.name else other
    return other


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks, as we want
    except OSError:
        return False


def _scandir(path: str, diagnostics: list[Diagnostic]) -> list[os.DirEntry[str]] | None:
    try:
        with os.scandir(path) as iterator:
            return list(iterator)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        diagnostics.append(
            Diagnostic(
                "warning",
                f"cannot read folder: {exc.strerror or exc}; skills in it are skipped",
                Path(path),
                fix="check the folder's permissions",
            )
        )
        return None


def _case_diagnostic(entry: os.DirEntry[str]) -> Diagnostic:
    return Diagnostic(
        "info",
        f"skill file is spelled {entry.name!r}; loaded as SKILL.md",
        Path(entry.path),
        fix="rename it to SKILL.md: Claude Code finds only that spelling on "
        "case-sensitive file systems",
    )


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _child_real(parent_real: str, entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return os.path.realpath(entry.path)
    return os.path.join(parent_real, entry.name)


def scan_skills_folder(folder: str | Path, diagnostics: list[Diagnostic]) -> list[FoundSkill]:
    """The skills of a Claude Code skills folder: ``folder/<name>/SKILL.md``, by name."""
    folder = os.fspath(folder)
    entries = _scandir(folder, diagnostics)
    if entries is None:
        return []
    folder_real = os.path.realpath(folder)
    found: list[FoundSkill] = []
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name in NEVER_SCANNED or not _is_dir(entry):
            continue
        exact = entry.path + os.sep + SKILL_FILE
        if _exists(exact):  # one stat instead of listing the folder: the common case
            real = _child_real(folder_real, entry) + os.sep + SKILL_FILE
            found.append(FoundSkill(exact, real, folder))
            continue
        children = _scandir(entry.path, diagnostics)
        if not children:
            continue
        skill_file = _skill_file_in(children)
        if skill_file is None:
            continue
        if skill_file.name != SKILL_FILE:
            diagnostics.append(_case_diagnostic(skill_file))
        real = os.path.join(_child_real(folder_real, entry), skill_file.name)
        found.append(FoundSkill(skill_file.path, real, folder))
    return found


def scan_tree(
    root: str | Path,
    limits: ScanLimits,
    diagnostics: list[Diagnostic],
    *,
    gitignore: GitIgnore | None = None,
) -> list[FoundSkill]:
    """Every skill folder below ``root``, as a list (see :func:`iter_tree`)."""
    return list(iter_tree(root, limits, diagnostics, gitignore=gitignore))


def iter_tree(
    root: str | Path,
    limits: ScanLimits,
    diagnostics: list[Diagnostic],
    *,
    gitignore: GitIgnore | None = None,
) -> Iterator[FoundSkill]:
    """Every skill folder below ``root`` (``root`` itself included), depth first by name.

    Skipped: ``.git``, ``node_modules``, folders ignored by the repository's
    ``.gitignore`` files (a root that is itself ignored is still read: it was named on
    purpose), anything deeper than ``limits.max_depth`` levels; the walk
    stops after ``limits.max_dirs`` folders. Each bound hit is reported once.
    """
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        return
    if gitignore is None:
        gitignore = GitIgnore.for_path(root)
    outer_specs = gitignore.specs_above(os.path.join(root, "x")) if gitignore else []
    if outer_specs and _ignored(root, outer_specs):
        # the root was named on purpose: only .gitignore files inside it apply
        outer_specs = []

    visited: set[str] = set()
    depth_hit = False
    dirs_seen = 0
    # depth-first, children in name order: the result does not depend on the file system
    stack: list[tuple[str, str, int, list[_Spec]]] = [
        (root, os.path.realpath(root), 0, outer_specs)
    ]
    while stack:
        path, real, depth, specs = stack.pop()
        if real in visited:
            continue
        visited.add(real)
        dirs_seen += 1
        if dirs_seen > limits.max_dirs:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    f"stopped after {limits.max_dirs} folders; skills further on are not loaded",
                    Path(root),
                    fix="point --add-dir at a smaller folder or raise SKILLD_SCAN_MAX_DIRS",
                )
            )
            break
        if depth > 0:
            exact = path + os.sep + SKILL_FILE
            if _exists(exact):
                # A skill folder: one stat instead of a listing. Its subfolders are its
                # own files (references/, scripts/, a SKILL.md template...), as in
                # Claude Code, so they are not searched for skills.
                yield FoundSkill(exact, real + os.sep + SKILL_FILE, os.path.dirname(path))
                continue
        entries = _scandir(path, diagnostics)
        if entries is None:
            continue
        # one pass over the entries: this loop runs once per folder of the tree
        skill_file: os.DirEntry[str] | None = None
        subdirs: list[os.DirEntry[str]] = []
        has_gitignore = False
        for entry in entries:
            name = entry.name
            if len(name) == 8 and name.upper() == "SKILL.MD":
                if (
                    skill_file is None
                    or name == SKILL_FILE
                    or (skill_file.name != SKILL_FILE and name < skill_file.name)
                ):
                    skill_file = entry
            elif name == ".gitignore":
                has_gitignore = True
            elif name not in NEVER_SCANNED and _is_dir(entry):
                subdirs.append(entry)
        if skill_file is not None:
            if skill_file.name != SKILL_FILE:
                diagnostics.append(_case_diagnostic(skill_file))
            yield FoundSkill(
                skill_file.path, real + os.sep + skill_file.name, os.path.dirname(path)
            )
            if depth > 0:
                continue  # a skill folder spelled SKILL.MD: same rule as above
        if has_gitignore:
            spec = _compile_gitignore(os.path.join(path, ".gitignore"))
            if spec is not None:
                specs = [*specs, spec]
        if not subdirs:
            continue
        if depth >= limits.max_depth:
            if not depth_hit:
                depth_hit = True
                diagnostics.append(
                    Diagnostic(
                        "warning",
                        f"folders deeper than {limits.max_depth} levels are not scanned",
                        Path(path),
                        fix="point --add-dir closer to the skills or raise SKILLD_SCAN_MAX_DEPTH",
                    )
                )
            continue
        if len(subdirs) > 1:
            subdirs.sort(key=_name, reverse=True)
        for entry in subdirs:
            if specs and _ignored(entry.path, specs):
                continue
            stack.append((entry.path, _child_real(real, entry), depth + 1, specs))
