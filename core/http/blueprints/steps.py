"""`/v1/threads/{thread_id}/runs/{run_id}/steps`: list and retrieve."""

from __future__ import annotations

from typing import Any

from core.domain.models import RunStep
from core.http._endpoint import Call
from core.http._include import INCLUDE, included
from core.http._routes import Routes
from core.http.presenters import present_bodies, present_body

routes = Routes()
bp = routes.blueprint


@routes("threads/{thread_id}/runs/{run_id}/steps", "GET")
async def steps_list(call: Call) -> dict[str, Any]:
    query, values = call.list_query(extra=[INCLUDE])
    page = await call.container.steps.list_stored(
        call.tenant_id, call.path("thread_id"), call.path("run_id"), query, included(values)
    )
    return present_bodies(RunStep, page)


@routes("threads/{thread_id}/runs/{run_id}/steps/{step_id}", "GET")
async def steps_retrieve(call: Call) -> dict[str, Any]:
    step = await call.container.steps.retrieve_stored(
        call.tenant_id, call.path("thread_id"), call.path("run_id"), call.path("step_id"),
        included(call.query([INCLUDE])),
    )
    return present_body(RunStep, step)
