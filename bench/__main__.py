"""``python -m bench [NAME] [ARGS...]``: run one benchmark, or all of them.

Names: ``peers`` (skilld vs Celery, Dramatiq and Taskiq; ``python -m bench peers
--help``), ``loading``, ``expansion``, ``listing``, ``engine`` (each also runs as
``python -m bench.NAME``). Without a name every benchmark present runs in turn, each in
its own process, with its default settings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("loading", "expansion", "listing", "engine", "peers")


def available() -> list[str]:
    return [name for name in NAMES if (HERE / name / "__main__.py").exists()]


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("present:", ", ".join(available()))
        return 0
    if argv:
        name, rest = argv[0], argv[1:]
        if name not in available():
            print(f"unknown benchmark {name!r}; present: {', '.join(available())}", file=sys.stderr)
            return 2
        return subprocess.call([sys.executable, "-m", f"bench.{name}", *rest], cwd=HERE.parent)
    status = 0
    for name in available():
        print(f"== bench.{name}", file=sys.stderr, flush=True)
        status = max(
            status, subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
        )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
