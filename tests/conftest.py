"""Shared fixtures. Every test runs with a private home and managed directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CORPUS

_ENGINE_VARIABLES = (
    "SKILLD_BROKER_URL",
    "SKILLD_STORE_URL",
    "SKILLD_DEFAULT_MODEL",
    "SKILLD_DISABLE_SHELL",
    "SKILLD_DATA_DIR",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``~`` and the managed directory at empty temporary folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SKILLD_HOME", str(home))
    monkeypatch.setenv("SKILLD_MANAGED_DIR", str(tmp_path_factory.mktemp("managed")))
    for name in (
        "SKILLD_BROKER_URL",
        "SKILLD_STORE_URL",
        "SKILLD_DEFAULT_MODEL",
        "SKILLD_DISABLE_SHELL",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``corpus`` read the shared corpus of real skills beside the checkout:
    skipped on a laptop that does not have it, failed in CI, where it must be."""
    if item.get_closest_marker("corpus") is None or CORPUS.is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail(f"the shared corpus is missing: {CORPUS}")
    pytest.skip(f"the shared corpus is not beside this checkout ({CORPUS})")
