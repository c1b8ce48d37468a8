"""`/v1/assistants`: create, list, retrieve, update, delete."""

from __future__ import annotations

from typing import Any

from core.domain.models import Assistant
from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import deleted, present, present_bodies, present_body
from core.http.schemas import parse
from core.http.schemas.assistants import AssistantCreate, AssistantUpdate

routes = Routes()
bp = routes.blueprint


@routes("assistants", "POST")
async def assistants_create(call: Call) -> dict[str, Any]:
    body = parse(AssistantCreate, await call.body())
    return present(await call.container.assistants.create(call.tenant_id, body.changes()))


@routes("assistants", "GET")
async def assistants_list(call: Call) -> dict[str, Any]:
    query, _ = call.list_query()
    return present_bodies(Assistant, await call.container.assistants.list_stored(call.tenant_id, query))


@routes("assistants/{assistant_id}", "GET")
async def assistants_retrieve(call: Call) -> dict[str, Any]:
    return present_body(Assistant, await call.container.assistants.retrieve_stored(call.tenant_id,
                                                                                  call.path("assistant_id")))


@routes("assistants/{assistant_id}", "POST")
async def assistants_update(call: Call) -> dict[str, Any]:
    body = parse(AssistantUpdate, await call.body())
    changes = body.changes()
    if changes.get("model", "") is None:
        changes.pop("model")  # a model cannot be cleared
    return present(await call.container.assistants.update(call.tenant_id, call.path("assistant_id"), changes))


@routes("assistants/{assistant_id}", "DELETE")
async def assistants_delete(call: Call) -> dict[str, Any]:
    assistant_id = call.path("assistant_id")
    await call.container.assistants.delete(call.tenant_id, assistant_id)
    return deleted(assistant_id, "assistant")
