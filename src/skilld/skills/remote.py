"""Remote skills: fetched from a URL or a git repository, pinned by content hash, cached.

A remote skill is named by a :class:`RemoteSkillSpec`: a name, where it lives, and
optionally a pin (``sha256:<hex>``, the :func:`~skilld.skills.model.content_hash` of the
skill folder: relative names and bytes, never timestamps or locations). Sources:

* ``https://…/SKILL.md`` (or ``http://``, ``file://``): one SKILL.md;
* ``https://…/skill.tar.gz`` / ``.tgz`` / ``.tar`` / ``.zip``: an archive holding a
  skill folder (SKILL.md at its top, in its single top folder, or under ``subdirectory``);
* ``https://registry/…`` answering JSON ``{"url": …, "sha256": …}``: a registry entry that
  points at one of the above (its pin is used when the spec has none; a spec's pin must
  agree with it);
* ``git+<url>#ref=<branch-or-tag>&path=<folder>``: a shallow clone (``git`` must be
  installed), e.g. ``git+file:///srv/skills.git#ref=v1&path=review``.

Fetching downloads into a temporary folder beside the cache, unpacks, hashes, compares
with the pin, and only then moves the folder into the cache under its hash, so a
mismatched or unsafe download never lands in the cache. A pinned skill already in the
cache is loaded without touching the network. Archives are checked member by member
before anything is written: absolute paths, ``..`` components, links that leave the
archive, devices and oversized contents are refused with the member named.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, urlsplit

from skilld.exceptions import RemoteSkillError
from skilld.settings import Settings
from skilld.skills.loader import load_skill_file
from skilld.skills.model import LoadedFrom, Skill, Source, content_hash

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RemoteSkillSpec",
    "RemoteSkills",
    "default_cache_dir",
    "fetch_remote_skill",
    "normalise_pin",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""The most a download, or an archive's unpacked contents, may weigh."""
_PIN = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
_TIMEOUT = 30.0


def normalise_pin(pin: str) -> str:
    """``"sha256:<hex>"`` (lower case) from ``sha256:<hex>`` or a bare 64-digit hex string."""
    match = _PIN.match(pin.strip())
    if match is None:
        raise RemoteSkillError(f"not a sha256 pin: {pin!r} (write sha256:<64 hex digits>)")
    return "sha256:" + match.group(1).lower()


def default_cache_dir(settings: Settings | None = None) -> Path:
    """``~/.cache/skilld/remote-skills`` (``~`` as :class:`~skilld.settings.Settings` says)."""
    settings = settings if settings is not None else Settings.from_env()
    return settings.home / ".cache" / "skilld" / "remote-skills"


@dataclass(frozen=True, slots=True)
class RemoteSkillSpec:
    """Where one remote skill lives and, optionally, the content it must have."""

    name: str
    url: str
    sha256: str | None = None
    subdirectory: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None:
            object.__setattr__(self, "sha256", normalise_pin(self.sha256))


