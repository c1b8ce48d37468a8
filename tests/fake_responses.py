"""A scriptable fake of the OpenAI Responses API, served over real HTTP on loopback, for end-to-end tests.

The service under test talks to it exactly as it talks to OpenAI::

    with FakeResponsesServer() as fake:
        fake.reply_text("Hello world")
        fake.reply_function_calls([("get_weather", '{"city":"Paris"}')])
        client = openai.AsyncOpenAI(base_url=f"{fake.url}/v1", api_key="x")
        ...
        assert fake.requests[0]["model"] == "gpt-4o"

`POST /v1/responses` answers with the next scripted reply (FIFO; a plain text reply, `DEFAULT_TEXT`, once the
queue is empty). A request with `"stream": true` gets Server-Sent Events framed like the real API
(`event: <type>` + `data: <json>`, `sequence_number` from 0, no `[DONE]`: the body ends after the terminal
event); any other request gets the final Response object as JSON. Wire shapes follow
`openai/types/responses/` of the installed SDK.

Usage is deterministic: every completed or incomplete reply reports `Usage()` (input 10, output 5, total 15,
no cached or reasoning tokens) unless the reply is given `usage=(input, output)` or a `Usage`. Failed replies,
stream errors and HTTP errors report no usage unless given one.

Replies accept these options (`ReplyOptions`): `delay` (seconds before answering), `chunk_delay` (seconds
between SSE frames), `hang` (seconds to stall after the last delta, cut short when the client disconnects),
`usage`, and `reasoning` (prepend a `reasoning` item carrying `encrypted_content`).

`POST /v1/responses/input_tokens` answers `{"object": "response.input_tokens", "input_tokens": N}` with
`N = fake.input_tokens_count` (10 by default).

Hosted tools: `reply_file_search` (a `file_search_call` item, then a message citing the result files) and
`reply_code_interpreter` (a `code_interpreter_call` item, then a message with `container_file_citation`s); results
and outputs show only under the request's `include`, as in the real API (`tests/fake_upstream_tools.py`).

Resources, kept in memory and reset by `reset()`: Files, container file content and Models (`fake.files`,
`tests/fake_upstream_files.py`), Vector Stores with file ingestion (`fake.vector_stores`,
`tests/fake_upstream_vector_stores.py`). Their requests are in `fake.resource_requests` (method, path, query, JSON
body or multipart fields), not in `fake.requests`. Every other path answers 404 with the OpenAI error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self, TypedDict

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from typing_extensions import Unpack

from tests.fake_upstream_files import FakeFiles
from tests.fake_upstream_http import new_object_id
from tests.fake_upstream_tools import (
    TOOL_CALL_TYPES,
    code_interpreter_item,
    file_search_item,
    started_item,
    tool_call_events,
    visible_output,
    with_search_results,
)
from tests.fake_upstream_vector_stores import FakeVectorStores

DEFAULT_TEXT = "Hello from the fake."
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_INPUT_TOKENS = 10
DEFAULT_OUTPUT_TOKENS = 5
DEFAULT_PIECES = 4

Json = dict[str, Any]
FunctionCallSpec = tuple[str, str | Mapping[str, Any]] | tuple[str, str | Mapping[str, Any], str]

_HTTP_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request (scripted by the fake)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (scripted by the fake)."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass(frozen=True)
class Usage:
    """Token usage reported by a reply; `total_tokens` is always input + output."""

    input_tokens: int = DEFAULT_INPUT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> Json:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total_tokens,
        }


class ReplyOptions(TypedDict, total=False):
    """Options every scripted reply accepts."""

    delay: float
    chunk_delay: float
    hang: float
    usage: Usage | tuple[int, int]
    reasoning: bool


@dataclass(frozen=True)
class HttpError:
    """A non-200 answer with the OpenAI error envelope, sent before any SSE byte."""

    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamError:
    """An `error` SSE event sent mid-stream; `nested` adds the `error` object the live API sends."""

    code: str | None
    message: str
    param: str | None = None
    type: str = "server_error"
    nested: bool = False


@dataclass
class ScriptedReply:
    """What one `POST /v1/responses` returns. `output` holds the final items; `chunks` the streamed deltas,
    keyed by (output_index, content_index)."""

    response_id: str
    output: list[Json] = field(default_factory=list)
    chunks: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    status: Literal["completed", "incomplete", "failed"] = "completed"
    incomplete_reason: str | None = None
    error: Json | None = None
    usage: Usage | None = None
    http_error: HttpError | None = None
    stream_error: StreamError | None = None
    resolve_output: Callable[[Json], list[Json]] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    hang: float | None = None

    @property
    def call_ids(self) -> list[str]:
        return [item["call_id"] for item in self.output if item["type"] == "function_call"]

    @property
    def item_ids(self) -> list[str]:
        return [item["id"] for item in self.output]


@dataclass
class RecordedRequest:
    """One request received by the fake."""

    path: str
    body: Json
    headers: dict[str, str]
    disconnected: bool = False
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def split_text(text: str, pieces: int = DEFAULT_PIECES) -> list[str]:
    """Split `text` into at most `pieces` non-empty slices of nearly equal length that concatenate to it."""
    if not text:
        return []
    count = min(pieces, len(text))
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[start:end] for start, end in itertools.pairwise(bounds)]


def file_citation(file_id: str, filename: str, index: int) -> Json:
    return {"type": "file_citation", "file_id": file_id, "filename": filename, "index": index}


def url_citation(url: str, title: str, start_index: int, end_index: int) -> Json:
    return {"type": "url_citation", "url": url, "title": title, "start_index": start_index, "end_index": end_index}


def container_file_citation(container_id: str, file_id: str, filename: str, start_index: int, end_index: int) -> Json:
    return {
        "type": "container_file_citation",
        "container_id": container_id,
        "file_id": file_id,
        "filename": filename,
        "start_index": start_index,
        "end_index": end_index,
    }


def file_path(file_id: str, index: int) -> Json:
    return {"type": "file_path", "file_id": file_id, "index": index}


def error_envelope(message: str, type: str, code: str | None = None, param: str | None = None) -> Json:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class _OutputBuilder:
    def __init__(self, reasoning: bool) -> None:
        self.items: list[Json] = []
        self.chunks: dict[tuple[int, int], list[str]] = {}
        if reasoning:
            self.items.append(
                {
                    "id": new_id("rs"),
                    "type": "reasoning",
                    "summary": [],
                    "encrypted_content": f"gAAAAAB{secrets.token_urlsafe(48)}",
                }
            )

    def text(
        self,
        text: str,
        chunks: Sequence[str] | None = None,
        annotations: Sequence[Json] = (),
        status: str = "completed",
    ) -> None:
        part = {"type": "output_text", "annotations": list(annotations), "logprobs": [], "text": text}
        self._message(part, _checked_chunks(text, chunks), status)

    def refusal(self, refusal: str, chunks: Sequence[str] | None = None) -> None:
        self._message({"type": "refusal", "refusal": refusal}, _checked_chunks(refusal, chunks), "completed")

    def function_call(self, name: str, arguments: str | Mapping[str, Any], call_id: str | None = None) -> None:
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        self.chunks[(len(self.items), 0)] = split_text(args, 3)
        self.items.append(
            {
                "id": new_id("fc"),
                "type": "function_call",
                "status": "completed",
                "arguments": args,
                "call_id": call_id or f"call_{secrets.token_hex(12)}",
                "name": name,
            }
        )

    def file_search(self, queries: Sequence[str], results: Sequence[Json]) -> None:
        self.items.append(file_search_item(queries, results))

    def code_interpreter(self, code: str, container_id: str, logs: str | None, images: Sequence[str]) -> None:
        self.chunks[(len(self.items), 0)] = split_text(code, 3)
        self.items.append(code_interpreter_item(code, container_id, logs, images))

    def _message(self, part: Json, chunks: list[str], status: str) -> None:
        self.chunks[(len(self.items), 0)] = chunks
        self.items.append(
            {"id": new_id("msg"), "type": "message", "status": status, "content": [part], "role": "assistant"}
        )


def _checked_chunks(text: str, chunks: Sequence[str] | None) -> list[str]:
    if chunks is None:
        return split_text(text)
    if "".join(chunks) != text:
        raise ValueError("chunks must concatenate to the text")
    return list(chunks)


def _usage(value: Usage | tuple[int, int] | None) -> Usage | None:
    if isinstance(value, tuple):
        return Usage(input_tokens=value[0], output_tokens=value[1])
    return value


def _reply(output: _OutputBuilder, options: ReplyOptions, default_usage: Usage | None, **fields: Any) -> ScriptedReply:
    return ScriptedReply(
        response_id=new_id("resp"),
        output=output.items,
        chunks=output.chunks,
        usage=_usage(options.get("usage", default_usage)),
        delay=options.get("delay", 0.0),
        chunk_delay=options.get("chunk_delay", 0.0),
        hang=options.get("hang"),
        **fields,
    )


def text_reply(
    text: str = DEFAULT_TEXT,
    *,
    chunks: Sequence[str] | None = None,
    annotations: Sequence[Json] = (),
    **options: Unpack[ReplyOptions],
) -> ScriptedReply:
    output = _OutputBuilder(options.get("reasoning", False))
    output.text(text, chunks, annotations)
    return _reply(output, options, Usage())


def file_search_reply(
    text: str = DEFAULT_TEXT,
    *,
    results: Sequence[Json] = (),
    queries: Sequence[str] = ("fake search",),
    annotations: Sequence[Json] | None = None,
    chunks: Sequence[str] | None = None,
    **options: Unpack[ReplyOptions],
) -> ScriptedReply:
    """A `file_search_call` item with `results` (see `search_result`), then a message whose text cites each
    result's file (`file_citation` at the end of the text) unless `annotations` are given."""
    output = _OutputBuilder(options.get("reasoning", False))
    output.file_search(queries, results)
    output.text(text, chunks, annotations or ())
    if annotations is None:
        output.items[:] = with_search_results(output.items, results, cite=True)
    return _reply(output, options, Usage())


