"""`/v1/threads`: create, retrieve, update, delete (create-and-run lives with the runs)."""

from __future__ import annotations

from typing import Any

from core.domain.models import Thread
from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import deleted, present, present_body
from core.http.schemas import parse
from core.http.schemas.threads import ThreadCreate, ThreadUpdate

routes = Routes()
bp = routes.blueprint


@routes("threads", "POST")
async def threads_create(call: Call) -> dict[str, Any]:
    body = parse(ThreadCreate, await call.body())
    thread = await call.container.threads.create(
        call.tenant_id,
        metadata=body.metadata,
        tool_resources=body.tool_resources.stored() if body.tool_resources else None,
        messages=[message.fields() for message in body.messages or []],
    )
    return present(thread)


@routes("threads/{thread_id}", "GET")
async def threads_retrieve(call: Call) -> dict[str, Any]:
    return present_body(Thread, await call.container.threads.retrieve_stored(call.tenant_id, call.path("thread_id")))


@routes("threads/{thread_id}", "POST")
async def threads_update(call: Call) -> dict[str, Any]:
    body = parse(ThreadUpdate, await call.body())
    changes: dict[str, Any] = {}
    if "metadata" in body.model_fields_set:
        changes["metadata"] = body.metadata
    if "tool_resources" in body.model_fields_set:
        changes["tool_resources"] = body.tool_resources.stored() if body.tool_resources else None
    return present(await call.container.threads.update(call.tenant_id, call.path("thread_id"), changes))


@routes("threads/{thread_id}", "DELETE")
async def threads_delete(call: Call) -> dict[str, Any]:
    thread_id = call.path("thread_id")
    await call.container.threads.delete(call.tenant_id, thread_id)
    return deleted(thread_id, "thread")
