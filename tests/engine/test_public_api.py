from __future__ import annotations

import subprocess
import sys

import skilld.engine


def test_all_is_sorted_and_complete() -> None:
    names = skilld.engine.__all__
    assert names == sorted(names)
    public = {n for n in dir(skilld.engine) if not n.startswith("_")}
    modules = {"batching", "breaker", "brokers", "defaults", "executor", "operations"}
    modules |= {"retry", "sqlite", "stores", "task", "urls", "worker", "annotations"}
    assert public - modules == set(names)


def test_importing_the_engine_imports_no_optional_backend() -> None:
    code = (
        "import sys, skilld.engine;"
        "print(sorted(m for m in ('aio_pika', 'redis', 'fastapi', 'anthropic', 'openai')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
