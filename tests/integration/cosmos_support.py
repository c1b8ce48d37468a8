"""Placeholder until the Cosmos DB emulator support is written: the cosmos variant of the contract suite skips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

__all__ = ["cosmos_settings", "cosmos_store"]


@pytest.fixture(scope="session")
def cosmos_settings() -> Any:
    pytest.skip("cosmos emulator support not written yet")


@asynccontextmanager
async def cosmos_store(settings: Any) -> AsyncIterator[Any]:
    raise NotImplementedError("cosmos emulator support not written yet")
    yield
