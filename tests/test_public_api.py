"""The curated public API: every exported name resolves, and ``import skilld`` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import skilld
from tests.helpers import REPO


def test_every_exported_name_resolves() -> None:
    for name in skilld.__all__:
        assert getattr(skilld, name) is not None, name


def test_all_is_sorted_and_unique() -> None:
    assert list(skilld.__all__) == sorted(set(skilld.__all__))


def test_errors_are_part_of_the_api() -> None:
    assert issubclass(skilld.SkillNotFoundError, skilld.SkilldError)
    assert not issubclass(skilld.Retry, skilld.SkilldError)


def test_import_skilld_loads_no_backend() -> None:
    code = (
        "import sys, skilld; "
        "heavy = {'yaml', 'anthropic', 'openai', 'httpx', 'fastapi', 'aio_pika', 'redis', "
        "'msgspec', 'skilld.skills.registry', 'skilld.engine'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "src")},
    )
    assert out.stdout.strip() == "[]"


def test_all_lists_exactly_the_lazy_names_and_the_errors() -> None:
    from skilld import _LAZY, exceptions

    assert set(skilld.__all__) == {*_LAZY, *exceptions.__all__, "__version__"}