def fetch_remote_skill(
    spec: RemoteSkillSpec,
    *,
    cache_dir: Path | None = None,
    timeout: float = _TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Skill:
    """Fetch (or load from the cache) the skill ``spec`` names; see the module doc.

    Raises :class:`~skilld.exceptions.RemoteSkillError` naming the URL when the download
    fails, the content is unsafe or not a skill, or its hash differs from the pin.
    """
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    if spec.sha256 is not None:
        cached = cache / spec.sha256.removeprefix("sha256:")
        if (cached / "SKILL.md").is_file() and content_hash(cached) == spec.sha256:
            return _load(spec, cached)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as scratch:
        root, pin = _download(spec, Path(scratch), timeout, max_bytes)
        if spec.sha256 is not None and pin is not None and pin != spec.sha256:
            raise RemoteSkillError(
                f"{spec.url}: the registry pins {pin} but the spec pins {spec.sha256}"
            )
        expected = spec.sha256 or pin
        actual = content_hash(root)
        if expected is not None and actual != expected:
            raise RemoteSkillError(
                f"{spec.url}: content hash {actual} does not match the pin {expected}; "
                "the skill changed upstream (update the pin if the change is trusted)"
            )
        target = cache / actual.removeprefix("sha256:")
        if not target.exists():
            try:
                os.replace(root, target)
            except OSError:
                if not target.exists():  # another process may have won the race
                    raise
    return _load(spec, target)


def _load(spec: RemoteSkillSpec, folder: Path) -> Skill:
    skill = load_skill_file(
        folder / "SKILL.md",
        name=spec.name,
        source=Source.REMOTE,
        loaded_from=LoadedFrom.REMOTE,
        directory=folder,
    )
    return replace(skill, metadata={**skill.metadata, "remote_url": spec.url})


def _download(
    spec: RemoteSkillSpec, scratch: Path, timeout: float, max_bytes: int
) -> tuple[Path, str | None]:
    """The unpacked skill folder inside ``scratch``, and the registry's pin if one answered."""
    if spec.url.startswith("git+"):
        return _clone(spec, scratch, timeout), None
    data, content_type = _get(spec.url, timeout, max_bytes)
    path = urlsplit(spec.url).path.lower()
    unpacked = scratch / "unpacked"
    if path.endswith(".zip") or data[:4] == b"PK\x03\x04":
        _unzip(spec.url, data, unpacked, max_bytes)
    elif path.endswith((".tar.gz", ".tgz", ".tar")) or data[:2] == b"\x1f\x8b":
        _untar(spec.url, data, unpacked, max_bytes)
    elif "json" in content_type or path.endswith(".json"):
        return _from_registry(spec, data, scratch, timeout, max_bytes)
    else:
        unpacked.mkdir()
        (unpacked / "SKILL.md").write_bytes(data)
    return _skill_root(spec, unpacked), None


def _from_registry(
    spec: RemoteSkillSpec, data: bytes, scratch: Path, timeout: float, max_bytes: int
) -> tuple[Path, str | None]:
    try:
        entry = json.loads(data)
        url = entry["url"]
        pin = entry.get("sha256")
    except (ValueError, KeyError, TypeError):
        raise RemoteSkillError(
            f"{spec.url}: a registry answer must be JSON with a 'url' (and a 'sha256')"
        ) from None
    own = urlsplit(spec.url).scheme
    if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https", own}:
        # A registry points at archives over HTTP: never at local files (a file:// answer
        # would send them to the model) nor at git (running git against another host).
        raise RemoteSkillError(f"{spec.url}: the registry's 'url' must be an http(s) URL")
    target = RemoteSkillSpec(spec.name, url, None, entry.get("subdirectory") or spec.subdirectory)
    nested = scratch / "entry"
    nested.mkdir()
    root, _ = _download(target, nested, timeout, max_bytes)
    return root, normalise_pin(pin) if isinstance(pin, str) else None


def _get(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise RemoteSkillError(
            f"{url}: unsupported URL scheme {scheme!r} (use http, https, file or git+)"
        )
    request = urllib.request.Request(url, headers={"User-Agent": "skilld"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
            content_type = response.headers.get("Content-Type", "") if scheme != "file" else ""
    except OSError as exc:
        raise RemoteSkillError(f"{url}: download failed: {exc}") from exc
    if len(data) > max_bytes:
        raise RemoteSkillError(f"{url}: more than {max_bytes} bytes; refused")
    return data, content_type.lower()


def _clone(spec: RemoteSkillSpec, scratch: Path, timeout: float) -> Path:
    url, _, fragment = spec.url.removeprefix("git+").partition("#")
    options = dict(parse_qsl(fragment))
    if shutil.which("git") is None:
        raise RemoteSkillError(f"{spec.url}: git is not installed")
    repo = scratch / "repo"
    command = ["git", "clone", "--depth", "1", "--quiet"]
    if options.get("ref"):
        command += ["--branch", options["ref"]]
    command += ["--", url, str(repo)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=timeout, env=env)
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode("utf-8", "replace").strip()
        raise RemoteSkillError(f"{spec.url}: git clone failed: {reason}") from None
    except subprocess.TimeoutExpired:
        raise RemoteSkillError(f"{spec.url}: git clone took more than {timeout:g}s") from None
    shutil.rmtree(repo / ".git", ignore_errors=True)
    sub = options.get("path") or spec.subdirectory
    return _skill_root(replace(spec, subdirectory=sub), repo)


def _skill_root(spec: RemoteSkillSpec, unpacked: Path) -> Path:
    """The folder holding SKILL.md: ``subdirectory``, the top, or the single top folder."""
    if spec.subdirectory:
        relative = _safe_relative(spec.subdirectory)
        if relative is None:
            raise RemoteSkillError(f"{spec.url}: subdirectory {spec.subdirectory!r} is unsafe")
        root = unpacked / relative
    elif (unpacked / "SKILL.md").is_file():
        root = unpacked
    else:
        entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
    if not (root / "SKILL.md").is_file():
        raise RemoteSkillError(f"{spec.url}: no SKILL.md found (looked in {root.name or '/'})")
    return root


def _safe_relative(name: str) -> PurePosixPath | None:
    """``name`` as a relative path inside an archive, or None when it would leave it."""
    text = name.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    path = PurePosixPath(text)
    if ".." in path.parts:
        return None
    return path


def _refuse(url: str, member: str, why: str) -> RemoteSkillError:
    return RemoteSkillError(f"{url}: archive member {member!r} {why}; refused")


def _untar(url: str, data: bytes, dest: Path, max_bytes: int) -> None:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
    except tarfile.TarError as exc:
        raise RemoteSkillError(f"{url}: not a readable tar archive: {exc}") from None
    with archive:
        members = archive.getmembers()
        total = 0
        for member in members:
            if _safe_relative(member.name) is None:
                raise _refuse(url, member.name, "has an absolute path or '..'")
            if member.issym() or member.islnk():
                # A symlink's target is relative to its folder, a hard link's to the root.
                base = PurePosixPath(member.name).parent if member.issym() else PurePosixPath()
                target = os.path.normpath(str(base / member.linkname))
                if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                    why = f"links outside the archive ({member.linkname})"
                    raise _refuse(url, member.name, why)
            elif not (member.isfile() or member.isdir()):
                raise _refuse(url, member.name, "is a device or fifo")
            total += member.size
            if total > max_bytes:
                raise RemoteSkillError(f"{url}: unpacks to more than {max_bytes} bytes; refused")
        dest.mkdir(parents=True)
        archive.extractall(dest, members=members, filter="data")


def _unzip(url: str, data: bytes, dest: Path, max_bytes: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise RemoteSkillError(f"{url}: not a readable zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        total = 0
        for info in infos:
            if _safe_relative(info.filename) is None:
                raise _refuse(url, info.filename, "has an absolute path or '..'")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refuse(url, info.filename, "is a symbolic link")
            total += info.file_size
            if total > max_bytes:
                raise RemoteSkillError(f"{url}: unpacks to more than {max_bytes} bytes; refused")
        dest.mkdir(parents=True)
        for info in infos:
            relative = _safe_relative(info.filename)
            assert relative is not None
            target = dest / relative
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)


class RemoteSkills:
    """A catalogue of remote skills, each fetched on first use and kept for the process.

    Args:
        specs: the skills, by name.
        cache_dir: where fetched skills are kept (default :func:`default_cache_dir`).
        timeout: seconds per download or clone.
        max_bytes: the size limit of a download and of an archive's contents.
    """

    def __init__(
        self,
        specs: Iterable[RemoteSkillSpec] = (),
        *,
        cache_dir: Path | None = None,
        timeout: float = _TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._fetched: dict[str, Skill] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return list(self.specs)

    @property
    def pins(self) -> frozenset[str]:
        """Every pin of the catalogue (a skill whose hash is one is trusted as it is)."""
        return frozenset(spec.sha256 for spec in self.specs.values() if spec.sha256)

    def cached(self, name: str) -> Skill | None:
        """The skill if it was fetched already in this process."""
        with self._lock:
            return self._fetched.get(name)

    def fetch(self, name: str) -> Skill:
        """The skill ``name``, fetched (or loaded from the disk cache) on first use."""
        spec = self.specs.get(name)
        if spec is None:
            raise RemoteSkillError(f"no remote skill named {name!r}")
        with self._lock:
            known = self._fetched.get(name)
        if known is not None:
            return known
        skill = fetch_remote_skill(
            spec, cache_dir=self.cache_dir, timeout=self.timeout, max_bytes=self.max_bytes
        )
        with self._lock:
            return self._fetched.setdefault(name, skill)

    async def get(self, name: str) -> Skill:
        """:meth:`fetch` in a worker thread, so a download never blocks the event loop."""
        cached = self.cached(name)
        return cached if cached is not None else await asyncio.to_thread(self.fetch, name)
