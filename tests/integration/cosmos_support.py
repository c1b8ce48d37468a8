"""Cosmos DB for the integration and e2e tests: the patched emulator (tests/cosmos_emulator.py) on loopback.

``cosmos_settings`` (session) starts one emulator and describes it as the app would be configured against it;
:func:`cosmos_store` gives each test a :class:`CosmosStore` over a database of its own, created empty by the store on
first use (COSMOS_CREATE_CONTAINERS) and deleted afterwards.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress

import pytest
from azure.cosmos.aio import CosmosClient
from azure.cosmos.exceptions import CosmosHttpResponseError

from core.adapters.cosmos.store import CosmosStore
from core.config import Settings
from tests.cosmos_emulator import EMULATOR_KEY, cosmos_emulator

__all__ = ["cosmos_settings", "cosmos_store", "drop_database"]


@pytest.fixture(scope="session")
def cosmos_settings() -> Iterator[Settings]:
    """Settings of the app against a Cosmos DB emulator started for this session (key auth, app-created containers)."""
    with cosmos_emulator() as endpoint:
        yield Settings(
            database_provider="cosmos",
            cosmos_endpoint=endpoint,
            cosmos_key=EMULATOR_KEY,
            cosmos_create_containers=True,
            cosmos_database_id=f"test-{uuid.uuid4().hex[:12]}",
        )


async def drop_database(settings: Settings) -> None:
    """Delete the settings' database (and everything in it) from the emulator; a missing one is fine."""
    assert settings.cosmos_endpoint is not None
    assert settings.cosmos_key is not None
    async with CosmosClient(
        settings.cosmos_endpoint, settings.cosmos_key, connection_verify=False, enable_endpoint_discovery=False
    ) as client:
        with suppress(CosmosHttpResponseError):
            await client.delete_database(settings.cosmos_database_id)


@asynccontextmanager
async def cosmos_store(settings: Settings) -> AsyncIterator[CosmosStore]:
    """A store over empty containers in a fresh database; closed, and its database deleted, afterwards."""
    settings = dataclasses.replace(settings, cosmos_database_id=f"test-{uuid.uuid4().hex[:12]}")
    store = CosmosStore.from_settings(settings)
    try:
        yield store
    finally:
        await store.close()
        await drop_database(settings)
