"""Unit-test fixtures: the whole service graph over the in-memory store, a fake clock and a scripted gateway."""

from __future__ import annotations

import pytest

from core.adapters.memory.store import MemoryStore
from core.bootstrap import Container, build
from core.config import Settings
from tests.fakes import FakeClock, ScriptedGateway


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway() -> ScriptedGateway:
    return ScriptedGateway()


@pytest.fixture
def container(clock: FakeClock, gateway: ScriptedGateway) -> Container:
    return build(Settings(api_keys={"sk-test": "tenant-a"}), store=MemoryStore(), clock=clock, gateway=gateway)
