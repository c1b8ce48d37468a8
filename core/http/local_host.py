"""A small local host for the registered functions, for machines without Azure Functions Core Tools.

``python -m core.http.local_host`` serves every HTTP function of ``function_app.app`` with uvicorn on
127.0.0.1:7071 (the port ``func start`` uses). Routes and methods come from ``app.get_functions()`` and the prefix
from host.json, so it exercises the real registration. Settings come from the environment, then
local.settings.json's ``Values`` (or local.settings.json.example's when there is no local.settings.json), as
``func start`` would apply them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from core.logs import get_logger

__all__ = ["build_app", "load_local_settings", "main"]

_log = get_logger("local_host")

ROOT = Path(__file__).resolve().parents[2]


def load_local_settings(root: Path = ROOT, environ: dict[str, str] | None = None) -> list[str]:
    """Copy ``Values`` of local.settings.json (or its .example) into the environment, never overriding it.

    Returns the names that were set.
    """
    target: Any = os.environ if environ is None else environ
    for name in ("local.settings.json", "local.settings.json.example"):
        path = root / name
        if path.exists():
            values: Mapping[str, Any] = json.loads(path.read_text()).get("Values", {})
            applied = [key for key in values if key not in target]
            for key in applied:
                target[key] = str(values[key])
            return applied
    return []


def _route_prefix(root: Path) -> str:
    host = json.loads((root / "host.json").read_text())
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return f"/{prefix.strip('/')}" if prefix else ""


def _openai_error(status: int, message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return JSONResponse(body, status_code=status)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return _openai_error(404, f"Invalid URL ({request.method} {request.url.path})")


async def _not_allowed(request: Request, exc: Exception) -> JSONResponse:
    return _openai_error(405, f"Method {request.method} is not allowed on {request.url.path}")


@functools.cache
def _functions() -> tuple[Any, ...]:
    """The registered functions; azure-functions refuses a second ``get_functions()`` on one app, so ask once."""
    from function_app import app as function_app

    return tuple(function_app.get_functions())


def build_app(root: Path = ROOT) -> Any:
    """A Starlette app routing to the HTTP functions that function_app registers."""
    prefix = _route_prefix(root)
    routes = []
    for function in _functions():
        trigger: Any = function.get_trigger()
        route = getattr(trigger, "route", None)
        if route is None:
            continue  # not an HTTP function (queue triggers run elsewhere)
        methods = [str(getattr(method, "value", method)) for method in trigger.methods or ["GET", "POST"]]
        routes.append(Route(f"{prefix}/{route}", function.get_user_function(), methods=methods,
                            name=function.get_function_name()))
    # Literal segments must win over parameters (threads/runs before threads/{thread_id}), as in the Functions host.
    routes.sort(key=lambda item: item.path.count("{"))
    from core.bootstrap import shutdown

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_periodically(), name="run sweep")
        try:
            yield
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            await shutdown()

    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed}, lifespan=lifespan)
    app.router = _IndexedRouter(routes, lifespan)  # before the first request builds the middleware stack
    return _EncodedSlashesStayInSegments(app)


def _bucket(path: str) -> tuple[int, str, str]:
    """Segment count and the first two segments: literals in every route (the family and the resource)."""
    segments = path.strip("/").split("/")
    return len(segments), segments[0], segments[1] if len(segments) > 1 else ""


class _IndexedRouter(Router):
    """Starlette's router, but a request is matched only against the routes of its bucket (a handful) rather than
    all ~140 in turn, which cost about 50 µs per request (404, 405 and slash redirects behave as before)."""

    def __init__(self, routes: list[Route], lifespan: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        buckets: dict[tuple[int, str, str], list[Route]] = {}
        for route in routes:
            assert "{" not in "".join(_bucket(route.path)[1:]), route.path  # the bucket key must be literal
            buckets.setdefault(_bucket(route.path), []).append(route)
        self._buckets = {key: Router(routes=bucket) for key, bucket in buckets.items()}
        self._unknown = Router(routes=[])

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)  # lifespan
            return
        scope.setdefault("router", self)
        await self._buckets.get(_bucket(scope["path"]), self._unknown).app(scope, receive, send)


class _EncodedSlashesStayInSegments:
    """Route as the Functions host does: an encoded ``/`` (``%2F``) belongs to its path segment. uvicorn decodes it
    before routing, which would turn the id ``thread_x%2Fmessages`` into another route; refused as an unknown URL,
    which is what it is (no id contains a slash)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"%2f" in scope.get("raw_path", b"").lower():
            request = Request(scope, receive)
            response = await _not_found(request, Exception())
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _sweep_periodically() -> None:
    """What the timer-triggered ``runs_sweep`` does in Azure: at start (runs a previous process left behind), then
    every half lease."""
    from core.bootstrap import get_container

    while True:
        container = get_container()
        try:
            await container.lifecycle.sweep()
        except Exception:  # an unreachable store: try again at the next round
            _log.warning("run sweep failed")
        await asyncio.sleep(max(0.5, container.settings.run_lease_seconds / 2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    args = parser.parse_args(argv)
    load_local_settings()
    import uvicorn

    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
