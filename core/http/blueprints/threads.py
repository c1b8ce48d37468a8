"""`/v1/threads`: create, retrieve, update, delete (create-and-run lives with the runs)."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from core.http._endpoint import Call, endpoint
from core.http.presenters import deleted, present
from core.http.schemas import parse
from core.http.schemas.threads import ThreadCreate, ThreadUpdate

bp = func.Blueprint()
route = bp.route
ANONYMOUS = func.AuthLevel.ANONYMOUS


@route(route="threads", methods=["POST"], auth_level=ANONYMOUS)
@endpoint
async def threads_create(call: Call) -> dict[str, Any]:
    body = parse(ThreadCreate, await call.body())
    thread = await call.container.threads.create(
        call.tenant_id,
        metadata=body.metadata,
        tool_resources=body.tool_resources.stored() if body.tool_resources else None,
        messages=[message.fields() for message in body.messages or []],
    )
    return present(thread)


@route(route="threads/{thread_id}", methods=["GET"], auth_level=ANONYMOUS)
@endpoint
async def threads_retrieve(call: Call) -> dict[str, Any]:
    return present(await call.container.threads.retrieve(call.tenant_id, call.path("thread_id")))


@route(route="threads/{thread_id}", methods=["POST"], auth_level=ANONYMOUS)
@endpoint
async def threads_update(call: Call) -> dict[str, Any]:
    body = parse(ThreadUpdate, await call.body())
    changes: dict[str, Any] = {}
    if "metadata" in body.model_fields_set:
        changes["metadata"] = body.metadata
    if "tool_resources" in body.model_fields_set:
        changes["tool_resources"] = body.tool_resources.stored() if body.tool_resources else None
    return present(await call.container.threads.update(call.tenant_id, call.path("thread_id"), changes))


@route(route="threads/{thread_id}", methods=["DELETE"], auth_level=ANONYMOUS)
@endpoint
async def threads_delete(call: Call) -> dict[str, Any]:
    thread_id = call.path("thread_id")
    await call.container.threads.delete(call.tenant_id, thread_id)
    return deleted(thread_id, "thread")
