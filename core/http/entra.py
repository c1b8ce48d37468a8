"""Entra ID (Azure AD) bearer tokens beside API keys: settings, token validation, and the principal's tenant id.

A caller that signs in with Entra ID sends ``Authorization: Bearer <access token>``. The token is accepted when it is
signed with RS256 by one of the tenant's published signing keys (looked up by its ``kid`` through the
:class:`~core.ports.signing_keys.SigningKeys` port), its ``iss`` is an accepted issuer, its ``aud`` an accepted
audience, ``exp``/``nbf`` hold with :data:`CLOCK_SKEW_SECONDS` of skew, it carries an ``oid`` (and, when configured,
one of the required app roles). The algorithm is fixed by this module, never taken from the token: ``alg: none``,
HS256 (the classic public-key-as-HMAC-secret confusion) and everything else are refused before any key is looked up.

Each principal (``oid`` within the Entra tenant) is its own tenant of this service, isolated exactly like an API key's
tenant: :func:`principal_tenant` derives an opaque id from a hash, so stored documents never carry the object id.

Every failure is an :class:`~core.domain.errors.AuthenticationError` (401, ``invalid_api_key``) with a fixed message
that never contains the token or anything read from it. :func:`verify_token` is synchronous and pure given a key;
only :meth:`EntraValidator.tenant_for` awaits (the key lookup). PyJWT (about 0.1 s to import, it loads
``cryptography``) is imported on first validation, not at module import, so cold start stays small.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.domain.errors import AuthenticationError
from core.domain.urls import is_https_or_loopback
from core.ports.signing_keys import Jwk, SigningKeys

if TYPE_CHECKING:
    from jwt import PyJWK

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "ENTRA_SETTINGS",
    "EntraSettings",
    "EntraValidator",
    "looks_like_jwt",
    "principal_tenant",
    "verify_token",
]

#: Allowed difference between this host's clock and Entra's, for ``exp`` and ``nbf``.
CLOCK_SKEW_SECONDS = 60
#: Larger bearer values are refused unread (an Entra access token is a few KB even with many claims).
MAX_TOKEN_CHARS = 32 * 1024
ALGORITHM = "RS256"

#: name -> meaning, for core/config.py's SETTINGS (and the README / local.settings.json.example / infra).
ENTRA_SETTINGS: dict[str, str] = {
    "ENTRA_TENANT_ID": "directory (tenant) id, a GUID: when set, Entra ID access tokens are accepted beside API keys "
    "(each principal, by its oid, is its own tenant)",
    "ENTRA_AUDIENCE": "comma-separated accepted token audiences, e.g. api://<app client id>,<app client id>; "
    "required with ENTRA_TENANT_ID",
    "ENTRA_ISSUER": "comma-separated accepted issuers (default: https://login.microsoftonline.com/<tenant>/v2.0 and "
    "https://sts.windows.net/<tenant>/)",
    "ENTRA_JWKS_URL": "signing keys URL (default: jwks_uri of the tenant's OpenID configuration)",
    "ENTRA_REQUIRED_ROLES": "comma-separated app roles; when set, a token must carry at least one in 'roles'",
}

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Three base64url segments, the first a JSON object ('{"' encodes as 'eyJ'); the signature may be empty (alg none),
# which still reads as a token so that it is refused as one.
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_KID = re.compile(r"[!-~]{1,256}")


def looks_like_jwt(credential: str) -> bool:
    """Whether a presented bearer value has a JWT's shape (three base64url segments starting with ``eyJ``); API keys
    never do, so the shape decides which check a credential gets."""
    return _JWT_SHAPE.fullmatch(credential) is not None


def principal_tenant(entra_tenant_id: str, oid: str) -> str:
    """This service's tenant id for the principal ``oid`` of Entra tenant ``entra_tenant_id``: opaque and stable, one
    per principal and Entra tenant, never equal to an API key's derived tenant (those start with ``t_``)."""
    digest = hashlib.sha256(f"{entra_tenant_id.lower()}:{oid.lower()}".encode()).hexdigest()
    return "entra_" + digest[:24]


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (raw or "").split(",") if part.strip()))


