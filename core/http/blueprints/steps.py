"""`/v1/threads/{thread_id}/runs/{run_id}/steps`: list and retrieve."""

from __future__ import annotations

from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import FILE_SEARCH_CONTENT, RunStep
from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import present_bodies, present_body

routes = Routes()
bp = routes.blueprint
INCLUDE = "include[]"


def _include(values: dict[str, list[str]]) -> frozenset[str]:
    include = frozenset(values.get(INCLUDE, []))
    unknown = include - {FILE_SEARCH_CONTENT}
    if unknown:
        raise InvalidRequestError(f"Invalid value for 'include[]': {sorted(unknown)[0]!r}.", param="include")
    return include


@routes("threads/{thread_id}/runs/{run_id}/steps", "GET")
async def steps_list(call: Call) -> dict[str, Any]:
    query, values = call.list_query(extra=[INCLUDE])
    page = await call.container.steps.list_stored(
        call.tenant_id, call.path("thread_id"), call.path("run_id"), query, _include(values)
    )
    return present_bodies(RunStep, page)


@routes("threads/{thread_id}/runs/{run_id}/steps/{step_id}", "GET")
async def steps_retrieve(call: Call) -> dict[str, Any]:
    step = await call.container.steps.retrieve_stored(
        call.tenant_id, call.path("thread_id"), call.path("run_id"), call.path("step_id"),
        _include(call.query([INCLUDE])),
    )
    return present_body(RunStep, step)
