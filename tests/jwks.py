"""A loopback Entra ID stand-in for tests: an OpenID configuration and a JWKS of keys generated here, served by
uvicorn in a thread (no traffic beyond 127.0.0.1), and tokens signed with those keys."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.servers import ServedApp

__all__ = ["AUDIENCE", "KEY", "NEXT_KEY", "OID", "TENANT", "JwksServer", "jwk", "token"]

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://assistants"
OID = "6e5f3c1a-0b9d-4d8e-9f1a-2b3c4d5e6f70"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEXT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(private_key.public_key())), "kid": kid, "use": "sig"}


def token(private_key: rsa.RSAPrivateKey = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "aud": AUDIENCE, "iat": now, "nbf": now,
               "exp": now + 600, "oid": OID, "tid": TENANT, **claims}
    return jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": kid})


class JwksServer(ServedApp):
    """Serves ``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/discovery/v2.0/keys``."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = [jwk(KEY, "k1")]
        self.hits: dict[str, int] = {"configuration": 0, "keys": 0}
        self.status = 200
        self.delay = 0.0
        self.port = 0
        self.app = Starlette(routes=[
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self._configuration),
            Route("/{tenant}/discovery/v2.0/keys", self._keys),
        ])

    @property
    def configuration_url(self) -> str:
        return f"{self.url}/{TENANT}/v2.0/.well-known/openid-configuration"

    async def _configuration(self, request: Request) -> Response:
        self.hits["configuration"] += 1
        if self.status != 200:
            return PlainTextResponse("unavailable", status_code=self.status)
        tenant = request.path_params["tenant"]
        return JSONResponse({"issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
                             "jwks_uri": f"{self.url}/{tenant}/discovery/v2.0/keys"})

    async def _keys(self, request: Request) -> Response:
        self.hits["keys"] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return PlainTextResponse("unavailable", status_code=self.status)
        return JSONResponse({"keys": self.keys})



