"""Entra ID access tokens (core/http/entra.py): settings, every refusal, the principal's tenant, and the JWKS adapter's
cache and refresh rate limit over an in-memory HTTP transport (no sockets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from core.adapters.jwks.client import JwksSigningKeys
from core.domain.errors import AuthenticationError, ServiceUnavailableError
from core.http.entra import (
    CLOCK_SKEW_SECONDS,
    EntraSettings,
    EntraValidator,
    looks_like_jwt,
    principal_tenant,
    verify_token,
)
from core.ports.signing_keys import Jwk

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://11112222-3333-4444-5555-666677778888"
OID = "00000000-0000-0000-0000-0000000000a1"
NOW = 1_750_000_000.0
KID = "key-1"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _private_key()
OTHER_KEY = _private_key()


def _jwk(private_key: rsa.RSAPrivateKey, kid: str = KID) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


def _settings(tenant: str = TENANT, **overrides: Any) -> EntraSettings:
    return EntraSettings.for_tenant(tenant, (AUDIENCE,), **overrides)


def _claims(tenant: str = TENANT, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "aud": AUDIENCE,
        "iat": int(NOW) - 10,
        "nbf": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "oid": OID,
        "tid": tenant,
        "sub": "subject",
        "ver": "2.0",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _token(private_key: rsa.RSAPrivateKey = KEY, kid: str | None = KID, tenant: str = TENANT,
           **claims: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(_claims(tenant, **claims), private_key, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


class FakeKeys:
    """A signing-key set in memory that records every lookup."""

    def __init__(self, *jwks: Jwk) -> None:
        self.jwks = {jwk["kid"]: jwk for jwk in jwks}
        self.lookups: list[str] = []
        self.closed = False

    async def key(self, kid: str) -> Jwk | None:
        self.lookups.append(kid)
        return self.jwks.get(kid)

    async def aclose(self) -> None:
        self.closed = True


def _validator(settings: EntraSettings | None = None, keys: FakeKeys | None = None) -> EntraValidator:
    return EntraValidator(settings or _settings(), keys or FakeKeys(_jwk(KEY)), clock=lambda: NOW)


async def _refused(validator: EntraValidator, token: str, match: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError, match=match) as caught:
        await validator.tenant_for(token)
    error = caught.value
    assert error.status == 401 and error.code == "invalid_api_key"
    for part in token.split("."):
        if part:
            assert part not in error.message
    assert token not in str(error.to_body())
    return error


# -- settings --------------------------------------------------------------------------------------------------------


def test_entra_is_off_without_a_tenant() -> None:
    assert EntraSettings.from_env({}) is None
    assert EntraSettings.from_env({"ENTRA_AUDIENCE": AUDIENCE}) is None


def test_settings_from_env_with_defaults() -> None:
    settings = EntraSettings.from_env({"ENTRA_TENANT_ID": TENANT.upper(), "ENTRA_AUDIENCE": f" {AUDIENCE} , app-id "})
    assert settings is not None
    assert settings.tenant_id == TENANT
    assert settings.audiences == (AUDIENCE, "app-id")
    assert settings.issuers == (f"https://login.microsoftonline.com/{TENANT}/v2.0", f"https://sts.windows.net/{TENANT}/")
    assert settings.jwks_url is None and settings.required_roles == ()
    assert settings.openid_configuration_url == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration")


def test_settings_from_env_with_every_option() -> None:
    settings = EntraSettings.from_env({
        "ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": AUDIENCE, "ENTRA_ISSUER": "https://issuer.example/",
        "ENTRA_JWKS_URL": "https://keys.example/jwks", "ENTRA_REQUIRED_ROLES": "Assistants.Use, Admin",
    })
    assert settings == EntraSettings(TENANT, (AUDIENCE,), ("https://issuer.example/",), "https://keys.example/jwks",
                                     ("Assistants.Use", "Admin"))


@pytest.mark.parametrize(("env", "setting"), [
    ({"ENTRA_TENANT_ID": TENANT}, "ENTRA_AUDIENCE"),
    ({"ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": " , "}, "ENTRA_AUDIENCE"),
    ({"ENTRA_TENANT_ID": "contoso.onmicrosoft.com", "ENTRA_AUDIENCE": AUDIENCE}, "ENTRA_TENANT_ID"),
    ({"ENTRA_TENANT_ID": "common", "ENTRA_AUDIENCE": AUDIENCE}, "ENTRA_TENANT_ID"),
    ({"ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": AUDIENCE, "ENTRA_JWKS_URL": "http://keys.example/"},
     "ENTRA_JWKS_URL"),
    ({"ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": AUDIENCE, "ENTRA_ISSUER": "http://issuer.example/"},
     "ENTRA_ISSUER"),
])
def test_unusable_settings_name_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        EntraSettings.from_env(env)


def test_a_loopback_jwks_url_may_be_plain_http() -> None:
    settings = EntraSettings.from_env({"ENTRA_TENANT_ID": TENANT, "ENTRA_AUDIENCE": AUDIENCE,
                                       "ENTRA_JWKS_URL": "http://127.0.0.1:8123/keys"})
    assert settings is not None and settings.jwks_url == "http://127.0.0.1:8123/keys"


# -- shape -----------------------------------------------------------------------------------------------------------


def test_a_jwt_is_told_from_an_api_key_by_its_shape() -> None:
    assert looks_like_jwt(_token())
    assert looks_like_jwt(_unsigned({"alg": "none"}, _claims()) + ".")  # alg none: empty signature, still a token
    for key in ("sk-test", "sk-proj-abc.def.ghi", "eyJ", "eyJabc.def", "eyJ.a.b.c", "eyJa b.c.d", ""):
        assert not looks_like_jwt(key)


# -- accepted tokens -------------------------------------------------------------------------------------------------


async def test_a_valid_token_maps_to_the_tenant_of_its_oid() -> None:
    keys = FakeKeys(_jwk(KEY))
    tenant = await _validator(keys=keys).tenant_for(_token())
    expected = "entra_" + hashlib.sha256(f"{TENANT}:{OID}".encode()).hexdigest()[:24]
    assert tenant == expected == principal_tenant(TENANT, OID)
    assert OID not in tenant and keys.lookups == [KID]
    await _validator(keys=keys).aclose()
    assert keys.closed


async def test_two_principals_are_two_tenants() -> None:
    validator = _validator()
    first = await validator.tenant_for(_token(oid=OID))
    second = await validator.tenant_for(_token(oid=str(uuid.uuid4())))
    assert first != second
    assert await validator.tenant_for(_token(oid=OID.upper())) == first  # the same object id, however spelled


async def test_the_same_oid_in_two_entra_tenants_is_two_tenants() -> None:
    here = await _validator(_settings(TENANT)).tenant_for(_token(tenant=TENANT))
    there = await _validator(_settings(OTHER_TENANT)).tenant_for(_token(tenant=OTHER_TENANT))
    assert here != there


async def test_the_v1_issuer_is_accepted() -> None:
    token = _token(iss=f"https://sts.windows.net/{TENANT}/", ver="1.0")
    assert await _validator().tenant_for(token) == principal_tenant(TENANT, OID)


async def test_any_accepted_audience_and_a_list_valued_aud() -> None:
    validator = _validator(EntraSettings.for_tenant(TENANT, ("other", AUDIENCE)))
    assert await validator.tenant_for(_token(aud=AUDIENCE))
    assert await validator.tenant_for(_token(aud=["nope", AUDIENCE]))


async def test_clock_skew_is_tolerated_both_ways() -> None:
    validator = _validator()
    assert await validator.tenant_for(_token(exp=int(NOW) - CLOCK_SKEW_SECONDS + 5))
    assert await validator.tenant_for(_token(nbf=int(NOW) + CLOCK_SKEW_SECONDS - 5))


async def test_required_roles_any_one_suffices() -> None:
    validator = _validator(_settings(required_roles=("Assistants.Use", "Assistants.Admin")))
    assert await validator.tenant_for(_token(roles=["Other", "Assistants.Admin"]))
    await _refused(validator, _token(roles=["Other"]), "none of the app roles")
    await _refused(validator, _token(), "none of the app roles")  # no roles claim at all
    await _refused(validator, _token(roles="Assistants.Use"), "none of the app roles")  # not a list


def test_verify_token_is_pure_given_the_key() -> None:
    claims = verify_token(_token(), _jwk(KEY), _settings(), NOW)
    assert claims["oid"] == OID
    with pytest.raises(AuthenticationError, match="expired"):
        verify_token(_token(), _jwk(KEY), _settings(), NOW + 3600 + CLOCK_SKEW_SECONDS)


# -- refused tokens --------------------------------------------------------------------------------------------------


async def test_an_expired_token_is_refused() -> None:
    await _refused(_validator(), _token(exp=int(NOW) - CLOCK_SKEW_SECONDS - 1), "has expired")


async def test_a_token_not_valid_yet_is_refused() -> None:
    await _refused(_validator(), _token(nbf=int(NOW) + CLOCK_SKEW_SECONDS + 5), "not valid yet")


async def test_a_wrong_audience_is_refused() -> None:
    await _refused(_validator(), _token(aud="api://someone-else"), "another audience")


async def test_a_wrong_issuer_is_refused() -> None:
    await _refused(_validator(), _token(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
                   "issuer this service does not accept")
    await _refused(_validator(), _token(iss="https://evil.example/v2.0"), "issuer")


async def test_a_token_of_another_entra_tenant_is_refused_by_tid() -> None:
    await _refused(_validator(), _token(tid=OTHER_TENANT), "another Entra ID tenant")


async def test_a_bad_signature_is_refused() -> None:
    # Signed by another key under the same kid.
    await _refused(_validator(), _token(private_key=OTHER_KEY), "signature is invalid")
    # A valid token whose payload was swapped.
    header, _, signature = _token().split(".")
    forged = f"{header}.{_b64(json.dumps(_claims(oid=str(uuid.uuid4()))).encode())}.{signature}"
    await _refused(_validator(), forged, "signature is invalid")


async def test_an_unknown_kid_is_refused() -> None:
    keys = FakeKeys(_jwk(KEY))
    await _refused(_validator(keys=keys), _token(kid="rotated-away"), "not among the tenant's signing keys")
    assert keys.lookups == ["rotated-away"]


async def test_a_token_without_kid_is_refused_without_a_lookup() -> None:
    keys = FakeKeys(_jwk(KEY))
    await _refused(_validator(keys=keys), _token(kid=None), "signing key")
    assert keys.lookups == []


async def test_alg_none_is_refused_without_a_lookup() -> None:
    keys = FakeKeys(_jwk(KEY))
    validator = _validator(keys=keys)
    unsigned = _unsigned({"alg": "none", "typ": "JWT", "kid": KID}, _claims())
    await _refused(validator, unsigned + ".", "RS256")
    await _refused(validator, _unsigned({"alg": "None", "kid": KID}, _claims()) + ".", "RS256")
    # The same claims with a signature stolen from a good token do not help either.
    await _refused(validator, unsigned + "." + _token().split(".")[2], "RS256")
    assert keys.lookups == []


async def test_hs256_signed_with_the_public_key_is_refused() -> None:
    """The algorithm-confusion attack: HMAC with the server's public key (PEM or JWK n) as the secret."""
    keys = FakeKeys(_jwk(KEY))
    validator = _validator(keys=keys)
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, _claims())
    for secret in (pem, pem.strip(), _jwk(KEY)["n"].encode()):
        signature = _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        await _refused(validator, f"{signing_input}.{signature}", "RS256")
    assert keys.lookups == []


