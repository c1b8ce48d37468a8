"""The signing-keys port: the public keys that verify Entra ID access tokens, looked up by their ``kid``.

The adapter (`core/adapters/jwks`) fetches the tenant's JSON Web Key Set over HTTPS and caches it; token validation
(`core/http/entra.py`) asks it for one key at a time and never sees HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["Jwk", "SigningKeys"]

#: One JSON Web Key (RFC 7517) as published in a JWKS document, e.g. ``{"kty": "RSA", "kid": ..., "n": ..., "e": ...}``.
Jwk = Mapping[str, Any]


class SigningKeys(Protocol):
    async def key(self, kid: str) -> Jwk | None:
        """The RSA signing key published with id ``kid``, or ``None`` when the key set (refreshed if the adapter's
        rate limit allows) has no such key.

        Raises :class:`core.domain.errors.ServiceUnavailableError` when the key set cannot be fetched and the key is
        not already known: the service cannot decide, which is not the caller's fault.
        """
        ...

    async def aclose(self) -> None:
        """Release connections (host shutdown, tests)."""
        ...
