"""The signing-keys adapter: the Entra tenant's JSON Web Key Set, fetched over HTTPS with httpx and cached.

Keys come from ``jwks_url`` when given, else from the ``jwks_uri`` of the tenant's OpenID configuration (discovered
once, then remembered). A known ``kid`` is answered from memory. An unknown ``kid`` refreshes the set (keys rotate),
at most once per ``refresh_interval`` (60 s): a stream of tokens with made-up ``kid`` values cannot make this service
hammer Entra ID, and within the interval an unknown ``kid`` is simply unknown. The set is also refreshed when older
than ``max_age`` (24 h, Microsoft's recommendation), so that a withdrawn key stops being accepted; when that refresh
fails, the cached keys keep serving.

When the set cannot be fetched (connection error, timeout, non-200, a body that is not a key set) and the ``kid`` is
not already known, :meth:`key` raises :class:`ServiceUnavailableError` (503): the service cannot decide whether the
token is good, which is not the caller's fault, and a 401 would tell a well-behaved client its credentials are wrong.
A failed fetch is retried at most once per ``retry_interval`` (5 s), so an outage does not turn every request into a
timed-out fetch. Only https URLs are fetched, or plain http to a loopback host (tests, local development);
redirects are not followed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.domain.errors import ServiceUnavailableError
from core.domain.urls import is_https_or_loopback
from core.logs import get_logger
from core.ports.signing_keys import Jwk

__all__ = ["JwksSigningKeys"]

_log = get_logger("jwks")
_MAX_BODY_BYTES = 1024 * 1024
_UNAVAILABLE = "Entra ID signing keys could not be fetched; please try again later."


class _FetchError(Exception):
    """Why a fetch failed, for the log (never sent to a client)."""


class JwksSigningKeys:
    """:class:`core.ports.signing_keys.SigningKeys` over a JWKS URL (or OpenID discovery)."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        openid_configuration_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        refresh_interval: float = 60.0,
        retry_interval: float = 5.0,
        max_age: float = 24 * 3600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (jwks_url is None) == (openid_configuration_url is None):
            raise ValueError("give exactly one of jwks_url and openid_configuration_url")
        for url in (jwks_url, openid_configuration_url):
            if url is not None and not is_https_or_loopback(url):
                raise ValueError("signing keys are fetched only over https (http only to a loopback host)")
        self._jwks_url = jwks_url
        self._discovery_url = openid_configuration_url
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout
        self._refresh_interval = refresh_interval
        self._retry_interval = retry_interval
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, Jwk] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._failed = False  # whether the last fetch failed
        self._lock = asyncio.Lock()
        self.fetches = 0  # key set fetches attempted (observability, tests)

    async def key(self, kid: str) -> Jwk | None:
        found = self._keys.get(kid)
        if found is not None and not self._stale():
            return found
        async with self._lock:  # one fetch at a time; waiters then see its result
            found = self._keys.get(kid)
            if found is not None and not self._stale():
                return found
            if self._may_fetch():
                await self._refresh()
            found = self._keys.get(kid)
            if found is None and self._failed:
                raise ServiceUnavailableError(_UNAVAILABLE)
            return found

    def _stale(self) -> bool:
        return self._fetched_at is not None and self._clock() - self._fetched_at >= self._max_age

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        interval = self._retry_interval if self._failed else self._refresh_interval
        return self._clock() - self._attempted_at >= interval

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            keys = await self._fetch_keys()
        except _FetchError as error:
            self._failed = True
            _log.warning("signing keys fetch failed", extra={"reason": str(error), "cached_keys": len(self._keys)})
            return
        self._failed = False
        self._keys = keys
        self._fetched_at = self._attempted_at
        _log.info("signing keys fetched", extra={"keys": len(keys)})

    async def _fetch_keys(self) -> dict[str, Jwk]:
        if self._jwks_url is None:
            assert self._discovery_url is not None
            configuration = await self._get_json(self._discovery_url)
            jwks_uri = configuration.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not is_https_or_loopback(jwks_uri):
                raise _FetchError("the OpenID configuration has no https jwks_uri")
            self._jwks_url = jwks_uri  # discovered once; the key set itself is what rotates
        document = await self._get_json(self._jwks_url)
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise _FetchError("the key set has no 'keys' list")
        keys: dict[str, Jwk] = {}
        for entry in entries:
            if (isinstance(entry, dict) and entry.get("kty") == "RSA" and entry.get("use", "sig") == "sig"
                    and isinstance(entry.get("kid"), str) and isinstance(entry.get("n"), str)
                    and isinstance(entry.get("e"), str)):
                keys[entry["kid"]] = entry
        if not keys:
            raise _FetchError("the key set has no RSA signing key")
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        try:
            async with self._client.stream("GET", url, headers={"accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise _FetchError(f"HTTP {response.status_code} from {urlsplit(url).netloc}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > _MAX_BODY_BYTES:
                        raise _FetchError("the response is larger than 1 MiB")
        except httpx.HTTPError as error:
            raise _FetchError(f"{type(error).__name__} from {urlsplit(url).netloc}") from None
        try:
            document = json.loads(bytes(body))
        except ValueError:
            raise _FetchError("the response is not JSON") from None
        if not isinstance(document, dict):
            raise _FetchError("the response is not a JSON object")
        return document

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
