"""`/v1/threads/{thread_id}/runs` and `/v1/threads/runs`: create (polled or streamed), list, retrieve, update,
cancel, submit tool outputs."""

from __future__ import annotations

import time
from typing import Any

from azurefunctions.extensions.http.fastapi import Response

from core.domain.models import FILE_SEARCH_CONTENT, Run, RunStep, Thread, _Stored
from core.http._endpoint import Call, FastJSONResponse
from core.http._include import INCLUDE, included, without_search_content
from core.http._routes import Routes
from core.http.presenters import present, present_bodies, present_body
from core.http.schemas import parse
from core.http.schemas.runs import RunCreate, RunUpdate, SubmitToolOutputs, ThreadAndRunCreate
from core.http.sse import Emit, event_stream

routes = Routes()
bp = routes.blueprint
#: (run age in seconds, poll interval in ms): the SDK's poll helpers wait ``openai-poll-after-ms`` between reads, so
#: a young run is polled often (most runs end within seconds) and an old one backs off.
POLL_AFTER_MS = ((2, 50), (10, 200), (60, 500))
SLOWEST_POLL_MS = 1000


def poll_after_ms(run: Run, now: float) -> int:
    age = now - run.created_at
    return next((interval for limit, interval in POLL_AFTER_MS if age < limit), SLOWEST_POLL_MS)


def _run_response(run: Run) -> Response:
    return FastJSONResponse(present(run), headers={"openai-poll-after-ms": str(poll_after_ms(run, time.time()))})


def _steps_shown(sent: Emit, include: frozenset[str]) -> Emit:
    """Step events shown as steps are read: the text of file_search results only when ``include[]`` asks for it."""
    if FILE_SEARCH_CONTENT in include:
        return sent

    async def emit(event: str, payload: _Stored | dict[str, Any]) -> None:
        await sent(event, without_search_content(present(payload)) if isinstance(payload, RunStep) else payload)

    return emit


async def _start(call: Call, run: Run, stream: bool, thread: Thread | None = None,
                 include: frozenset[str] = frozenset()) -> Response:
    """Stream the run's execution in this response, or queue it and answer with the queued run."""
    container = call.container
    if not stream:
        await container.run_queue.enqueue(run.tenant_id, run.thread_id, run.id)
        return _run_response(run)

    async def produce(sent: Emit) -> None:
        emit = _steps_shown(sent, include)
        if thread is not None:
            await emit("thread.created", thread)
        await emit("thread.run.created", run)
        await emit("thread.run.queued", run)
        await container.executor.execute(run.tenant_id, run.thread_id, run.id, emit, known=run)

    return event_stream(produce)


@routes("threads/{thread_id}/runs", "POST")
async def runs_create(call: Call) -> Response:
    include = included(call.query([INCLUDE]))
    body = parse(RunCreate, await call.body())
    options = body.overrides() | {"assistant_id": body.assistant_id}
    if body.additional_instructions is not None:
        options["additional_instructions"] = body.additional_instructions
    if body.reasoning_effort is not None:
        options["reasoning_effort"] = body.reasoning_effort
    extra = [message.fields() for message in body.additional_messages or []]
    run = await call.container.runs.create(call.tenant_id, call.path("thread_id"), options, extra)
    return await _start(call, run, bool(body.stream), include=include)


@routes("threads/runs", "POST")
async def threads_create_and_run(call: Call) -> Response:
    body = parse(ThreadAndRunCreate, await call.body())
    spec = body.thread
    thread_spec: dict[str, Any] = {
        "metadata": spec.metadata if spec else None,
        "tool_resources": spec.tool_resources.stored() if spec and spec.tool_resources else None,
        "messages": [message.fields() for message in (spec.messages or [])] if spec else [],
    }
    options = body.overrides() | {"assistant_id": body.assistant_id}
    thread, run = await call.container.runs.create_thread_and_run(call.tenant_id, thread_spec, options)
    return await _start(call, run, bool(body.stream), thread)


@routes("threads/{thread_id}/runs", "GET")
async def runs_list(call: Call) -> dict[str, Any]:
    query, _ = call.list_query()
    return present_bodies(Run, await call.container.runs.list_stored(call.tenant_id, call.path("thread_id"), query))


@routes("threads/{thread_id}/runs/{run_id}", "GET")
async def runs_retrieve(call: Call) -> Response:
    call.query()
    run = await call.container.runs.retrieve_stored(call.tenant_id, call.path("thread_id"), call.path("run_id"))
    age = time.time() - run["created_at"]  # poll_after_ms() on the stored body
    interval = next((interval for limit, interval in POLL_AFTER_MS if age < limit), SLOWEST_POLL_MS)
    return FastJSONResponse(present_body(Run, run), headers={"openai-poll-after-ms": str(interval)})


@routes("threads/{thread_id}/runs/{run_id}", "POST")
async def runs_update(call: Call) -> dict[str, Any]:
    body = parse(RunUpdate, await call.body())
    run = await call.container.runs.update(call.tenant_id, call.path("thread_id"), call.path("run_id"), body.metadata)
    return present(run)


@routes("threads/{thread_id}/runs/{run_id}/cancel", "POST")
async def runs_cancel(call: Call) -> dict[str, Any]:
    await call.body()  # the SDK sends an empty body; anything else must still be JSON
    run = await call.container.run_control.cancel(call.tenant_id, call.path("thread_id"), call.path("run_id"))
    return present(run)


@routes("threads/{thread_id}/runs/{run_id}/submit_tool_outputs", "POST")
async def runs_submit_tool_outputs(call: Call) -> Response:
    body = parse(SubmitToolOutputs, await call.body())
    outputs = [(item.tool_call_id, item.output) for item in body.tool_outputs]
    run, step = await call.container.run_control.submit_tool_outputs(
        call.tenant_id, call.path("thread_id"), call.path("run_id"), outputs
    )
    if not body.stream:
        return await _start(call, run, False)
    container = call.container

    async def produce(sent: Emit) -> None:
        emit = _steps_shown(sent, frozenset())
        await emit("thread.run.step.completed", step)
        await emit("thread.run.queued", run)
        await container.executor.execute(run.tenant_id, run.thread_id, run.id, emit, known=run)

    return event_stream(produce)
