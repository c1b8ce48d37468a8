"""The Redis adapter for the contract suite: a store on an emptied database of the test's redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from core.adapters.redis.store import RedisStore

__all__ = ["redis_store"]


@asynccontextmanager
async def redis_store(url: str) -> AsyncIterator[RedisStore]:
    """A store on ``url`` with nothing in it (the server is a throwaway one, so flushing it is safe); closed after."""
    admin = Redis.from_url(url)
    try:
        await admin.flushdb()
    finally:
        await admin.aclose()
    store = RedisStore.from_url(url)
    try:
        yield store
    finally:
        await store.close()
