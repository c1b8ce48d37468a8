"""`/v1/threads/{thread_id}/messages`: create, list, retrieve, update, delete."""

from __future__ import annotations

from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.ids import is_well_formed
from core.domain.models import Message
from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import deleted, present, present_bodies, present_body
from core.http.schemas import parse
from core.http.schemas.messages import MessageCreate, MessageUpdate

routes = Routes()
bp = routes.blueprint


@routes("threads/{thread_id}/messages", "POST")
async def messages_create(call: Call) -> dict[str, Any]:
    body = parse(MessageCreate, await call.body())
    return present(await call.container.messages.create(call.tenant_id, call.path("thread_id"), body.fields()))


@routes("threads/{thread_id}/messages", "GET")
async def messages_list(call: Call) -> dict[str, Any]:
    query, values = call.list_query(extra=["run_id"])
    run_id = values.get("run_id", [None])[-1] or None
    if run_id is not None and not is_well_formed(run_id, "run"):
        raise InvalidRequestError("Invalid 'run_id': expected a run id.", param="run_id", code="invalid_value")
    page = await call.container.messages.list_stored(call.tenant_id, call.path("thread_id"), query, run_id=run_id)
    return present_bodies(Message, page)


@routes("threads/{thread_id}/messages/{message_id}", "GET")
async def messages_retrieve(call: Call) -> dict[str, Any]:
    message = await call.container.messages.retrieve_stored(call.tenant_id, call.path("thread_id"),
                                                            call.path("message_id"))
    return present_body(Message, message)


@routes("threads/{thread_id}/messages/{message_id}", "POST")
async def messages_update(call: Call) -> dict[str, Any]:
    body = parse(MessageUpdate, await call.body())
    message = await call.container.messages.update(
        call.tenant_id, call.path("thread_id"), call.path("message_id"), body.metadata
    )
    return present(message)


@routes("threads/{thread_id}/messages/{message_id}", "DELETE")
async def messages_delete(call: Call) -> dict[str, Any]:
    message_id = call.path("message_id")
    await call.container.messages.delete(call.tenant_id, call.path("thread_id"), message_id)
    return deleted(message_id, "thread.message")