def code_interpreter_reply(
    text: str = DEFAULT_TEXT,
    *,
    code: str = "print(1 + 1)",
    logs: str | None = "2\n",
    images: Sequence[str] = (),
    container_id: str | None = None,
    files: Sequence[tuple[str, str] | tuple[str, str, bytes]] = (),
    annotations: Sequence[Json] | None = None,
    chunks: Sequence[str] | None = None,
    **options: Unpack[ReplyOptions],
) -> ScriptedReply:
    """A `code_interpreter_call` item (`code` streamed in deltas; `outputs`: the `logs`, then an `image` output
    per url in `images`) in `container_id` (default: a new `cntr_…`), then a message whose text carries a
    `container_file_citation` per (file_id, filename) in `files` unless `annotations` are given."""
    container = container_id or new_object_id("cntr_", 32)
    output = _OutputBuilder(options.get("reasoning", False))
    output.code_interpreter(code, container, logs, images)
    cited = [container_file_citation(container, spec[0], spec[1], 0, len(text)) for spec in files]
    output.text(text, chunks, cited if annotations is None else annotations)
    return _reply(output, options, Usage())


def _response_json(
    reply: ScriptedReply, request: Json, created_at: float, *, final: bool, output: list[Json] | None = None
) -> Json:
    status = reply.status if final else "in_progress"
    return {
        "id": reply.response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": time.time() if final and status == "completed" else None,
        "error": reply.error if final else None,
        "incomplete_details": {"reason": reply.incomplete_reason} if final and status == "incomplete" else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "model": request.get("model") or DEFAULT_MODEL,
        "output": (reply.output if output is None else output) if final else [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": "default",
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_logprobs": request.get("top_logprobs", 0),
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "usage": reply.usage.to_json() if final and reply.usage else None,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def _annotation_position(annotation: Json, text_length: int) -> int:
    position = annotation.get("index", annotation.get("end_index"))
    return text_length if position is None else int(position)


def _text_part_events(where: Json, part: Json, chunks: list[str]) -> list[Json]:
    annotations: list[Json] = part["annotations"]
    events: list[Json] = []
    emitted = 0
    streamed = 0

    def announce(upto: float) -> None:
        nonlocal emitted
        while emitted < len(annotations) and _annotation_position(annotations[emitted], len(part["text"])) <= upto:
            annotation = {"annotation": annotations[emitted], "annotation_index": emitted}
            events.append({"type": "response.output_text.annotation.added", **where, **annotation})
            emitted += 1

    for chunk in chunks:
        events.append({"type": "response.output_text.delta", **where, "delta": chunk, "logprobs": []})
        streamed += len(chunk)
        announce(streamed)
    announce(float("inf"))
    events.append({"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []})
    return events


def _item_events(output_index: int, item: Json, chunks: Mapping[tuple[int, int], list[str]]) -> list[Json]:
    in_progress = {**item, "status": "in_progress"} if "status" in item else dict(item)
    if item["type"] in TOOL_CALL_TYPES:
        in_progress = started_item(item)
    if item["type"] == "message":
        in_progress["content"] = []
    elif item["type"] == "function_call":
        in_progress["arguments"] = ""
    events: list[Json] = [{"type": "response.output_item.added", "output_index": output_index, "item": in_progress}]
    if item["type"] == "message":
        for content_index, part in enumerate(item["content"]):
            where = {"item_id": item["id"], "output_index": output_index, "content_index": content_index}
            deltas = chunks.get((output_index, content_index), [])
            if part["type"] == "output_text":
                empty = {**part, "annotations": [], "text": ""}
                body = _text_part_events(where, part, deltas)
            else:
                empty = {**part, "refusal": ""}
                body = [{"type": "response.refusal.delta", **where, "delta": delta} for delta in deltas]
                body.append({"type": "response.refusal.done", **where, "refusal": part["refusal"]})
            events.append({"type": "response.content_part.added", **where, "part": empty})
            events.extend(body)
            events.append({"type": "response.content_part.done", **where, "part": part})
    elif item["type"] == "function_call":
        where = {"item_id": item["id"], "output_index": output_index}
        for delta in chunks.get((output_index, 0), []):
            events.append({"type": "response.function_call_arguments.delta", **where, "delta": delta})
        events.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
    elif item["type"] in TOOL_CALL_TYPES:
        events.extend(tool_call_events(output_index, item, chunks.get((output_index, 0), [])))
    events.append({"type": "response.output_item.done", "output_index": output_index, "item": item})
    return events


def stream_events(reply: ScriptedReply, request: Json, created_at: float) -> tuple[list[Json], int]:
    """The SSE events for `reply` (its output as stored: the server applies the request's `include` first), numbered,
    and the index before which a `hang` or a stream error happens
    (just after the last delta, or after `response.in_progress` when nothing is streamed)."""
    started = _response_json(reply, request, created_at, final=False)
    events: list[Json] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for output_index, item in enumerate(reply.output):
        events.extend(_item_events(output_index, item, reply.chunks))
    deltas = [i for i, event in enumerate(events) if event["type"].endswith(".delta")]
    pause_at = deltas[-1] + 1 if deltas else 2
    if reply.stream_error is not None:
        events = events[:pause_at]
        events.append(_error_event(reply.stream_error))
    else:
        terminal = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}
        final = _response_json(reply, request, created_at, final=True)
        events.append({"type": terminal[reply.status], "response": final})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)], pause_at


def _error_event(error: StreamError) -> Json:
    event: Json = {"type": "error", "code": error.code, "message": error.message, "param": error.param}
    if error.nested:
        event["error"] = {"type": error.type, "code": error.code, "message": error.message, "param": error.param}
    return event


def sse_frame(event: Json) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


class _Asgi:
    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(scope, receive, send)


class _ClientGone(Exception):
    pass


class _Exchange:
    """One HTTP exchange: sends frames and notices a client that went away."""

    def __init__(self, receive: Receive, send: Send, closing: asyncio.Event) -> None:
        self._send = send
        self._closing = closing
        self.disconnected = asyncio.Event()
        self.started = False
        self.finished = False
        self._watcher = asyncio.create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.finished:
            self.disconnected.set()

    async def pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        waiters = [asyncio.ensure_future(self.disconnected.wait()), asyncio.ensure_future(self._closing.wait())]
        done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        if done:
            raise _ClientGone

    async def start(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        pairs = [(b"content-type", content_type.encode())]
        pairs += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        self.started = True
        await self._send({"type": "http.response.start", "status": status, "headers": pairs})

    async def body(self, data: bytes, more: bool) -> None:
        if self.disconnected.is_set():
            raise _ClientGone
        if not more:
            self.finished = True
        try:
            await self._send({"type": "http.response.body", "body": data, "more_body": more})
        except OSError as exc:
            raise _ClientGone from exc

    async def json(self, status: int, payload: Json, headers: Mapping[str, str] | None = None) -> None:
        await self.start(status, "application/json", {"x-request-id": new_id("req"), **(headers or {})})
        await self.body(json.dumps(payload).encode(), more=False)

    def close(self) -> None:
        self._watcher.cancel()


class FakeResponsesServer:
    """A Responses API fake on 127.0.0.1 (free port), served by uvicorn in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._queue: deque[ScriptedReply] = deque()
        self._recorded: list[RecordedRequest] = []
        self._token_requests: list[Json] = []
        self._resource_requests: list[RecordedRequest] = []
        self._disconnects = 0
        self.files = FakeFiles(self._record_resource)
        self.vector_stores = FakeVectorStores(self.files, self._record_resource)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self.input_tokens_count = DEFAULT_INPUT_TOKENS
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/v1/responses", _Asgi(self._create_response), methods=["POST"]),
                Route("/v1/responses/input_tokens", _Asgi(self._count_input_tokens), methods=["POST"]),
                *self.files.routes(),
                *self.vector_stores.routes(),
                Route("/{path:path}", _Asgi(self._not_found), methods=["GET", "POST", "DELETE", "PUT", "PATCH"]),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 5.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("the fake is already running")
        # IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections: otherwise a response written as headers
        # then body waits ~40 ms for the client's delayed ACK on every reused connection.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, args=(self._server, sock), name="fake-responses", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake Responses server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        server, thread, loop, closing = self._server, self._thread, self._loop, self._closing
        if server is None or thread is None:
            return
        if loop is not None and closing is not None and not loop.is_closed():
            loop.call_soon_threadsafe(closing.set)
        server.should_exit = True
        thread.join(5.0)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5.0)
        self._server = self._thread = self._loop = self._closing = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._closing = asyncio.Event()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(serve())
        finally:
            sock.close()

    def enqueue(self, *replies: ScriptedReply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def reply_text(
        self,
        text: str = DEFAULT_TEXT,
        *,
        chunks: Sequence[str] | None = None,
        annotations: Sequence[Json] = (),
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """A message with one output_text part, streamed as `chunks` (default: up to 4 slices)."""
        reply = text_reply(text, chunks=chunks, annotations=annotations, **options)
        self.enqueue(reply)
        return reply

    def reply_function_calls(
        self, calls: Sequence[FunctionCallSpec], *, text: str | None = None, **options: Unpack[ReplyOptions]
    ) -> ScriptedReply:
        """`function_call` items, one per (name, arguments[, call_id]); an optional message before them."""
        output = _OutputBuilder(options.get("reasoning", False))
        if text is not None:
            output.text(text)
        for call in calls:
            output.function_call(*call)
        reply = _reply(output, options, Usage())
        self.enqueue(reply)
        return reply

    def reply_refusal(
        self, refusal: str, *, chunks: Sequence[str] | None = None, **options: Unpack[ReplyOptions]
    ) -> ScriptedReply:
        output = _OutputBuilder(options.get("reasoning", False))
        output.refusal(refusal, chunks)
        reply = _reply(output, options, Usage())
        self.enqueue(reply)
        return reply

    def reply_incomplete(
        self,
        text: str = "",
        *,
        reason: Literal["max_output_tokens", "content_filter"] = "max_output_tokens",
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """Status `incomplete` with `incomplete_details.reason`; the message item (if any text) is incomplete."""
        output = _OutputBuilder(options.get("reasoning", False))
        if text:
            output.text(text, status="incomplete")
        reply = _reply(output, options, Usage(), status="incomplete", incomplete_reason=reason)
        self.enqueue(reply)
        return reply

    def reply_failed(
        self,
        code: str = "server_error",
        message: str = "The model failed to generate a response (scripted by the fake).",
        *,
        text: str | None = None,
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """HTTP 200 with status `failed` and `error {code, message}`; optional partial text first."""
        output = _OutputBuilder(options.get("reasoning", False))
        if text:
            output.text(text, status="incomplete")
        reply = _reply(output, options, None, status="failed", error={"code": code, "message": message})
        self.enqueue(reply)
        return reply

    def reply_http_error(
        self,
        status: int = 500,
        *,
        code: str | None = None,
        message: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retry_after_ms: int | None = 1,
        times: int = 1,
        delay: float = 0.0,
    ) -> ScriptedReply:
        """An HTTP error with the OpenAI envelope, queued `times` times (the SDK retries 408/409/429/5xx).
        `retry-after-ms` (1 ms by default) keeps SDK retries fast; the SDK ignores a value of 0."""
        default_type, default_code, default_message = _HTTP_ERROR_DEFAULTS.get(
            status, ("invalid_request_error" if status < 500 else "server_error", None, f"HTTP {status}")
        )
        headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
        envelope = error_envelope(message or default_message, type or default_type, code or default_code, param)
        reply = ScriptedReply(response_id=new_id("resp"), http_error=HttpError(status, envelope, headers), delay=delay)
        self.enqueue(*[replace(reply) for _ in range(times)])
        return reply

    def reply_stream_error(
        self,
        code: str | None = "server_error",
        message: str = "An error occurred while processing your request (scripted by the fake).",
        *,
        param: str | None = None,
        text: str = "Partial answer",
        nested: bool = False,
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """A stream that sends `text` deltas, then an `error` event, then ends. The documented flat event makes
        the SDK yield a `ResponseErrorEvent`; `nested=True` adds the `error` object, which makes it raise
        `APIError`. A non-streaming request gets HTTP 500 with the same code and message instead."""
        output = _OutputBuilder(options.get("reasoning", False))
        if text:
            output.text(text, status="incomplete")
        reply = _reply(output, options, None, stream_error=StreamError(code, message, param, nested=nested))
        self.enqueue(reply)
        return reply

    def reply_file_search(
        self,
        text: str = DEFAULT_TEXT,
        *,
        results: Sequence[Json] | None = None,
        queries: Sequence[str] = ("fake search",),
        annotations: Sequence[Json] | None = None,
        chunks: Sequence[str] | None = None,
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """`file_search_reply`; with `results=None`, the results are found when the request comes: the completed
        files of the vector stores its `file_search` tools name (`vector_store_ids`, up to `max_num_results`),
        each cited in the text unless `annotations` are given."""
        reply = file_search_reply(
            text, results=results or (), queries=queries, annotations=annotations, chunks=chunks, **options
        )
        if results is None:

            def resolve(request: Json) -> list[Json]:
                tools = [tool for tool in request.get("tools") or [] if tool.get("type") == "file_search"]
                found = [
                    self.vector_stores.search(tool.get("vector_store_ids") or [], tool.get("max_num_results", 5))
                    for tool in tools
                ]
                return with_search_results(reply.output, [r for rs in found for r in rs], cite=annotations is None)

            reply.resolve_output = resolve
        self.enqueue(reply)
        return reply

    def reply_code_interpreter(
        self,
        text: str = DEFAULT_TEXT,
        *,
        code: str = "print(1 + 1)",
        logs: str | None = "2\n",
        images: Sequence[str] = (),
        container_id: str | None = None,
        files: Sequence[tuple[str, str] | tuple[str, str, bytes]] = (),
        annotations: Sequence[Json] | None = None,
        chunks: Sequence[str] | None = None,
        **options: Unpack[ReplyOptions],
    ) -> ScriptedReply:
        """`code_interpreter_reply`; each (file_id, filename, data) in `files` is also served as that container's
        file (`GET /v1/containers/{container_id}/files/{file_id}/content`)."""
        container = container_id or new_object_id("cntr_", 32)
        for spec in files:
            if len(spec) == 3:
                self.files.add_container_file(container, spec[0], spec[2], spec[1])
        reply = code_interpreter_reply(
            text, code=code, logs=logs, images=images, container_id=container, files=files,
            annotations=annotations, chunks=chunks, **options,
        )
        self.enqueue(reply)
        return reply

    def add_container_file(
        self, container_id: str, file_id: str, data: bytes, filename: str = "output.bin",
        content_type: str = "application/octet-stream",
    ) -> None:
        """Serve `data` at `GET /v1/containers/{container_id}/files/{file_id}/content`."""
        self.files.add_container_file(container_id, file_id, data, filename, content_type)

    def hang_stream(
        self, text: str = "Partial answer", *, seconds: float = 30.0, **options: Unpack[ReplyOptions]
    ) -> ScriptedReply:
        """A text reply that stalls `seconds` after its deltas, ending early when the client disconnects."""
        options["hang"] = seconds
        return self.reply_text(text, **options)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded)

    @property
    def requests(self) -> list[Json]:
        with self._lock:
            return [record.body for record in self._recorded]

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._lock:
            return [record.headers for record in self._recorded]

    @property
    def last_request(self) -> Json:
        with self._lock:
            return self._recorded[-1].body

    @property
    def resource_requests(self) -> list[RecordedRequest]:
        """Requests to the Files, Vector Stores, Containers and Models routes, in order (not in `requests`)."""
        with self._lock:
            return list(self._resource_requests)

    def resource_requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """The `resource_requests` with this method whose path starts with `path_prefix` (e.g. `/v1/files`)."""
        return [r for r in self.resource_requests if r.method == method and r.path.startswith(path_prefix)]

    @property
    def input_token_requests(self) -> list[Json]:
        with self._lock:
            return list(self._token_requests)

    @property
    def disconnects(self) -> int:
        """How many answers were cut short because the client went away."""
        with self._lock:
            return self._disconnects

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self._recorded) >= count, timeout)

    def wait_for_disconnects(self, count: int = 1, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._disconnects >= count, timeout)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._recorded.clear()
            self._token_requests.clear()
            self._resource_requests.clear()
            self._disconnects = 0
        self.files.reset()
        self.vector_stores.reset()

    def _record_resource(self, request: Request, body: Json) -> None:
        record = RecordedRequest(
            path=request.url.path, body=body, headers=dict(request.headers.items()), method=request.method,
            query=dict(request.query_params.items()),
        )
        with self._lock:
            self._resource_requests.append(record)
            self._lock.notify_all()

    def _next_reply(self) -> ScriptedReply:
        with self._lock:
            return self._queue.popleft() if self._queue else text_reply()

    async def _read_json(self, scope: Scope, receive: Receive) -> tuple[Json | None, dict[str, str]]:
        request = Request(scope, receive)
        headers = dict(request.headers.items())
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None, headers
        return (body if isinstance(body, dict) else None), headers

    async def _create_response(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, headers = await self._read_json(scope, receive)
        assert self._closing is not None
        exchange = _Exchange(receive, send, self._closing)
        if body is None:
            await exchange.json(400, error_envelope("The body must be a JSON object.", "invalid_request_error"))
            exchange.close()
            return
        record = RecordedRequest(path=scope["path"], body=body, headers=headers)
        with self._lock:
            self._recorded.append(record)
            self._lock.notify_all()
        try:
            await self._answer(self._next_reply(), body, exchange)
        except _ClientGone:
            if exchange.disconnected.is_set():
                with self._lock:
                    record.disconnected = True
                    self._disconnects += 1
                    self._lock.notify_all()
            if exchange.started and not exchange.finished:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            exchange.close()

    async def _answer(self, reply: ScriptedReply, request: Json, exchange: _Exchange) -> None:
        created_at = time.time()
        output = reply.resolve_output(request) if reply.resolve_output is not None else reply.output
        reply = replace(reply, output=visible_output(output, request), resolve_output=None)
        await exchange.pause(reply.delay)
        if reply.http_error is not None:
            await exchange.json(reply.http_error.status, reply.http_error.body, reply.http_error.headers)
            return
        if request.get("stream") is not True:
            await exchange.pause(reply.hang or 0.0)
            if reply.stream_error is not None:
                error = reply.stream_error
                await exchange.json(500, error_envelope(error.message, error.type, error.code, error.param))
            else:
                await exchange.json(200, _response_json(reply, request, created_at, final=True))
            return
        events, pause_at = stream_events(reply, request, created_at)
        headers = {"cache-control": "no-cache", "x-request-id": new_id("req")}
        await exchange.start(200, "text/event-stream; charset=utf-8", headers)
        for index, event in enumerate(events):
            if index == pause_at and reply.hang:
                await exchange.pause(reply.hang)
            elif index:
                await exchange.pause(reply.chunk_delay)
            await exchange.body(sse_frame(event), more=True)
        await exchange.body(b"", more=False)

    async def _count_input_tokens(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, _ = await self._read_json(scope, receive)
        assert self._closing is not None
        exchange = _Exchange(receive, send, self._closing)
        try:
            if body is None:
                await exchange.json(400, error_envelope("The body must be a JSON object.", "invalid_request_error"))
                return
            with self._lock:
                self._token_requests.append(body)
            await exchange.json(200, {"object": "response.input_tokens", "input_tokens": self.input_tokens_count})
        finally:
            exchange.close()

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._closing is not None
        exchange = _Exchange(receive, send, self._closing)
        try:
            message = f"Unknown path {scope['method']} {scope['path']} (fake Responses server)."
            await exchange.json(404, error_envelope(message, "invalid_request_error"))
        finally:
            exchange.close()
