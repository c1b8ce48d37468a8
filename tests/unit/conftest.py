"""Unit-test fixtures: the whole service graph over the in-memory store, a fake clock and a scripted gateway."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from core.adapters.memory.store import MemoryStore
from core.bootstrap import Container, build
from core.config import Settings
from tests.fake_responses import FakeResponsesServer
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


# The fake upstream itself, driven by the real SDK (test_fake_responses.py, test_fake_upstream_resources.py).


@pytest.fixture(scope="module")
def server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeResponsesServer) -> FakeResponsesServer:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeResponsesServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0) as sdk:
        yield sdk
