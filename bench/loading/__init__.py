"""Cold-load benchmark: skilld's registry against the agentskills reference library.

Run ``python -m bench.loading`` (see ``bench/README.md``).
"""
