"""skilld.permissions is a package of small modules; its public names stay in one place."""

from __future__ import annotations

import importlib
import pkgutil

import skilld.permissions as permissions


def test_all_lists_every_public_name_once() -> None:
    assert len(permissions.__all__) == len(set(permissions.__all__))
    for name in permissions.__all__:
        assert hasattr(permissions, name), name
    public = {
        name
        for name, value in vars(permissions).items()
        if not name.startswith("_") and not isinstance(value, type(permissions))
    }
    assert public == set(permissions.__all__)


def test_every_submodule_name_exported_here_is_the_same_object() -> None:
    for info in pkgutil.iter_modules(permissions.__path__):
        module = importlib.import_module(f"skilld.permissions.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in permissions.__all__:
                assert getattr(permissions, name) is getattr(module, name), name
