"""The request-cost baseline: a bare Starlette app with one route returning a small JSON, served by the very same
uvicorn call as the service.

``python -m bench.hello --port P`` runs ``core.http.local_host.main`` with its app swapped for the hello app, so
whatever uvicorn settings the local host passes (loop, http implementation, access log, ...) apply here too.
``GET /info`` reports what uvicorn resolved them to (the running loop class and HTTP protocol class).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.http import local_host

_configs: list[uvicorn.Config] = []
_settings: dict[str, str] = {}


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def info(request: Request) -> JSONResponse:
    loop = type(asyncio.get_running_loop())
    config = _configs[-1] if _configs else None
    protocol = getattr(config, "http_protocol_class", None)
    return JSONResponse({
        "loop": f"{loop.__module__}.{loop.__qualname__}",
        "http": f"{protocol.__module__}.{protocol.__qualname__}" if protocol else None,
        "settings": _settings,
    })


APP = Starlette(routes=[Route("/hello", hello), Route("/info", info)])


def main(argv: list[str] | None = None) -> None:
    original = uvicorn.Config.__init__
    defaults = {name: parameter.default for name, parameter in inspect.signature(original).parameters.items()}

    def config_init(self: uvicorn.Config, app: Any, *args: Any, **kwargs: Any) -> None:
        _settings.update({name: repr(value) for name, value in kwargs.items()
                          if name not in ("host", "port") and value != defaults.get(name)})
        kwargs.pop("factory", None)  # the local host may pass an app factory; the hello app is an app
        original(self, APP, *args, **kwargs)
        _configs.append(self)

    uvicorn.Config.__init__ = config_init  # type: ignore[method-assign]
    local_host.build_app = lambda *args, **kwargs: APP  # the service's routes are not needed
    local_host.main(argv)


if __name__ == "__main__":
    main()
