"""Hostile input, on every store (issue 11): each case is refused with the expected 4xx in OpenAI's error envelope,
never a 5xx, and a refused write leaves nothing behind.

Requests are sent with raw httpx, so the tests control the bytes, the framing and the headers. Where the service
runs in this process, a spy on the store port also checks that a malformed id never reaches the store and that a
refused write created nothing (threads have no list operation to look in).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from core import bootstrap
from core.ports.store import Create, Delete, Partition
from tests.e2e.conftest import Service

MiB = 2**20
OVERSIZED = 17 * MiB  # MAX_REQUEST_BYTES defaults to 16 MiB, which the e2e service keeps
MAX_CONTENT = 256_000  # characters of message content
ENVELOPE = {"message", "type", "param", "code"}
ANY = object()  # "do not check this field"


# ---------------------------------------------------------------------------------------------------- plumbing


@pytest.fixture(scope="module")
def api(service: Service) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {service.api_key}", "OpenAI-Beta": "assistants=v2"}
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=60) as client:
        yield client


def describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.raw_path.decode()[:200]} -> {response.status_code} " \
           f"{response.text[:300]}"


def envelope_problem(response: httpx.Response) -> str | None:
    """Why the body is not exactly OpenAI's error envelope with a message, or None."""
    try:
        body = response.json()
    except ValueError:
        return "the body is not JSON"
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return "the body is not {'error': {...}}"
    if set(body["error"]) != ENVELOPE:
        return f"the error has keys {sorted(body['error'])}"
    message = body["error"]["message"]
    if not isinstance(message, str) or not message.strip():
        return "the error has no message"
    return None


def assert_refused(response: httpx.Response, status: int, *, param: object = ANY, code: object = ANY,
                   message: object = ANY) -> dict[str, Any]:
    """``response`` is ``status`` with exactly OpenAI's error envelope; returns the ``error`` object."""
    assert response.status_code == status, describe(response)
    problem = envelope_problem(response)
    assert problem is None, f"{problem}: {describe(response)}"
    error: dict[str, Any] = response.json()["error"]
    for name, expected in (("param", param), ("code", code), ("message", message)):
        if expected is not ANY:
            assert error[name] == expected, f"{name}: {describe(response)}"
    return error


def assert_not_a_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, describe(response)
    if response.status_code >= 400:
        problem = envelope_problem(response)
        assert problem is None, f"{problem}: {describe(response)}"


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, describe(response)
    body: dict[str, Any] = response.json()
    return body


def newest_assistant(api: httpx.Client) -> str | None:
    data = ok(api.get("assistants", params={"limit": 1}))["data"]
    return data[0]["id"] if data else None


def message_ids(api: httpx.Client, thread_id: str) -> list[str]:
    return [m["id"] for m in ok(api.get(f"threads/{thread_id}/messages", params={"limit": 100}))["data"]]


def run_ids(api: httpx.Client, thread_id: str) -> list[str]:
    return [r["id"] for r in ok(api.get(f"threads/{thread_id}/runs", params={"limit": 100}))["data"]]


def uploaded(api: httpx.Client, count: int) -> list[str]:
    """Ids of ``count`` small files uploaded by the caller (a referenced file must be the caller's own)."""
    return [ok(api.post("files", data={"purpose": "assistants"}, files={"file": (f"f{i}.txt", b"x")}))["id"]
            for i in range(count)]


def new_thread(api: httpx.Client, **body: Any) -> str:
    thread_id: str = ok(api.post("threads", json=body))["id"]
    return thread_id


def settle(api: httpx.Client, thread_id: str, run_id: str) -> dict[str, Any]:
    """The run once it stopped moving (the fake upstream answers the default text at once)."""
    deadline = time.monotonic() + 30
    while True:
        run = ok(api.get(f"threads/{thread_id}/runs/{run_id}"))
        if run["status"] not in ("queued", "in_progress", "cancelling") or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------- the store, watched

WELL_FORMED = re.compile(r"(asst|thread|msg|run|step)_[0-9A-Za-z]{1,64}")
UPSTREAM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # core.domain.ids.is_upstream_id, '..' aside
REGISTRY_KEY = "_active_runs"  # the thread-container partition listing active runs (core.services._run_lifecycle)


