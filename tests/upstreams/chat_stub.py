"""A scriptable Chat Completions backend on loopback, for Responses servers that bridge to chat completions.

``open-responses-server`` turns each ``POST /responses`` into a ``POST /v1/chat/completions`` on its backend; this
stub is that backend. Replies are scripted first in, first out; with the script empty it answers ``DEFAULT_TEXT``::

    with ChatCompletionsStub() as stub:
        stub.reply_text("Paris is the capital of France.", chunks=["Paris ", "is the capital ", "of France."])
        stub.reply_tool_calls([("get_weather", '{"city":"Paris"}', "call_stub_1")])
        ...
        assert stub.requests[1]["messages"][-1] == {"role": "tool", "tool_call_id": "call_stub_1", "content": "..."}

A request with ``"stream": true`` gets Server-Sent Events framed as OpenAI frames them: ``data: <chunk>`` per
``chat.completion.chunk``, then ``data: [DONE]``. The first chunk carries ``delta.role`` (and ``content: ""`` for
text); a tool call starts with a chunk holding its ``index``, ``id``, ``type`` and ``function.name`` with
``arguments: ""``, then one chunk per arguments fragment; the last chunk has an empty delta and the
``finish_reason`` (``stop`` or ``tool_calls``). Any other request gets one ``chat.completion`` JSON object. Every
request body is recorded, in order, in :attr:`ChatCompletionsStub.requests`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers import ServedApp

DEFAULT_TEXT = "Hello from the chat stub."
Json = dict[str, Any]
ToolCallSpec = tuple[str, str] | tuple[str, str, str]  # (name, arguments JSON text[, call id])


@dataclass(frozen=True)
class ChatReply:
    """One scripted answer: text (in ``chunks``), tool calls, or both (text first, as models send it)."""

    text: str | None = None
    chunks: tuple[str, ...] = ()
    tool_calls: tuple[tuple[str, str, str], ...] = ()  # (call id, name, arguments)
    argument_pieces: int = 3  # fragments each call's arguments are streamed in
    usage: Json = field(default_factory=lambda: {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19})

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _slices(text: str, pieces: int) -> list[str]:
    if pieces <= 1 or len(text) <= 1:
        return [text]
    size = -(-len(text) // pieces)
    return [text[at:at + size] for at in range(0, len(text), size)]


class ChatCompletionsStub(ServedApp):
    """``POST /v1/chat/completions`` on 127.0.0.1 (free port), served by uvicorn in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[ChatReply] = deque()
        self._requests: list[Json] = []
        self._counter = 0
        self.port = 0
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self._completions, methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ])

    # -- lifecycle -------------------------------------------------------------------------------------------------

    # -- script ----------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the script and the recorded requests."""
        with self._lock:
            self._script.clear()
            self._requests.clear()

    def reply_text(self, text: str, *, chunks: Sequence[str] | None = None) -> ChatReply:
        """A text answer, streamed as ``chunks`` (default: three slices); they must join to ``text``."""
        pieces = tuple(chunks) if chunks is not None else tuple(_slices(text, 3))
        if "".join(pieces) != text:
            raise ValueError("chunks must join to the text")
        return self._enqueue(ChatReply(text=text, chunks=pieces))

    def reply_tool_calls(self, calls: Sequence[ToolCallSpec], *, text: str | None = None,
                         argument_pieces: int = 3) -> ChatReply:
        """Tool calls, each ``(name, arguments)`` or ``(name, arguments, call id)``; optional text before them."""
        scripted = []
        for call in calls:
            name, arguments = call[0], call[1]
            call_id = call[2] if len(call) > 2 else self._next_call_id()
            scripted.append((call_id, name, arguments))
        chunks = tuple(_slices(text, 2)) if text else ()
        return self._enqueue(ChatReply(text=text, chunks=chunks, tool_calls=tuple(scripted),
                                       argument_pieces=argument_pieces))

    def _enqueue(self, reply: ChatReply) -> ChatReply:
        with self._lock:
            self._script.append(reply)
        return reply

    def _next_call_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"call_stub_{self._counter}"

    @property
    def requests(self) -> list[Json]:
        """The request bodies received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Scripted replies not yet sent."""
        with self._lock:
            return len(self._script)

    # -- HTTP ------------------------------------------------------------------------------------------------------

    async def _not_found(self, request: Request) -> Response:
        error = {"message": f"Invalid URL ({request.method} {request.url.path})", "type": "invalid_request_error",
                 "param": None, "code": None}
        return JSONResponse({"error": error}, status_code=404)

    async def _completions(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            error = {"message": "'messages' is required.", "type": "invalid_request_error", "param": "messages",
                     "code": None}
            return JSONResponse({"error": error}, status_code=400)
        with self._lock:
            self._requests.append(body)
            reply = self._script.popleft() if self._script else ChatReply(text=DEFAULT_TEXT,
                                                                          chunks=tuple(_slices(DEFAULT_TEXT, 3)))
            self._counter += 1
            completion_id = f"chatcmpl-stub{self._counter}"
        model = str(body.get("model") or "stub-model")
        if body.get("stream") is True:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(reply, completion_id, model, include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return JSONResponse(_completion(reply, completion_id, model))


def _chunk(completion_id: str, model: str, delta: Json, finish_reason: str | None = None) -> Json:
    return {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}


def _frames(reply: ChatReply, completion_id: str, model: str, include_usage: bool) -> list[Json]:
    frames: list[Json] = []
    if reply.text is not None:
        frames.append(_chunk(completion_id, model, {"role": "assistant", "content": "", "refusal": None}))
        frames += [_chunk(completion_id, model, {"content": piece}) for piece in reply.chunks]
    for index, (call_id, name, arguments) in enumerate(reply.tool_calls):
        opening: Json = {"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                          "function": {"name": name, "arguments": ""}}]}
        if not frames:
            opening = {"role": "assistant", "content": None, **opening}
        frames.append(_chunk(completion_id, model, opening))
        frames += [_chunk(completion_id, model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                   for piece in _slices(arguments, reply.argument_pieces)]
    frames.append(_chunk(completion_id, model, {}, reply.finish_reason))
    if include_usage:
        frames.append({**_chunk(completion_id, model, {}), "choices": [], "usage": reply.usage})
    return frames


async def _sse(reply: ChatReply, completion_id: str, model: str, include_usage: bool) -> AsyncIterator[bytes]:
    for frame in _frames(reply, completion_id, model, include_usage):
        yield f"data: {json.dumps(frame)}\n\n".encode()
        await asyncio.sleep(0)  # one frame per write, as a model server flushes them
    yield b"data: [DONE]\n\n"


def _completion(reply: ChatReply, completion_id: str, model: str) -> Json:
    message: Json = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                                 for call_id, name, arguments in reply.tool_calls]
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
            "usage": reply.usage}
