"""Group commit: concurrent items share writes, errors reach every waiter, and a caller that
gives up does not stop the writes of the others."""

import asyncio

import pytest

from services.runtime.batching import GroupCommit


async def test_concurrent_items_share_writes() -> None:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> list[None]:
        writes.append(items)
        await asyncio.sleep(0.01)
        return [None] * len(items)

    commit = GroupCommit[int, None](write)
    await asyncio.gather(*(commit.submit(n) for n in range(100)))
    assert sorted(n for batch in writes for n in batch) == list(range(100))
    assert len(writes) < 10


async def test_batches_respect_the_maximum() -> None:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> list[None]:
        writes.append(items)
        await asyncio.sleep(0)
        return [None] * len(items)

    commit = GroupCommit[int, None](write, max_batch=7)
    await asyncio.gather(*(commit.submit(n) for n in range(50)))
    assert max(len(batch) for batch in writes) <= 7


async def test_a_failed_write_fails_each_of_its_items() -> None:
    async def write(items: list[int]) -> list[None]:
        raise ConnectionError("database down")

    commit = GroupCommit[int, None](write)
    results = await asyncio.gather(*(commit.submit(n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_caller_giving_up_does_not_stop_the_write() -> None:
    written: list[int] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[None]:
        await release.wait()
        written.extend(items)
        return [None] * len(items)

    commit = GroupCommit[int, None](write)
    impatient = asyncio.create_task(commit.submit(1))
    patient = asyncio.create_task(commit.submit(2))
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()
    await patient
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert written == [1, 2]


async def test_each_caller_gets_its_own_result() -> None:
    async def write(items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        return [n * n for n in items]

    commit = GroupCommit[int, int](write)
    assert await asyncio.gather(*(commit.submit(n) for n in range(20))) == [
        n * n for n in range(20)
    ]
