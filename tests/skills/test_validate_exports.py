"""skilld.skills.validate is a package of small modules; its public names stay in one place."""

from __future__ import annotations

import importlib
import pkgutil

import skilld.skills.validate as validate


def test_all_lists_names_of_the_package_once() -> None:
    assert len(validate.__all__) == len(set(validate.__all__))
    for name in validate.__all__:
        value = getattr(validate, name)
        if callable(value):  # functions and classes: defined in the package
            assert value.__module__.startswith("skilld.skills.validate"), name


def test_every_submodule_has_an_all_of_names_it_defines() -> None:
    for info in pkgutil.iter_modules(validate.__path__):
        module = importlib.import_module(f"skilld.skills.validate.{info.name}")
        for name in module.__all__:
            assert hasattr(module, name), (info.name, name)
