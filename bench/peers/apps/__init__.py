"""The peers' task definitions, configured as their documentation recommends for
production (see ``bench/peers/README.md``); imported by their own worker CLIs in
``bench/.venv-peers``. Every name comes from ``BENCH_*`` environment variables so each
run has its own queues and result keys."""
