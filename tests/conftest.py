"""Shared fixtures. Every test runs with a private home and managed directory."""

from __future__ import annotations

from pathlib import Path

import pytest

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