@dataclass
class StoreSpy:
    """What the store was asked about since :meth:`clear`: (container, partition key, document id, cursor or None),
    and the ids of the documents created. Against a deployed app it is attached to nothing and sees nothing."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()
        self.created.clear()

    def misplaced(self) -> list[tuple[str, str, str | None]]:
        """Calls that name something no well-formed id of the right kind could be."""
        return [call for call in list(self.calls) if not _plausible(*call)]


def _plausible(container: str, key: str, doc_id: str | None) -> bool:
    """A thread partition is keyed by a thread id; assistants hold asst_ ids, thread partitions everything else."""
    thread_key = bool(WELL_FORMED.fullmatch(key) and key.startswith("thread_")) or key == REGISTRY_KEY
    if container == "threads" and not thread_key:
        return False
    if doc_id is not None and container == "assistants" and not doc_id.startswith("asst_"):
        # A tenant's ownership records: an upstream id (file-…, vs_…, cfile_…) or a creation-ordered entry (owned_…).
        return bool(UPSTREAM_ID.fullmatch(doc_id))
    return doc_id is None or bool(
        WELL_FORMED.fullmatch(doc_id) and doc_id.startswith("asst_") == (container == "assistants"))


@pytest.fixture
def store_spy(service: Service, monkeypatch: pytest.MonkeyPatch) -> StoreSpy:
    """Records the store calls of the in-process service."""
    if service.upstream is None:
        return StoreSpy()
    store = bootstrap.get_container().store
    spy = StoreSpy()
    get, scan, commit, drop = store.get, store.scan, store.commit, store.drop_partition

    def note(partition: Partition, doc_id: str | None = None) -> None:
        spy.calls.append((partition.container, partition.key, doc_id))

    async def spy_get(partition: Partition, doc_id: str) -> Any:
        note(partition, doc_id)
        return await get(partition, doc_id)

    async def spy_scan(partition: Partition, index: str, query: Any) -> Any:
        note(partition)
        for cursor in (query.after, query.before):
            if cursor is not None:
                note(partition, cursor)
        return await scan(partition, index, query)

    async def spy_commit(partition: Partition, writes: Any) -> Any:
        note(partition)
        for write in writes:
            doc_id = write.doc_id if isinstance(write, Delete) else write.body["id"]
            if partition.key != REGISTRY_KEY:
                note(partition, doc_id)
            if isinstance(write, Create):
                spy.created.append(doc_id)
        return await commit(partition, writes)

    async def spy_drop(partition: Partition) -> Any:
        note(partition)
        return await drop(partition)

    # The fused reads of Redis and Cosmos DB (core.services._repository.FusedReads), where the store has them.
    async def spy_get_many(partition: Partition, doc_ids: Any) -> Any:
        for doc_id in doc_ids:
            note(partition, doc_id)
        return await fused["get_many"](partition, doc_ids)

    async def spy_get_and_scan(partition: Partition, doc_ids: Any, index: str, query: Any) -> Any:
        for doc_id in doc_ids:
            note(partition, doc_id)
        return await fused["get_and_scan"](partition, doc_ids, index, query)

    async def spy_scan_many(partition: Partition, scans: Any) -> Any:
        note(partition)
        return await fused["scan_many"](partition, scans)

    fused = {name: getattr(store, name) for name in ("get_many", "get_and_scan", "scan_many") if hasattr(store, name)}
    spies = {"get_many": spy_get_many, "get_and_scan": spy_get_and_scan, "scan_many": spy_scan_many}
    for name in fused:
        monkeypatch.setattr(store, name, spies[name])

    monkeypatch.setattr(store, "get", spy_get)
    monkeypatch.setattr(store, "scan", spy_scan)
    monkeypatch.setattr(store, "commit", spy_commit)
    monkeypatch.setattr(store, "drop_partition", spy_drop)
    return spy


def assert_untouched(spy: StoreSpy, *prefixes: str) -> None:
    """Since ``spy.clear()``: no document of these kinds was created, and no malformed id reached the store."""
    made = [doc_id for doc_id in spy.created if doc_id.startswith(prefixes)]
    assert not made, f"a refused request created {made}"
    assert not spy.misplaced(), f"the store was asked about {spy.misplaced()[:2]}"


# ---------------------------------------------------------------------------------------------------- 1. sizes


def _message_body(total: int) -> Iterator[bytes]:
    """A valid messages.create body of exactly ``total`` bytes, in 1 MiB chunks."""
    head, tail = b'{"role": "user", "content": "', b'"}'
    remaining = total - len(head) - len(tail)
    yield head
    while remaining:
        size = min(MiB, remaining)
        yield b"x" * size
        remaining -= size
    yield tail


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_the_limit_is_413(api: httpx.Client, framing: str, store_spy: StoreSpy) -> None:
    thread_id = new_thread(api)
    headers = {"Content-Type": "application/json"}
    if framing == "content-length":
        headers["Content-Length"] = str(OVERSIZED)  # httpx then sends the generator without chunked framing
    store_spy.clear()
    try:
        response = api.post(f"threads/{thread_id}/messages", content=_message_body(OVERSIZED), headers=headers)
    except httpx.TransportError as exc:
        pytest.fail(f"no answer could be read: the server closed the connection without a readable 413 ({exc!r})")
    assert_refused(response, 413, code="request_too_large")
    assert_untouched(store_spy, "msg_")
    assert message_ids(api, thread_id) == []


def _exchange(service: Service, head: str, parts: Iterable[bytes], timeout: float = 10) -> tuple[int, bytes]:
    """Send ``head`` and then ``parts`` on a raw connection, never finishing the body; the (status, body) answered."""
    url = urlsplit(service.base_url)
    if url.scheme != "http" or url.hostname is None:
        pytest.skip("raw-socket cases need a plain-HTTP service")
    with socket.create_connection((url.hostname, url.port or 80), timeout=timeout) as sock:
        sock.sendall(head.replace("{prefix}", url.path.rstrip("/")).replace("{host}", url.netloc).encode())
        try:
            for part in parts:
                sock.sendall(part)
        except OSError:
            pass  # the server answered and closed; the answer is in the receive buffer
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            header_block, _, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", header_block)
            while length and len(body) < int(length.group(1)):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {timeout} s while the body was still incomplete: the server waits for "
                        "the whole body before refusing it")
        except OSError as exc:
            pytest.fail(f"the connection failed before an answer could be read ({exc!r})")
    status_line = header_block.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1.1 "), f"not an HTTP answer: {received[:200]!r}"
    return int(status_line.split()[1]), body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_body_is_refused_before_it_is_read_whole(service: Service, api: httpx.Client,
                                                                 framing: str) -> None:
    """The body is never finished: a server that reads it whole before refusing never answers."""
    thread_id = new_thread(api)
    head = (f"POST {{prefix}}/threads/{thread_id}/messages HTTP/1.1\r\nHost: {{host}}\r\n"
            f"Authorization: Bearer {service.api_key}\r\nOpenAI-Beta: assistants=v2\r\n"
            "Content-Type: application/json\r\n")
    if framing == "content-length":  # declared 17 MiB, 1 MiB sent
        head += f"Content-Length: {OVERSIZED}\r\n\r\n"
        parts: list[bytes] = [next(_message_body(OVERSIZED)), b"x" * MiB]
    else:  # 17 chunks of 1 MiB, without the last-chunk that would end the body
        head += "Transfer-Encoding: chunked\r\n\r\n"
        parts = [b"%x\r\n%s\r\n" % (len(part), part) for part in _message_body(OVERSIZED)][:-1]
    status, body = _exchange(service, head, parts)
    assert status == 413, body[:300]
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert message_ids(api, thread_id) == []


TOO_LONG = "x" * (MAX_CONTENT + 1)


@pytest.mark.parametrize(
    ("operation", "param"),
    [
        ("messages.create", "content"),
        ("messages.create(content parts)", "content[0].text"),
        ("threads.create(messages)", "messages[0].content"),
        ("runs.create(additional_messages)", "additional_messages[0].content"),
        ("threads.create_and_run(thread.messages)", "thread.messages[0].content"),
    ],
    ids=["messages.create", "messages.create-text-part", "threads.create", "runs.create-additional_messages",
         "threads.create_and_run"],
)
def test_message_content_over_256000_characters_is_400(api: httpx.Client, assistant_id: str, operation: str,
                                                        param: str, store_spy: StoreSpy) -> None:
    thread_id = new_thread(api, messages=[{"role": "user", "content": "before"}])
    before = message_ids(api, thread_id)
    store_spy.clear()
    if operation == "messages.create":
        response = api.post(f"threads/{thread_id}/messages", json={"role": "user", "content": TOO_LONG})
    elif operation == "messages.create(content parts)":
        parts = [{"type": "text", "text": TOO_LONG}]
        response = api.post(f"threads/{thread_id}/messages", json={"role": "user", "content": parts})
    elif operation == "threads.create(messages)":
        response = api.post("threads", json={"messages": [{"role": "user", "content": TOO_LONG}]})
    elif operation == "runs.create(additional_messages)":
        response = api.post(f"threads/{thread_id}/runs", json={
            "assistant_id": assistant_id, "additional_messages": [{"role": "user", "content": TOO_LONG}]})
    else:
        response = api.post("threads/runs", json={
            "assistant_id": assistant_id, "thread": {"messages": [{"role": "user", "content": TOO_LONG}]}})
    assert_refused(response, 400, param=param)
    assert_untouched(store_spy, "thread_", "msg_", "run_")
    assert message_ids(api, thread_id) == before
    assert run_ids(api, thread_id) == []


def test_message_content_of_exactly_256000_characters_is_accepted(api: httpx.Client) -> None:
    thread_id = new_thread(api)
    message = ok(api.post(f"threads/{thread_id}/messages", json={"role": "user", "content": "y" * MAX_CONTENT}))
    stored = ok(api.get(f"threads/{thread_id}/messages/{message['id']}"))
    assert len(stored["content"][0]["text"]["value"]) == MAX_CONTENT


def _functions(count: int) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": f"f{i}", "parameters": {"type": "object"}}}
            for i in range(count)]


BIG_SCHEMA = {"type": "object", "description": "d" * 100_000}  # over 100,000 characters of JSON


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": _functions(129)}, "tools"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": BIG_SCHEMA}}]},
         "tools[0].function.parameters"),
    ],
    ids=["129-tools", "function-schema-over-100000-characters"],
)
def test_tool_limits_on_assistants(api: httpx.Client, body: dict[str, Any], param: str,
                                   store_spy: StoreSpy) -> None:
    before = newest_assistant(api)
    store_spy.clear()
    assert_refused(api.post("assistants", json={"model": "gpt-4o-mini", **body}), 400, param=param)
    assert_untouched(store_spy, "asst_")
    assert newest_assistant(api) == before

    existing = ok(api.post("assistants", json={"model": "gpt-4o-mini", "name": "unchanged"}))
    assert_refused(api.post(f"assistants/{existing['id']}", json=body), 400, param=param)
    assert ok(api.get(f"assistants/{existing['id']}")) == existing
    ok(api.delete(f"assistants/{existing['id']}"))


def test_128_tools_and_10_attachments_are_accepted(api: httpx.Client) -> None:
    assistant = ok(api.post("assistants", json={"model": "gpt-4o-mini", "tools": _functions(128)}))
    assert len(assistant["tools"]) == 128
    ok(api.delete(f"assistants/{assistant['id']}"))
    thread_id = new_thread(api)
    attachments = [{"file_id": file_id, "tools": [{"type": "file_search"}]} for file_id in uploaded(api, 10)]
    message = ok(api.post(f"threads/{thread_id}/messages",
                          json={"role": "user", "content": "hi", "attachments": attachments}))
    assert len(message["attachments"]) == 10


def test_more_than_10_attachments_is_400(api: httpx.Client, store_spy: StoreSpy) -> None:
    thread_id = new_thread(api)
    attachments = [{"file_id": file_id, "tools": [{"type": "file_search"}]} for file_id in uploaded(api, 11)]
    store_spy.clear()
    response = api.post(f"threads/{thread_id}/messages",
                        json={"role": "user", "content": "hi", "attachments": attachments})
    assert_refused(response, 400, param="attachments")
    assert_untouched(store_spy, "msg_")
    assert message_ids(api, thread_id) == []


# ----------------------------------------------------------------------------------------- 2. bytes and JSON


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


DIGITS = "1" + "0" * 4999  # a 5,000-digit integer
FRACTION = "0." + "0" * 4997 + "1"  # a number written with 5,000 digits


def _assistant(fields: str) -> bytes:
    return ('{"model": "gpt-4o-mini", ' + fields + "}").encode()


def _tool_schema(schema: str) -> bytes:
    return _assistant('"tools": [{"type": "function", "function": {"name": "f", "parameters": ' + schema + "}}]")


BAD_JSON = {
    "nested-10000-as-a-field": _assistant('"metadata": ' + _nested(10_000).decode()),
    "nested-10000-in-function-parameters": _tool_schema('{"a": ' + _nested(10_000).decode() + "}"),
    "nested-10000-as-the-body": _nested(10_000),
    "nested-10000-objects-as-the-body": b'{"a": ' * 10_000 + b"1" + b"}" * 10_000,
    "5000-digit-temperature": _assistant('"temperature": ' + DIGITS),
    "5000-digit-fraction-top_p": _assistant('"top_p": ' + FRACTION),
    "5000-digit-metadata-value": _assistant('"metadata": {"k": ' + DIGITS + "}"),
    "5000-digit-in-function-parameters": _tool_schema('{"type": "integer", "maximum": ' + DIGITS + "}"),
    "5000-digit-in-response-format-schema": _assistant(
        '"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "integer", '
        '"maximum": ' + DIGITS + "}}}"),
    "NaN-temperature": _assistant('"temperature": NaN'),
    "Infinity-in-function-parameters": _tool_schema('{"type": "number", "maximum": Infinity}'),
    "invalid-utf8": b'{"model": "gpt-4o-mini", "name": "\xff\xfe\xfd"}',
    "invalid-utf8-in-a-key": b'{"model": "gpt-4o-mini", "\xc3\x28": "x"}',
    "truncated": b'{"model": "gpt-4o-mini", "name": ',
    "array-body": b"[]",
    "string-body": b'"x"',
    "number-body": b"3",
    "null-body": b"null",
    "true-body": b"true",
}


@pytest.mark.parametrize("body", list(BAD_JSON.values()), ids=list(BAD_JSON))
def test_bad_json_is_400(api: httpx.Client, body: bytes, store_spy: StoreSpy) -> None:
    before = newest_assistant(api)
    store_spy.clear()
    response = api.post("assistants", content=body, headers={"Content-Type": "application/json"})
    assert_refused(response, 400)
    assert_untouched(store_spy, "asst_")
    assert newest_assistant(api) == before


PARAMETERS = ("tools", 0, "function", "parameters")
# name -> (body, the field that must come back exactly as a JSON parser reads the body, when it is accepted)
ODD_BUT_MAYBE_VALID: dict[str, tuple[bytes, tuple[str | int, ...]]] = {
    "duplicate-keys": (b'{"model": "a", "model": "b"}', ("model",)),  # last one wins, as in Python's parser
    "1e400-in-function-parameters": (_tool_schema('{"type": "number", "maximum": 1e400}'), PARAMETERS),
    "lone-surrogate-in-name": (b'{"model": "gpt-4o-mini", "name": "\\ud800"}', ("name",)),
    "nul-in-name": (b'{"model": "gpt-4o-mini", "name": "a\\u0000b"}', ("name",)),
    "nested-40-in-function-parameters": (_tool_schema('{"a": ' + _nested(40).decode() + "}"), PARAMETERS),
    "20-digit-integer-in-function-parameters": (
        _tool_schema('{"type": "integer", "maximum": 99999999999999999999}'), PARAMETERS),
    "2**53+1-in-function-parameters": (  # exact in 64 bits, not in a double (Cosmos DB's numbers)
        _tool_schema('{"type": "integer", "maximum": 9007199254740993}'), PARAMETERS),
    "17-significant-digit-decimal-in-function-parameters": (
        _tool_schema('{"type": "number", "multipleOf": 0.30000000000000004}'), PARAMETERS),
}


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@pytest.mark.parametrize(("body", "path"), list(ODD_BUT_MAYBE_VALID.values()), ids=list(ODD_BUT_MAYBE_VALID))
def test_odd_json_is_refused_or_kept_exactly(api: httpx.Client, body: bytes, path: tuple[str | int, ...]) -> None:
    """Either a 4xx in the envelope, or stored and read back (retrieve and list) exactly as sent, on every store:
    never a 5xx, never a silently changed value."""
    response = api.post("assistants", content=body, headers={"Content-Type": "application/json"})
    assert_not_a_server_error(response)
    if response.status_code != 200:
        return
    created = response.json()
    sent = _at(json.loads(body), path)
    try:
        assert _at(created, path) == sent, f"accepted but changed: sent {sent!r}, answered {_at(created, path)!r}"
        retrieved = _at(ok(api.get(f"assistants/{created['id']}")), path)
        assert retrieved == sent, f"accepted but stored changed: sent {sent!r}, read back {retrieved!r}"
        listed = [_at(item, path) for item in ok(api.get("assistants", params={"limit": 5}))["data"]
                  if item["id"] == created["id"]]
        assert listed == [sent], f"accepted but listed changed: sent {sent!r}, listed {listed!r}"
    finally:
        ok(api.delete(f"assistants/{created['id']}"))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_a_json_body_under_another_media_type_is_refused(api: httpx.Client, content_type: str,
                                                         store_spy: StoreSpy) -> None:
    before = newest_assistant(api)
    store_spy.clear()
    response = api.post("assistants", content=b'{"model": "gpt-4o-mini"}', headers={"Content-Type": content_type})
    assert response.status_code in (400, 415), describe(response)
    assert_refused(response, response.status_code)
    assert_untouched(store_spy, "asst_")
    assert newest_assistant(api) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_media_types_are_accepted(api: httpx.Client, content_type: str) -> None:
    response = api.post("assistants", content=b'{"model": "gpt-4o-mini"}', headers={"Content-Type": content_type})
    ok(api.delete(f"assistants/{ok(response)['id']}"))


# ------------------------------------------------------------------------------------------------------ 3. ids


@dataclass(frozen=True)
class World:
    """One of everything, so that every path can be built with real ids and one bad one."""

    ids: dict[str, str]  # slot -> id: asst, thread, msg, run, step

    def snapshot(self, api: httpx.Client) -> dict[str, Any]:
        thread, run = self.ids["thread"], self.ids["run"]
        paths = [f"assistants/{self.ids['asst']}", f"threads/{thread}", f"threads/{thread}/messages?order=asc",
                 f"threads/{thread}/runs", f"threads/{thread}/runs/{run}", f"threads/{thread}/runs/{run}/steps"]
        return {path: (r.status_code, r.json()) for path in paths for r in [api.get(path)]}


@pytest.fixture(scope="module")
def world(service: Service, api: httpx.Client) -> World:
    if service.upstream is not None:
        service.upstream.reset()  # the run below gets the fake's default reply
    assistant = ok(api.post("assistants", json={"model": "gpt-4o-mini", "name": "world", "metadata": {"k": "v"}}))
    thread_id = new_thread(api, messages=[{"role": "user", "content": "hello"}], metadata={"k": "v"})
    run = ok(api.post(f"threads/{thread_id}/runs", json={"assistant_id": assistant["id"]}))
    run = settle(api, thread_id, run["id"])
    steps = ok(api.get(f"threads/{thread_id}/runs/{run['id']}/steps"))["data"]
    assert steps, f"the world's run made no step: {run}"
    return World({"asst": assistant["id"], "thread": thread_id, "msg": message_ids(api, thread_id)[-1],
                  "run": run["id"], "step": steps[0]["id"]})


ID_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "assistants/{asst}", None),
    ("POST", "assistants/{asst}", {"name": "changed"}),
    ("DELETE", "assistants/{asst}", None),
    ("GET", "threads/{thread}", None),
    ("POST", "threads/{thread}", {"metadata": {"k": "changed"}}),
    ("DELETE", "threads/{thread}", None),
    ("GET", "threads/{thread}/messages", None),
    ("POST", "threads/{thread}/messages", {"role": "user", "content": "injected"}),
    ("GET", "threads/{thread}/messages/{msg}", None),
    ("POST", "threads/{thread}/messages/{msg}", {"metadata": {"k": "changed"}}),
    ("DELETE", "threads/{thread}/messages/{msg}", None),
    ("GET", "threads/{thread}/runs", None),
    ("POST", "threads/{thread}/runs", {"assistant_id": "{asst}"}),
    ("GET", "threads/{thread}/runs/{run}", None),
    ("POST", "threads/{thread}/runs/{run}", {"metadata": {"k": "changed"}}),
    ("POST", "threads/{thread}/runs/{run}/cancel", None),
    ("POST", "threads/{thread}/runs/{run}/submit_tool_outputs", {"tool_outputs": [{"tool_call_id": "call_1",
                                                                                   "output": "x"}]}),
    ("GET", "threads/{thread}/runs/{run}/steps", None),
    ("GET", "threads/{thread}/runs/{run}/steps/{step}", None),
]
PREFIXES = {"asst": "asst", "thread": "thread", "msg": "msg", "run": "run", "step": "step"}


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


# name -> bad id, from (slot, the real id in that slot, a real id of another kind)
BAD_IDS: dict[str, Callable[[str, str, str], str]] = {
    "slash": lambda slot, real, other: f"{PREFIXES[slot]}_abc/def",
    "slash-into-another-route": lambda slot, real, other: f"{real}/messages",
    "hash": lambda slot, real, other: f"{real}#x",
    "question-mark": lambda slot, real, other: f"{real}?limit=1",
    "nul": lambda slot, real, other: f"{real}\x00",
    "newline": lambda slot, real, other: f"{real}\n",
    "5000-characters": lambda slot, real, other: f"{PREFIXES[slot]}_".ljust(5000, "a"),
    "wrong-prefix": lambda slot, real, other: other,
    "sql-injection": lambda slot, real, other: f"{PREFIXES[slot]}_abc' OR '1'='1",
    "nosql-injection": lambda slot, real, other: '{"$ne": null}',
    "cyrillic-a": lambda slot, real, other: f"{PREFIXES[slot]}_\u0430bc",
    "fullwidth": lambda slot, real, other: _fullwidth(real),
    "trailing-space": lambda slot, real, other: f"{real} ",
    "upper-case-prefix": lambda slot, real, other: real.replace(PREFIXES[slot], PREFIXES[slot].upper(), 1),
}


@pytest.mark.parametrize("case", list(BAD_IDS))
def test_malformed_path_ids_are_404_on_every_route(api: httpx.Client, world: World, case: str,
                                                    store_spy: StoreSpy) -> None:
    before = world.snapshot(api)
    failures: list[str] = []
    for method, template, body in ID_ROUTES:
        for slot in re.findall(r"{(\w+)}", template):
            other = world.ids["thread"] if slot == "asst" else world.ids["asst"]
            bad = BAD_IDS[case](slot, world.ids[slot], other)
            ids = {name: quote(bad if name == slot else real, safe="") for name, real in world.ids.items()}
            payload = json.loads(json.dumps(body).replace("{asst}", world.ids["asst"])) if body else None
            store_spy.clear()
            response = api.request(method, template.format(**ids), json=payload)
            where = f"{method} {template} with {slot}={bad[:40]!r}"
            if response.status_code != 404 or envelope_problem(response):
                failures.append(f"{where}: {response.status_code} {response.text[:160]}")
            elif store_spy.misplaced():
                failures.append(f"{where}: the store was asked about {store_spy.misplaced()[:2]}")
    assert not failures, f"{len(failures)} requests not refused with a 404 before the store:\n" + "\n".join(failures)
    assert world.snapshot(api) == before


@pytest.mark.parametrize("case", ["slash", "5000-characters", "sql-injection", "fullwidth", "wrong-prefix", "nul"])
@pytest.mark.parametrize("operation", ["runs.create", "threads.create_and_run"])
def test_malformed_assistant_ids_in_bodies_are_404(api: httpx.Client, world: World, case: str, operation: str,
                                                   store_spy: StoreSpy) -> None:
    bad = BAD_IDS[case]("asst", world.ids["asst"], world.ids["thread"])
    thread_id = new_thread(api)
    store_spy.clear()
    if operation == "runs.create":
        response = api.post(f"threads/{thread_id}/runs", json={"assistant_id": bad})
    else:
        response = api.post("threads/runs", json={"assistant_id": bad})
    assert_refused(response, 404)
    assert_untouched(store_spy, "thread_", "msg_", "run_")
    assert run_ids(api, thread_id) == []


# ------------------------------------------------------------------------------------------------ 4. lists

LIST_ROUTES = ["assistants", "threads/{thread}/messages", "threads/{thread}/runs", "threads/{thread}/runs/{run}/steps"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "1000000"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1e2"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "msg_abc/def"}, "after"),
        ({"after": "' OR '1'='1"}, "after"),
        ({"after": "x" * 5000}, "after"),
        ({"before": '{"$ne": null}'}, "before"),
        ({"before": "\uff4dsg_abc"}, "before"),  # fullwidth m
    ],
    ids=["limit-huge", "limit-negative", "limit-zero", "limit-text", "limit-exponent", "limit-5000-digits",
         "order-sideways", "after-slash", "after-sql", "after-5000-chars", "before-nosql", "before-fullwidth"],
)
def test_bad_list_parameters_are_400_naming_the_parameter(api: httpx.Client, world: World, query: dict[str, str],
                                                          param: str, store_spy: StoreSpy) -> None:
    failures = []
    for template in LIST_ROUTES:
        store_spy.clear()
        response = api.get(template.format(**world.ids), params=query)
        if response.status_code != 400 or envelope_problem(response) or response.json()["error"]["param"] != param:
            failures.append(f"{template}: {response.status_code} {response.text[:200]}")
        elif store_spy.misplaced():
            failures.append(f"{template}: the store was asked about {store_spy.misplaced()[:2]}")
    assert not failures, "\n".join(failures)


def test_a_malformed_run_id_filter_is_never_a_server_error(api: httpx.Client, world: World) -> None:
    for run_id in ("run_abc/def", "x" * 5000, "' OR '1'='1", "\uff52un_abc"):  # fullwidth r
        response = api.get(f"threads/{world.ids['thread']}/messages", params={"run_id": run_id})
        assert_not_a_server_error(response)
        if response.status_code == 200:
            assert response.json()["data"] == []


# ------------------------------------------------------------------------------------------- 5. request ids


def test_a_huge_x_request_id_is_not_echoed(api: httpx.Client) -> None:
    offered = "r" * 10_240
    response = api.get("assistants", params={"limit": 1}, headers={"x-request-id": offered})
    ok(response)
    echoed = response.headers.get("x-request-id", "")
    assert echoed and echoed != offered and len(echoed) <= 128


def test_a_short_x_request_id_is_echoed(api: httpx.Client) -> None:
    assert api.get("assistants", params={"limit": 1}, headers={"x-request-id": "req-123"}).headers[
        "x-request-id"] == "req-123"
    refused = api.get("threads/thread_missing", headers={"x-request-id": "req-456"})
    assert_refused(refused, 404)
    assert refused.headers["x-request-id"] == "req-456"


# -------------------------------------------------------------------------------------- 6. contract fidelity


def _with_metadata(api: httpx.Client, kind: str, assistant_id: str) -> str:
    """Create one ``kind`` object with metadata {"a": "1"}; the path that modifies it."""
    metadata = {"a": "1"}
    if kind == "assistant":
        return f"assistants/{ok(api.post('assistants', json={'model': 'gpt-4o-mini', 'metadata': metadata}))['id']}"
    thread_id = new_thread(api, metadata=metadata if kind == "thread" else {})
    if kind == "thread":
        return f"threads/{thread_id}"
    if kind == "message":
        message = ok(api.post(f"threads/{thread_id}/messages",
                              json={"role": "user", "content": "hi", "metadata": metadata}))
        return f"threads/{thread_id}/messages/{message['id']}"
    run = ok(api.post(f"threads/{thread_id}/runs", json={"assistant_id": assistant_id, "metadata": metadata}))
    settle(api, thread_id, run["id"])
    return f"threads/{thread_id}/runs/{run['id']}"


@pytest.mark.parametrize("kind", ["assistant", "thread", "message", "run"])
def test_modifying_metadata_merges_and_an_empty_value_removes_a_key(api: httpx.Client, assistant_id: str,
                                                                    kind: str) -> None:
    path = _with_metadata(api, kind, assistant_id)
    assert ok(api.post(path, json={"metadata": {"b": "2"}}))["metadata"] == {"a": "1", "b": "2"}
    assert ok(api.get(path))["metadata"] == {"a": "1", "b": "2"}
    assert ok(api.post(path, json={"metadata": {"a": "3"}}))["metadata"] == {"a": "3", "b": "2"}
    assert ok(api.post(path, json={"metadata": {"a": ""}}))["metadata"] == {"b": "2"}
    assert ok(api.get(path))["metadata"] == {"b": "2"}


@pytest.mark.parametrize(
    ("fields", "param", "message"),
    [
        ({"model": 5}, "model", "Invalid type for 'model': expected a string, but got an integer instead."),
        ({"name": 5}, "name", "Invalid type for 'name': expected a string, but got an integer instead."),
        ({"name": True}, "name", "Invalid type for 'name': expected a string, but got a boolean instead."),
        ({"instructions": ["x"]}, "instructions",
         "Invalid type for 'instructions': expected a string, but got an array instead."),
        ({"description": {"x": 1}}, "description",
         "Invalid type for 'description': expected a string, but got an object instead."),
    ],
    ids=["model-integer", "name-integer", "name-boolean", "instructions-array", "description-object"],
)
def test_type_errors_use_openai_wording(api: httpx.Client, fields: dict[str, Any], param: str, message: str,
                                        store_spy: StoreSpy) -> None:
    before = newest_assistant(api)
    store_spy.clear()
    response = api.post("assistants", json={"model": "gpt-4o-mini", **fields})
    assert_refused(response, 400, param=param, code="invalid_type", message=message)
    assert_untouched(store_spy, "asst_")
    assert newest_assistant(api) == before


def test_an_assistant_without_sampling_settings_shows_openai_defaults(api: httpx.Client) -> None:
    created = ok(api.post("assistants", json={"model": "gpt-4o-mini"}))
    assert (created["temperature"], created["top_p"]) == (1.0, 1.0)
    retrieved = ok(api.get(f"assistants/{created['id']}"))
    assert (retrieved["temperature"], retrieved["top_p"]) == (1.0, 1.0)
    ok(api.delete(f"assistants/{created['id']}"))
