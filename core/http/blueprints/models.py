"""`/v1/models`: the upstream's models, for model pickers and `client.models.list()`."""

from __future__ import annotations

from typing import Any

from core.http._endpoint import Call
from core.http._routes import Routes

routes = Routes()
bp = routes.blueprint


@routes("models", "GET")
async def models_list(call: Call) -> dict[str, Any]:
    call.query()
    return await call.container.models.list()


@routes("models/{model}", "GET")
async def models_retrieve(call: Call) -> dict[str, Any]:
    return await call.container.models.retrieve(call.path("model"))
