"""End-to-end fixtures: the registered functions served over HTTP by the local host, driven by the real openai SDK.

The service runs in-process on a free loopback port over each store named in ``E2E_STORES`` (default
``memory,redis,cosmos``); its upstream is the fake Responses server. With ``E2E_BASE_URL`` (and ``E2E_API_KEY``,
``E2E_OTHER_API_KEY``) the same tests run against a deployed app or ``func start``; tests that script the upstream
are then skipped, since a deployed app talks to a real model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
import uvicorn

from core import bootstrap
from core.config import Settings, parse_api_keys
from core.http.entra import EntraSettings
from core.http.local_host import build_app
from tests.fake_responses import FakeResponsesServer
from tests.jwks import AUDIENCE as ENTRA_AUDIENCE
from tests.jwks import TENANT as ENTRA_TENANT
from tests.jwks import JwksServer
from tests.servers import free_port, wait_for_port

ALICE_KEY = "sk-e2e-alice"
BOB_KEY = "sk-e2e-bob"


@dataclass(frozen=True)
class Service:
    base_url: str  # ends in /v1
    api_key: str
    other_api_key: str
    store: str
    upstream: FakeResponsesServer | None  # None when the suite targets a deployed app


def _stores() -> list[str]:
    return [name.strip() for name in os.environ.get("E2E_STORES", "memory,redis,cosmos").split(",") if name.strip()]


@pytest.fixture(scope="session")
def entra() -> Iterator[JwksServer]:
    """The Entra ID stand-in whose keys the service trusts (tests/jwks.py)."""
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as fake:
        yield fake


def _settings(store: str, request: pytest.FixtureRequest, upstream: FakeResponsesServer) -> Settings:
    common = {
        "api_keys": parse_api_keys(f"alice:{ALICE_KEY},bob:{BOB_KEY}"),
        "openai_base_url": f"{upstream.url}/v1",
        "openai_api_key": "sk-upstream-fake",
        "upstream_max_retries": 0,
        "upstream_timeout_seconds": 30.0,
        "entra": EntraSettings.for_tenant(
            ENTRA_TENANT, (ENTRA_AUDIENCE,), jwks_url=f"{request.getfixturevalue('entra').url}/{ENTRA_TENANT}"
            "/discovery/v2.0/keys"),
    }
    if store == "redis":
        url: str = request.getfixturevalue("e2e_redis_url")
        return Settings(database_provider="redis", redis_url=url, **common)  # type: ignore[arg-type]
    if store == "cosmos":
        base: Settings = request.getfixturevalue("cosmos_settings")
        return Settings(
            database_provider="cosmos", cosmos_endpoint=base.cosmos_endpoint, cosmos_key=base.cosmos_key,
            cosmos_database_id=base.cosmos_database_id + "e2e", cosmos_create_containers=True,
            **common,  # type: ignore[arg-type]
        )
    return Settings(database_provider="memory", **common)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def e2e_redis_url() -> Iterator[str]:
    from tests.servers import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(scope="session", params=_stores())
def service(request: pytest.FixtureRequest, upstream: FakeResponsesServer) -> Iterator[Service]:
    deployed = os.environ.get("E2E_BASE_URL")
    if deployed:
        yield Service(deployed.rstrip("/"), os.environ["E2E_API_KEY"], os.environ.get("E2E_OTHER_API_KEY", ""),
                      "deployed", None)
        return
    store = request.param
    bootstrap.override(bootstrap.build(_settings(store, request, upstream)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield Service(f"http://127.0.0.1:{port}/v1", ALICE_KEY, BOB_KEY, store, upstream)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        bootstrap.reset()


@pytest.fixture
def fake(service: Service) -> FakeResponsesServer:
    """The scriptable upstream, emptied for this test; tests using it are skipped against a deployed app."""
    if service.upstream is None:
        pytest.skip("scripts the upstream; not possible against a deployed app")
    service.upstream.reset()
    return service.upstream


@pytest.fixture
def client(service: Service) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=service.base_url, api_key=service.api_key, max_retries=0, timeout=60) as sdk:
        yield sdk


@pytest.fixture
def other_client(service: Service) -> Iterator[openai.OpenAI]:
    if not service.other_api_key:
        pytest.skip("needs E2E_OTHER_API_KEY")
    with openai.OpenAI(base_url=service.base_url, api_key=service.other_api_key, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def async_client(service: Service) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=service.base_url, api_key=service.api_key, max_retries=0, timeout=60)


@pytest.fixture
def sdk(client: openai.OpenAI) -> openai.OpenAI:
    """The test client with a short timeout, so a stuck stream fails the test instead of hanging it."""
    return client.with_options(timeout=10)


@pytest.fixture
def assistant_id(sdk: openai.OpenAI) -> str:
    return sdk.beta.assistants.create(model="gpt-4o-mini", instructions="Be brief.").id