@dataclass(frozen=True)
class EntraSettings:
    """What an Entra ID access token must satisfy. Build it with :meth:`from_env` or :meth:`for_tenant`."""

    tenant_id: str
    audiences: tuple[str, ...]
    issuers: tuple[str, ...]
    jwks_url: str | None = None  # None: the jwks_uri of the tenant's OpenID configuration
    required_roles: tuple[str, ...] = ()

    @property
    def openid_configuration_url(self) -> str:
        return f"https://login.microsoftonline.com/{self.tenant_id}/v2.0/.well-known/openid-configuration"

    @staticmethod
    def default_issuers(tenant_id: str) -> tuple[str, str]:
        """The tenant's v2.0 issuer and its v1 (``sts.windows.net``) issuer."""
        return f"https://login.microsoftonline.com/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"

    @classmethod
    def for_tenant(cls, tenant_id: str, audiences: tuple[str, ...], *, issuers: tuple[str, ...] = (),
                   jwks_url: str | None = None, required_roles: tuple[str, ...] = ()) -> EntraSettings:
        tenant_id = tenant_id.lower()
        return cls(tenant_id=tenant_id, audiences=audiences, issuers=issuers or cls.default_issuers(tenant_id),
                   jwks_url=jwks_url, required_roles=required_roles)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EntraSettings | None:
        """``None`` when ``ENTRA_TENANT_ID`` is unset (Entra ID off); a :class:`ValueError` naming the setting when
        a value is unusable."""

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        tenant_id = get("ENTRA_TENANT_ID")
        if tenant_id is None:
            return None
        if not _GUID.fullmatch(tenant_id):
            raise ValueError("ENTRA_TENANT_ID must be the directory (tenant) id, a GUID; not a domain name, "
                             "'common' or 'organizations'")
        audiences = _csv(get("ENTRA_AUDIENCE"))
        if not audiences:
            raise ValueError("ENTRA_TENANT_ID is set but ENTRA_AUDIENCE is not: name the accepted token audiences "
                             "(e.g. api://<app client id>,<app client id>)")
        issuers = _csv(get("ENTRA_ISSUER"))
        for issuer in issuers:
            if not issuer.startswith("https://"):
                raise ValueError("ENTRA_ISSUER must list https:// issuer URLs")
        jwks_url = get("ENTRA_JWKS_URL")
        if jwks_url is not None and not is_https_or_loopback(jwks_url):
            raise ValueError("ENTRA_JWKS_URL must be an https:// URL (http:// only to a loopback host)")
        return cls.for_tenant(tenant_id, audiences, issuers=issuers, jwks_url=jwks_url,
                              required_roles=_csv(get("ENTRA_REQUIRED_ROLES")))


# -- validation: synchronous and pure given the key ----------------------------------------------------------------


def _refuse(message: str) -> AuthenticationError:
    return AuthenticationError(message)


