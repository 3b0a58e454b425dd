from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import skilld.engine


def test_all_is_sorted_and_complete() -> None:
    names = skilld.engine.__all__
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(skilld.engine).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public - {"annotations"} == set(names)


def test_importing_the_engine_imports_no_optional_backend() -> None:
    code = (
        "import sys, skilld.engine;"
        "print(sorted(m for m in ('aio_pika', 'redis', 'fastapi', 'anthropic', 'openai')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
