"""Fixtures for the storage contract: one ``store`` per adapter, each on a real server where there is one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from core.ports.store import DocumentStore
from tests.servers import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "redis", "cosmos"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[DocumentStore]:
    """A fresh, empty store of each kind (the contract suite runs once per adapter)."""
    kind = request.param
    if kind == "memory":
        from core.adapters.memory.store import MemoryStore

        yield MemoryStore()
        return
    if kind == "redis":
        from tests.integration.redis_support import redis_store

        async with redis_store(request.getfixturevalue("redis_url")) as adapter:
            yield adapter
        return
    from tests.integration.cosmos_support import cosmos_store

    async with cosmos_store(request.getfixturevalue("cosmos_settings")) as adapter:
        yield adapter
