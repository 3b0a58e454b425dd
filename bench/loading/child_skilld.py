"""One cold load by skilld in a fresh process; prints a JSON line. Usage: ROOT."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    root = sys.argv[1]
    empty = tempfile.mkdtemp()
    # no personal or managed skills: the run reads exactly ROOT
    os.environ["SKILLD_HOME"] = empty
    os.environ["SKILLD_MANAGED_DIR"] = empty
    start = time.perf_counter()
    from skilld.skills.registry import SkillRegistry

    imported = time.perf_counter()
    base_rss = _rss_mb()
    cpu = time.process_time()
    registry = SkillRegistry(empty, add_dirs=[root])
    loaded = time.perf_counter()
    cpu = time.process_time() - cpu
    skills = registry.all_skills()
    print(
        json.dumps(
            {
                "count": len(skills),
                "errors": sum(1 for d in registry.diagnostics if d.level == "error"),
                "with_diagnostics": sum(1 for s in skills if s.diagnostics),
                "import_s": imported - start,
                "load_s": loaded - imported,
                "cpu_s": cpu,
                "peak_rss_mb": _rss_mb(),
                "load_rss_mb": _rss_mb() - base_rss,
            }
        )
    )


if __name__ == "__main__":
    main()
