"""Skills from Python packages through the ``skilld.skills`` entry-point group."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

from skilld.skills.model import LoadedFrom, Source
from skilld.skills.registry import SkillRegistry
from skilld.skills.sources.packages import package_skills
from tests.helpers import write_skill


def install_fake_distribution(
    site: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str
) -> str:
    """Write a package and its .dist-info on a private sys.path entry; returns its name."""
    package = "fakeskills_" + uuid.uuid4().hex[:8]
    folder = site / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(
        "from pathlib import Path\n"
        "HERE = Path(__file__).parent\n"
        "def extra():\n    return [HERE / 'more']\n"
        "NOT_A_PATH = 42\n"
    )
    write_skill(folder / "skills", "pkg-hello", "description: from a package")
    write_skill(folder / "more", "pkg-more", "description: from a function")
    info = site / f"{package}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points.format(package=package))
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, package, raising=False)
    return package


def test_entry_points_give_skills_and_broken_ones_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(
        tmp_path / "site",
        monkeypatch,
        "[skilld.skills]\n"
        "a-module = {package}\n"
        "b-function = {package}:extra\n"
        "c-missing = {package}.nothing_here\n"
        "d-wrong-type = {package}:NOT_A_PATH\n",
    )
    batch = package_skills()
    got = {item.skill.name: item.skill for item in batch.loaded}
    assert set(got) >= {"pkg-hello", "pkg-more"}
    assert got["pkg-hello"].source is Source.PACKAGE
    assert got["pkg-hello"].loaded_from is LoadedFrom.PACKAGE
    messages = [d.message for d in batch.diagnostics]
    assert any("c-missing" in m and "ModuleNotFoundError" in m for m in messages)
    assert any("d-wrong-type" in m and "TypeError" in m for m in messages)


def test_package_skills_rank_below_local_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path / "site", monkeypatch, "[skilld.skills]\nx = {package}\n")
    cwd = tmp_path / "proj"
    write_skill(cwd / ".claude" / "skills", "pkg-hello", "description: local")
    reg = SkillRegistry(cwd)
    assert reg.get("pkg-hello").description == "local"  # type: ignore[union-attr]
    assert SkillRegistry(cwd, include_packages=False).get("pkg-hello") is not None
    assert any("shadowed" in d.message for d in reg.diagnostics)
