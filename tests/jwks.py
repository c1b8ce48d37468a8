"""A loopback Entra ID stand-in for tests: an OpenID configuration and a JWKS of keys generated here, served by
uvicorn in a thread (no traffic beyond 127.0.0.1), and tokens signed with those keys."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

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


class JwksServer:
    """Serves ``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/discovery/v2.0/keys``."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = [jwk(KEY, "k1")]
        self.hits: dict[str, int] = {"configuration": 0, "keys": 0}
        self.status = 200
        self.delay = 0.0
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self._configuration),
            Route("/{tenant}/discovery/v2.0/keys", self._keys),
        ])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def start(self) -> JwksServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning",
                                access_log=False, timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name="jwks",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the JWKS server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(5)


