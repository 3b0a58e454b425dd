"""One cold load by skills-ref (the agentskills reference library) in a fresh process.

skills-ref reads one skill folder at a time and has no discovery, so the same walk
skilld does (every folder holding SKILL.md, .git and node_modules skipped, symlinked
folders followed once) feeds ``read_properties``. Runs in its own virtual environment.
Usage: ROOT. Prints a JSON line.
"""

import json
import os
import resource
import sys
import time


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def skill_dirs(root):
    seen = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules"))
        if any(f.upper() == "SKILL.MD" for f in files):
            yield folder


def main():
    root = sys.argv[1]
    start = time.perf_counter()
    from skills_ref import read_properties

    imported = time.perf_counter()
    base_rss = _rss_mb()
    loaded, errors = [], 0
    cpu = time.process_time()
    for folder in skill_dirs(root):
        try:
            loaded.append(read_properties(folder))
        except Exception:  # ParseError, ValidationError: the reference library is strict
            errors += 1
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "count": len(loaded),
                "errors": errors,
                "with_diagnostics": errors,
                "import_s": imported - start,
                "load_s": done - imported,
                "cpu_s": cpu,
                "peak_rss_mb": _rss_mb(),
                "load_rss_mb": _rss_mb() - base_rss,
            }
        )
    )


if __name__ == "__main__":
    main()