async def test_other_asymmetric_algorithms_are_refused() -> None:
    token = jwt.encode(_claims(), KEY, algorithm="RS512", headers={"kid": KID})
    await _refused(_validator(), token, "RS256")
    token = jwt.encode(_claims(), KEY, algorithm="PS256", headers={"kid": KID})
    await _refused(_validator(), token, "RS256")


async def test_a_key_published_for_another_algorithm_is_not_used() -> None:
    await _refused(_validator(keys=FakeKeys({**_jwk(KEY), "alg": "RS512"})), _token(), "not an RS256 signing key")
    await _refused(_validator(keys=FakeKeys({**_jwk(KEY), "use": "enc"})), _token(), "not an RS256 signing key")
    await _refused(_validator(keys=FakeKeys({"kty": "oct", "kid": KID, "k": "c2VjcmV0"})), _token(),
                   "not an RS256 signing key")


async def test_a_missing_oid_is_refused() -> None:
    await _refused(_validator(), _token(oid=None), "lacks the 'oid' claim")
    await _refused(_validator(), _token(oid="not-a-guid"), "'oid' claim is not an object id")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
async def test_missing_registered_claims_are_refused(claim: str) -> None:
    await _refused(_validator(), _token(**{claim: None}), f"lacks the '{claim}' claim")


