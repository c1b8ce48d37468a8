"""The JWKS adapter against a real HTTP server on loopback: an OpenID configuration and a key set of keys generated
here, served by uvicorn in a thread (no traffic beyond 127.0.0.1). Discovery, caching, the refresh rate limit on
unknown ``kid`` values (counted on the server), rotation, and 503 when the key set cannot be fetched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from core.adapters.jwks.client import JwksSigningKeys
from core.domain.errors import AuthenticationError, ServiceUnavailableError
from core.http.entra import EntraSettings, EntraValidator, principal_tenant
from tests.jwks import AUDIENCE, KEY, NEXT_KEY, OID, TENANT, JwksServer
from tests.jwks import jwk as _jwk
from tests.jwks import token as _token
from tests.servers import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[JwksServer]:
    running = JwksServer().start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _fresh(server: JwksServer) -> None:
    server.keys = [_jwk(KEY, "k1")]
    server.hits = {"configuration": 0, "keys": 0}
    server.status = 200
    server.delay = 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _validator(keys: JwksSigningKeys) -> EntraValidator:
    return EntraValidator(EntraSettings.for_tenant(TENANT, (AUDIENCE,)), keys)


async def test_discovers_fetches_and_caches_the_keys(server: JwksServer) -> None:
    keys = JwksSigningKeys(openid_configuration_url=server.configuration_url)
    try:
        validator = _validator(keys)
        for _ in range(5):
            assert await validator.tenant_for(_token()) == principal_tenant(TENANT, OID)
        assert server.hits == {"configuration": 1, "keys": 1}
    finally:
        await keys.aclose()


async def test_an_unknown_kid_refreshes_at_most_once_per_minute(server: JwksServer) -> None:
    clock = Clock()
    keys = JwksSigningKeys(jwks_url=f"{server.url}/{TENANT}/discovery/v2.0/keys", clock=clock)
    try:
        validator = _validator(keys)
        assert await validator.tenant_for(_token())
        assert server.hits["keys"] == 1
        clock.now += 61
        with pytest.raises(AuthenticationError, match="not among the tenant's signing keys"):
            await validator.tenant_for(_token(kid="made-up-1"))
        assert server.hits["keys"] == 2  # refreshed once for the unknown kid
        clock.now += 10
        for kid in ("made-up-2", "made-up-3", "made-up-1"):
            with pytest.raises(AuthenticationError):
                await validator.tenant_for(_token(kid=kid))
        assert server.hits["keys"] == 2  # within 60 s: no refetch, whatever the kid
        # Keys rotate: the next refresh allowed finds the new one.
        server.keys.append(_jwk(NEXT_KEY, "k2"))
        with pytest.raises(AuthenticationError):
            await validator.tenant_for(_token(NEXT_KEY, kid="k2"))
        clock.now += 51
        assert await validator.tenant_for(_token(NEXT_KEY, kid="k2")) == principal_tenant(TENANT, OID)
        assert server.hits == {"configuration": 0, "keys": 3}
    finally:
        await keys.aclose()


async def test_concurrent_lookups_of_an_unknown_kid_fetch_once(server: JwksServer) -> None:
    server.delay = 0.1
    keys = JwksSigningKeys(openid_configuration_url=server.configuration_url)
    try:
        results = await asyncio.gather(*(keys.key(f"kid-{n}") for n in range(20)), keys.key("k1"))
        assert results[:-1] == [None] * 20 and results[-1] is not None
        assert server.hits == {"configuration": 1, "keys": 1}
    finally:
        await keys.aclose()


@pytest.mark.parametrize("status", [500, 404, 503])
async def test_a_server_error_is_503(server: JwksServer, status: int) -> None:
    server.status = status
    keys = JwksSigningKeys(openid_configuration_url=server.configuration_url)
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            await _validator(keys).tenant_for(_token())
        assert caught.value.status == 503
        assert "try again" in caught.value.message
    finally:
        await keys.aclose()


async def test_a_timeout_is_503(server: JwksServer) -> None:
    server.delay = 2.0
    keys = JwksSigningKeys(jwks_url=f"{server.url}/{TENANT}/discovery/v2.0/keys", timeout=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            await keys.key("k1")
        assert time.monotonic() - started < 1.5
    finally:
        await keys.aclose()


async def test_nothing_listening_is_503_and_retried_only_after_the_retry_interval() -> None:
    clock = Clock()
    keys = JwksSigningKeys(jwks_url=f"http://127.0.0.1:{free_port()}/keys", clock=clock)
    try:
        for _ in range(3):
            with pytest.raises(ServiceUnavailableError):
                await keys.key("k1")
        assert keys.fetches == 1
        clock.now += 5
        with pytest.raises(ServiceUnavailableError):
            await keys.key("k1")
        assert keys.fetches == 2
    finally:
        await keys.aclose()