def _checked_header(token: str) -> str:
    """The token's ``kid``, after refusing anything but a well-formed RS256 token (before any key is looked up)."""
    import jwt

    if len(token) > MAX_TOKEN_CHARS or not looks_like_jwt(token):
        raise _refuse("The bearer token is not a well-formed Entra ID access token.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _refuse("The bearer token is not a well-formed Entra ID access token.") from None
    if header.get("alg") != ALGORITHM:
        raise _refuse("The Entra ID access token must be signed with RS256.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise _refuse("The Entra ID access token does not name its signing key (kid).")
    return kid


def _prepared_key(jwk: Jwk) -> PyJWK:
    """The RSA public key of ``jwk``, bound to RS256 whatever the JWK or the token say."""
    import jwt

    if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        raise _refuse("The Entra ID access token is signed with a key that is not an RS256 signing key.")
    try:
        return jwt.PyJWK(dict(jwk), algorithm=ALGORITHM)
    except jwt.PyJWTError:
        raise _refuse("The Entra ID access token is signed with a key that cannot be used.") from None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _verified_claims(token: str, key: PyJWK, settings: EntraSettings, now: float) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=list(settings.audiences),
            issuer=list(settings.issuers),
            # exp/nbf/iat are checked below against the injected clock; PyJWT would read the system clock.
            options={"require": ["exp", "iss", "aud"], "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False, "enforce_minimum_key_length": True},
        )
    except jwt.InvalidSignatureError:
        raise _refuse("The Entra ID access token's signature is invalid.") from None
    except jwt.InvalidAlgorithmError:
        raise _refuse("The Entra ID access token must be signed with RS256.") from None
    except jwt.MissingRequiredClaimError as error:
        raise _refuse(f"The Entra ID access token lacks the '{error.claim}' claim.") from None
    except jwt.InvalidAudienceError:
        raise _refuse("The Entra ID access token was issued for another audience.") from None
    except jwt.InvalidIssuerError:
        raise _refuse("The Entra ID access token was issued by an issuer this service does not accept.") from None
    except jwt.PyJWTError:
        raise _refuse("The bearer token is not a valid Entra ID access token.") from None

    exp = _number(claims.get("exp"))
    if exp is None:
        raise _refuse("The Entra ID access token's 'exp' claim is not a number.")
    if exp <= now - CLOCK_SKEW_SECONDS:
        raise _refuse("The Entra ID access token has expired.")
    if "nbf" in claims:
        nbf = _number(claims["nbf"])
        if nbf is None:
            raise _refuse("The Entra ID access token's 'nbf' claim is not a number.")
        if nbf > now + CLOCK_SKEW_SECONDS:
            raise _refuse("The Entra ID access token is not valid yet.")

    oid = claims.get("oid")
    if oid is None:
        raise _refuse("The Entra ID access token lacks the 'oid' claim.")
    if not isinstance(oid, str) or not _GUID.fullmatch(oid):
        raise _refuse("The Entra ID access token's 'oid' claim is not an object id.")
    tid = claims.get("tid")
    if tid is not None and (not isinstance(tid, str) or tid.lower() != settings.tenant_id.lower()):
        raise _refuse("The Entra ID access token belongs to another Entra ID tenant.")
    if settings.required_roles:
        roles = claims.get("roles")
        held = {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()
        if held.isdisjoint(settings.required_roles):
            raise _refuse("The Entra ID access token carries none of the app roles this service requires.")
    return claims


def verify_token(token: str, jwk: Jwk, settings: EntraSettings, now: float) -> dict[str, Any]:
    """The verified claims of ``token`` checked against ``jwk`` (the key its ``kid`` names), or
    :class:`AuthenticationError`. Pure: no I/O, the time is ``now`` (unix seconds)."""
    _checked_header(token)
    return _verified_claims(token, _prepared_key(jwk), settings, now)


class EntraValidator:
    """Maps an Entra ID access token to this service's tenant id of its principal."""

    def __init__(self, settings: EntraSettings, keys: SigningKeys, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._keys = keys
        self._clock = clock
        # kid -> (the JWK as the key set returned it, its parsed key): parsing RSA numbers once per key, not per call.
        # Bounded by the keys the key set actually returned.
        self._prepared: dict[str, tuple[Jwk, PyJWK]] = {}

    async def tenant_for(self, token: str) -> str:
        kid = _checked_header(token)
        jwk = await self._keys.key(kid)
        if jwk is None:
            raise _refuse("The Entra ID access token is signed with a key that is not among the tenant's signing "
                          "keys.")
        cached = self._prepared.get(kid)
        if cached is not None and cached[0] == jwk:
            key = cached[1]
        else:
            key = _prepared_key(jwk)
            self._prepared[kid] = (jwk, key)
        claims = _verified_claims(token, key, self.settings, self._clock())
        return principal_tenant(self.settings.tenant_id, claims["oid"])

    async def aclose(self) -> None:
        await self._keys.aclose()