async def test_malformed_tokens_are_refused() -> None:
    validator = _validator()
    good = _token()
    for token in (good[:-1] + "!", "eyJhbGciOiJSUzI1NiJ9.e30", "eyJub3QganNvbg.e30.sig",
                  "eyJhbGciOiJSUzI1NiJ9." + "A" * 40_000 + ".sig"):
        await _refused(validator, token, "not a well-formed")


async def test_a_token_never_appears_in_any_refusal() -> None:
    validator = _validator(_settings(required_roles=("Role",)))
    tokens = [_token(exp=1), _token(aud="x"), _token(iss="https://x/"), _token(private_key=OTHER_KEY),
              _token(kid="unknown"), _token(oid=None), _token(), _token(tid=OTHER_TENANT)]
    for token in tokens:
        with pytest.raises(AuthenticationError) as caught:
            await validator.tenant_for(token)
        rendered = json.dumps(caught.value.to_body())
        assert token not in rendered
        assert not any(part in rendered for part in token.split(".") if len(part) > 8)
        assert caught.value.__context__ is None or caught.value.__suppress_context__  # no PyJWT text chained


# -- the JWKS adapter, over an in-memory transport -------------------------------------------------------------------


class FakeJwksTransport:
    """Answers the OpenID configuration and the key set; counts requests per path."""

    def __init__(self, *jwks: Jwk) -> None:
        self.keys: list[Jwk] = list(jwks)
        self.hits: dict[str, int] = {}
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if self.status != 200:
            return httpx.Response(self.status, text="down")
        if path == "/tenant/v2.0/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": "x", "jwks_uri": "https://login.example/tenant/keys"})
        if path == "/tenant/keys":
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _adapter(transport: FakeJwksTransport, clock: Clock, **options: Any) -> JwksSigningKeys:
    client = httpx.AsyncClient(transport=httpx.MockTransport(transport))
    return JwksSigningKeys(openid_configuration_url="https://login.example/tenant/v2.0/.well-known/openid-configuration",
                           client=client, clock=clock, **options)


