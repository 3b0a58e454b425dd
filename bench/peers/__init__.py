"""skilld side by side with Celery, Dramatiq and Taskiq (issue 7): ``python -m bench peers``.

The harness (:mod:`bench.peers.harness`) runs in skilld's environment; the peers run in
``bench/.venv-peers``, made by the harness. Pure parts (:mod:`~bench.peers.stats`,
:mod:`~bench.peers.summary`, :mod:`~bench.peers.report`) are tested in ``tests/bench``.
"""
