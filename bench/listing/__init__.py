"""Benchmark of the skill listing (``python -m bench.listing``)."""
