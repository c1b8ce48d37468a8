"""SSE framing: one-line JSON frames, keep-alive comments while the producer is silent, `done` at the end."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.domain.errors import InvalidRequestError
from core.http import sse


async def _body(response: sse.StreamingResponse) -> str:
    chunks = [chunk async for chunk in response.body_iterator]
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode()


async def test_frames_pings_and_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "PING_SECONDS", 0.02)

    async def produce(emit: sse.Emit) -> None:
        await emit("thread.message.delta", {"text": "two\nlines"})
        await asyncio.sleep(0.1)
        await emit("thread.run.completed", {"id": "run_1"})

    response = sse.event_stream(produce)
    assert response.media_type == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    body = await _body(response)
    frames = body.split("\n\n")
    assert frames[0] == 'event: thread.message.delta\ndata: {"text":"two\\nlines"}'
    assert ": ping" in frames[1:-3]
    assert frames[-3:] == ['event: thread.run.completed\ndata: {"id":"run_1"}', "event: done\ndata: [DONE]", ""]


async def test_a_failure_becomes_an_error_event_then_done() -> None:
    async def produce(emit: sse.Emit) -> None:
        raise InvalidRequestError("nope", param="x")

    body = await _body(sse.event_stream(produce))
    event, done, _ = body.split("\n\n")
    name, data = event.split("\n")
    assert name == "event: error"
    assert json.loads(data.removeprefix("data: ")) == {
        "error": {"message": "nope", "type": "invalid_request_error", "param": "x", "code": None}}
    assert done == "event: done\ndata: [DONE]"
