"""Batcher and Coalescer (engine/batching.py): what callers issue together is sent
together, and each caller gets its own reply or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from skilld.engine.batching import Batcher, Coalescer


class _Backend:
    """Records each batch; replies with the item doubled, or an error for negatives."""

    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail

    async def send(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        await asyncio.sleep(0)  # a round trip
        if self.fail:
            raise ConnectionError("backend down")
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]


async def test_items_issued_together_go_in_one_batch() -> None:
    backend = _Backend()
    batcher = Batcher(backend.send)
    replies = await asyncio.gather(*(batcher.submit(i) for i in range(5)))
    assert replies == [0, 2, 4, 6, 8]
    assert backend.batches == [[0, 1, 2, 3, 4]]


async def test_items_arriving_during_a_send_wait_for_the_next_one() -> None:
    backend = _Backend()
    batcher = Batcher(backend.send, max_batch=3)
    replies = await asyncio.gather(*(batcher.submit(i) for i in range(7)))
    assert replies == [0, 2, 4, 6, 8, 10, 12]
    assert backend.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_an_error_reply_reaches_its_caller_only() -> None:
    batcher = Batcher(_Backend().send)
    good, bad = await asyncio.gather(batcher.submit(1), batcher.submit(-1), return_exceptions=True)
    assert good == 2
    assert isinstance(bad, ValueError)
    assert str(bad) == "bad -1"


async def test_a_failed_send_fails_its_whole_batch_and_the_batcher_goes_on() -> None:
    backend = _Backend(fail=True)
    batcher = Batcher(backend.send)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    backend.fail = False
    assert await batcher.submit(4) == 8


async def test_submit_many_is_one_batch_in_order() -> None:
    backend = _Backend()
    batcher = Batcher(backend.send, max_batch=4)
    assert await batcher.submit_many([5, 6, 7, 8, 9]) == [10, 12, 14, 16, 18]
    assert backend.batches == [[5, 6, 7, 8], [9]]
    assert await batcher.submit_many([]) == []


async def test_submit_many_shares_batches_with_single_callers() -> None:
    backend = _Backend()
    batcher = Batcher(backend.send)
    single, many = await asyncio.gather(batcher.submit(1), batcher.submit_many([2, 3]))
    assert (single, many) == (2, [4, 6])
    assert backend.batches == [[1, 2, 3]]


async def test_submit_many_raises_an_error_reply_after_every_reply() -> None:
    backend = _Backend()
    batcher = Batcher(backend.send)
    with pytest.raises(ValueError, match="bad -2"):
        await batcher.submit_many([1, -2, 3])
    assert backend.batches == [[1, -2, 3]]


async def test_coalescer_flushes_concurrent_items_together() -> None:
    flushed: list[list[str]] = []

    async def flush(items: Sequence[str]) -> None:
        flushed.append(list(items))

    coalescer = Coalescer(flush)
    await asyncio.gather(*(coalescer.add(x) for x in "abc"))
    await coalescer.add("d")
    assert flushed == [["a", "b", "c"], ["d"]]
