"""Server-sent events in the exact framing the openai SDK reads (assistants-on-responses.md §5.1).

The work that produces events runs as its own task and feeds a queue the response drains: a client that
disconnects stops the reading, not the run, so nothing is left half-done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from azurefunctions.extensions.http.fastapi import StreamingResponse

from core.domain.errors import ApiError
from core.domain.models import _Stored
from core.logs import get_logger

from .presenters import present

__all__ = ["DONE", "event_stream", "frame"]

_log = get_logger("sse")
DONE = b"event: done\ndata: [DONE]\n\n"
PING = b": ping\n\n"
PING_SECONDS = 15.0  # proxies and load balancers drop idle connections (App Service's front end after 230 s)
_producers: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

Emit = Callable[[str, "_Stored | dict[str, Any]"], Awaitable[None]]


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One event; the JSON stays on one line, so the SDK's line-based decoder reads it whole."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def event_stream(produce: Callable[[Emit], Awaitable[object]]) -> StreamingResponse:
    """Run ``produce(emit)`` in the background and stream what it emits, then ``done``."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def emit(event: str, payload: _Stored | dict[str, Any]) -> None:
        queue.put_nowait(frame(event, present(payload) if isinstance(payload, _Stored) else payload))

    async def producer() -> None:
        try:
            await produce(emit)
        except ApiError as error:
            queue.put_nowait(frame("error", error.to_body()))
        except Exception:
            _log.exception("stream producer failed")
            failure = ApiError("The server had an error while processing your request.")
            queue.put_nowait(frame("error", failure.to_body()))
        finally:
            queue.put_nowait(DONE)
            queue.put_nowait(None)

    task = asyncio.create_task(producer())
    _producers.add(task)
    task.add_done_callback(_producers.discard)

    async def body() -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                yield PING
                continue
            if chunk is None:
                return
            yield chunk

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