async def test_the_adapter_discovers_fetches_and_caches() -> None:
    transport, clock = FakeJwksTransport(_jwk(KEY)), Clock()
    keys = _adapter(transport, clock)
    assert (await keys.key(KID) or {})["n"] == _jwk(KEY)["n"]
    assert await keys.key(KID) is not None
    assert transport.hits == {"/tenant/v2.0/.well-known/openid-configuration": 1, "/tenant/keys": 1}


async def test_an_unknown_kid_refreshes_at_most_once_per_minute() -> None:
    transport, clock = FakeJwksTransport(_jwk(KEY)), Clock()
    keys = _adapter(transport, clock)
    assert await keys.key(KID) is not None
    assert await keys.key("unknown-1") is None  # 60 s have not passed since the first fetch: no refetch
    assert transport.hits["/tenant/keys"] == 1
    clock.now += 61
    assert await keys.key("unknown-1") is None  # refreshed once, still unknown
    assert transport.hits["/tenant/keys"] == 2
    clock.now += 30
    assert await keys.key("unknown-2") is None  # another unknown kid within 60 s: no refetch
    assert transport.hits["/tenant/keys"] == 2
    transport.keys.append(_jwk(OTHER_KEY, "rotated-in"))
    clock.now += 31
    assert await keys.key("rotated-in") is not None  # a key rotated in is found by the next allowed refresh
    assert transport.hits["/tenant/keys"] == 3
    assert transport.hits["/tenant/v2.0/.well-known/openid-configuration"] == 1  # discovery happens once


