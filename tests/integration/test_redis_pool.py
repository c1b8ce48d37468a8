"""The Redis store's connection pool: bounded, and a command finding every connection busy waits for one.

The default redis-py pool raised at once when exhausted, so bursts of concurrent runs got 503s from an idle Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from core.adapters.redis import store as redis_store_module
from core.adapters.redis.store import RedisStore
from core.domain.errors import ServiceUnavailableError
from core.domain.ids import new_id
from core.ports.store import INDEXES_FIELD, Create, Partition
from tests.servers import redis_server

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    # A server of its own, so the connection counts below see only this module's clients.
    with redis_server() as url:
        yield url


@pytest.fixture
async def admin(server_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(server_url, decode_responses=True)
    try:
        await client.flushdb()
        yield client
    finally:
        await client.aclose()


async def _store_connections(admin: Redis) -> int:
    """Connections open on the server, other than ``admin``'s own."""
    return len(await admin.client_list()) - 1


async def _wait_until_blocked(admin: Redis, clients: int) -> None:
    """Waits until ``clients`` connections sit in a blocking command, so the pool is known to be exhausted."""
    async with asyncio.timeout(2):
        while int((await admin.info("clients"))["blocked_clients"]) < clients:
            await asyncio.sleep(0.01)


async def test_a_burst_far_larger_than_the_pool_all_succeeds_on_few_connections(server_url: str, admin: Redis) -> None:
    store = RedisStore.from_url(server_url, max_connections=4)
    partitions = [Partition("threads", new_id("thread")) for _ in range(100)]

    async def write_then_read(partition: Partition) -> None:
        doc_id = new_id("msg")
        [etag] = await store.commit(partition, [Create({"id": doc_id, INDEXES_FIELD: ["messages"]})])
        read = await store.get(partition, doc_id)
        assert read is not None
        assert read.etag == etag

    try:
        # 100 commits and 100 gets in flight at once against 4 connections: none may fail for want of one.
        async with asyncio.timeout(4):
            await asyncio.gather(*(write_then_read(p) for p in partitions))
        assert 1 <= await _store_connections(admin) <= 4
    finally:
        await store.close()
    # close() disconnected the pool, not just the client; the server notices each hang-up a moment later.
    async with asyncio.timeout(2):
        while await _store_connections(admin):
            await asyncio.sleep(0.01)


async def test_a_command_waits_for_the_only_connection_instead_of_failing(server_url: str, admin: Redis) -> None:
    store = RedisStore.from_url(server_url, max_connections=1)
    partition = Partition("threads", new_id("thread"))
    try:
        # A BLPOP sent through the store's own client holds its single pooled connection until admin pushes.
        holder = asyncio.create_task(store._client.blpop(["hold"], timeout=0))
        await _wait_until_blocked(admin, 1)

        waiting = asyncio.create_task(store.get(partition, "msg_missing"))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the old pool had already raised MaxConnectionsError here

        await admin.rpush("hold", "go")
        async with asyncio.timeout(2):
            assert tuple(await holder) == ("hold", "go")
            assert await waiting is None
    finally:
        await store.close()


async def test_a_command_that_waits_too_long_for_a_connection_is_a_503(
    server_url: str, admin: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store_module, "_POOL_WAIT_SECONDS", 0.2)  # the real 10 s would slow the suite
    store = RedisStore.from_url(server_url, max_connections=1)
    try:
        holder = asyncio.create_task(store._client.blpop(["hold"], timeout=0))
        await _wait_until_blocked(admin, 1)

        with pytest.raises(ServiceUnavailableError):
            await store.get(Partition("threads", new_id("thread")), "msg_missing")

        await admin.rpush("hold", "go")
        async with asyncio.timeout(2):
            await holder
    finally:
        await store.close()
