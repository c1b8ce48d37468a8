"""Client authentication: an API key in ``Authorization: Bearer`` or ``api-key``, each key its own tenant."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from core.domain.errors import AuthenticationError

from .entra import EntraValidator, looks_like_jwt

__all__ = ["authenticate", "tenant_for"]


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    api_key = headers.get("api-key")
    return api_key.strip() if api_key and api_key.strip() else None


def tenant_for(headers: Mapping[str, str], keys: Mapping[str, str]) -> str:
    """The tenant id of the presented key, or :class:`AuthenticationError`. Compares in constant time."""
    presented = _presented_key(headers)
    if presented is None:
        raise AuthenticationError(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    tenant = None
    for key, key_tenant in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            tenant = key_tenant
    if tenant is None:
        raise AuthenticationError("Incorrect API key provided.")
    return tenant


async def authenticate(headers: Mapping[str, str], keys: Mapping[str, str], entra: EntraValidator | None) -> str:
    """The caller's tenant id: an Entra ID access token's principal when Entra ID is configured and the credential
    has a JWT's shape, else the API key's tenant (a JWT is then just an unknown key: 401)."""
    if entra is not None:
        presented = _presented_key(headers)
        if presented is not None and looks_like_jwt(presented):
            return await entra.tenant_for(presented)
    return tenant_for(headers, keys)