async def test_the_adapter_with_the_validator_rejects_an_unknown_kid_after_one_refresh() -> None:
    transport, clock = FakeJwksTransport(_jwk(KEY)), Clock()
    validator = EntraValidator(_settings(), _adapter(transport, clock), clock=lambda: NOW)
    assert await validator.tenant_for(_token())
    clock.now += 120
    await _refused(validator, _token(kid="made-up-1"), "not among")
    await _refused(validator, _token(kid="made-up-2"), "not among")
    assert transport.hits["/tenant/keys"] == 2


async def test_an_unreachable_key_set_is_503_not_401() -> None:
    transport, clock = FakeJwksTransport(_jwk(KEY)), Clock()
    transport.status = 500
    keys = _adapter(transport, clock)
    with pytest.raises(ServiceUnavailableError) as caught:
        await keys.key(KID)
    assert caught.value.status == 503
    with pytest.raises(ServiceUnavailableError):
        await keys.key(KID)  # within the retry interval: answered without another fetch
    assert keys.fetches == 1
    transport.status = 200
    clock.now += 6
    assert await keys.key(KID) is not None  # recovers after the retry interval


async def test_a_failed_refresh_keeps_serving_known_keys() -> None:
    transport, clock = FakeJwksTransport(_jwk(KEY)), Clock()
    keys = _adapter(transport, clock, max_age=100)
    assert await keys.key(KID) is not None
    transport.status = 503
    clock.now += 101  # stale: a refresh is due and fails
    assert await keys.key(KID) is not None
    with pytest.raises(ServiceUnavailableError):
        await keys.key("unknown")  # cannot tell whether it is real


async def test_a_key_set_that_is_not_one_is_503() -> None:
    for body in ({"keys": "no"}, {"keys": [{"kty": "EC", "kid": "x"}]}, ["not", "an", "object"]):
        client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _, body=body: httpx.Response(200, json=body)))
        keys = JwksSigningKeys(jwks_url="https://keys.example/", client=client)
        with pytest.raises(ServiceUnavailableError):
            await keys.key(KID)


def test_the_adapter_fetches_only_over_https_or_loopback() -> None:
    for url in ("http://keys.example/", "ftp://keys.example/", "keys.example"):
        with pytest.raises(ValueError, match="https"):
            JwksSigningKeys(jwks_url=url)
    for url in ("https://keys.example/", "http://127.0.0.1:1/", "http://localhost/", "http://[::1]:8/"):
        JwksSigningKeys(jwks_url=url)
    with pytest.raises(ValueError, match="exactly one"):
        JwksSigningKeys()


async def test_a_discovered_plain_http_jwks_uri_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jwks_uri": "http://evil.example/keys"})

    keys = JwksSigningKeys(openid_configuration_url="https://login.example/cfg",
                           client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    with pytest.raises(ServiceUnavailableError):
        await keys.key(KID)

