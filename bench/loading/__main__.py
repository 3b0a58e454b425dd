"""``python -m bench.loading``: cold load of generated skills and the corpus, vs skills-ref.

Every measurement is a fresh process (imports are timed apart from the load) reading
the same folder; wall time and, in brackets, CPU time (steadier on a shared machine);
the page cache is warm (one discarded warm-up run per case). Times are
medians over ``--repeat`` runs, the two libraries alternating. skills-ref runs from its
own virtual environment (``bench/.venv`` by default, created on first use with
``pip install skills-ref==0.1.1``), never from skilld's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

from bench.loading.generate import generate

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "skills"
SKILLS_REF = "skills-ref==0.1.1"
TARGET_10K_S = 1.0
TARGET_RATIO = 3.0


def skills_ref_python(explicit: str | None) -> Path | None:
    """The interpreter of a virtual environment holding skills-ref (made if missing)."""
    if explicit:
        return Path(explicit)
    env_dir = REPO / "bench" / ".venv"
    python = env_dir / "bin" / "python"
    if not python.exists():
        print(f"creating {env_dir} with {SKILLS_REF} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    check = subprocess.run([python, "-c", "import skills_ref"], capture_output=True)
    if check.returncode != 0:
        install = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", SKILLS_REF], capture_output=True
        )
        if install.returncode != 0:
            print(f"could not install {SKILLS_REF}; skills-ref is left out", file=sys.stderr)
            return None
    return python


def run_child(python: Path | str, script: str, root: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(python), str(HERE / script), str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(
    root: Path, ref_python: Path | None, repeat: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    run_child(sys.executable, "child_skilld.py", root)  # warm the page cache
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for _ in range(repeat):
        ours.append(run_child(sys.executable, "child_skilld.py", root))
        if ref_python is not None:
            theirs.append(run_child(ref_python, "child_skills_ref.py", root))
    return ours, theirs


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loading", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "results" / "tmp")
    parser.add_argument("--skills-ref-python", default=os.environ.get("SKILLS_REF_PYTHON"))
    parser.add_argument("--no-skills-ref", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    ref_python = None if args.no_skills_ref else skills_ref_python(args.skills_ref_python)
    cases = [(f"generated {n:,}", generate(args.data / f"gen-{n}", n)) for n in args.sizes]
    if CORPUS.is_dir():
        cases.append(("shared corpus", CORPUS))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat}\n")
    print(
        "| case | skills loaded (skilld / skills-ref) | skilld load (CPU) | skills-ref load (CPU) "
        "| speed-up (CPU) | skilld peak RSS | skills-ref peak RSS | import (skilld / skills-ref) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for label, root in cases:
        ours, theirs = measure(root, ref_python, args.repeat)
        load, cpu = median(ours, "load_s"), median(ours, "cpu_s")
        row = [label, f"{ours[0]['count']:,}", f"{load * 1000:.0f} ms ({cpu * 1000:.0f} ms)"]
        row += ["n/a", "n/a"]
        row += [f"{median(ours, 'peak_rss_mb'):.0f} MB", "n/a"]
        imports = f"{median(ours, 'import_s') * 1000:.0f} ms"
        if theirs:
            ref_load, ref_cpu = median(theirs, "load_s"), median(theirs, "cpu_s")
            ratio = ref_load / load
            row[1] += f" / {theirs[0]['count']:,} ({theirs[0]['errors']} refused)"
            row[3] = f"{ref_load * 1000:.0f} ms ({ref_cpu * 1000:.0f} ms)"
            row[4] = f"{ratio:.1f}x ({ref_cpu / cpu:.1f}x)"
            row[6] = f"{median(theirs, 'peak_rss_mb'):.0f} MB"
            imports += f" / {median(theirs, 'import_s') * 1000:.0f} ms"
            failed |= ratio < TARGET_RATIO
        row.append(imports)
        if label == "generated 10,000":
            failed |= load >= TARGET_10K_S
        print("| " + " | ".join(row) + " |", flush=True)
    print(
        f"\ntargets: 10,000 skills in < {TARGET_10K_S:.0f} s, >= {TARGET_RATIO:.0f}x skills-ref: "
        + ("missed" if failed else "met")
    )
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
