"""Cosmos DB cost per endpoint, measured on the emulator of the tests (tests/cosmos_emulator.py).

    .venv/bin/python -m bench.cosmos_ru

The service runs in this process on the emulator (containers created with the adapter's indexing policy), against the
fake Responses upstream; an httpx client calls each endpoint once, and a response hook on the Cosmos client records
every request the service sent: its kind (point read, query, create, replace, delete, batch), the bytes sent and
received, and the emulator's ``x-ms-request-charge``. The emulator returns that header on every response, always
``1``: it has no cost model, so the charge column counts requests, and the RU column is an estimate from the request
kinds and sizes (:func:`estimate`, published per-operation costs at session consistency). Work of a background run
(the in-process queue) is shown on a line of its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.runs import MODEL
from core import bootstrap
from core.config import Settings
from core.http.local_host import build_app
from core.logs import REQUEST_ID
from tests.cosmos_emulator import EMULATOR_KEY, cosmos_emulator
from tests.fake_responses import FakeResponsesServer
from tests.servers import ThreadedServer

KEY = "sk-ru-bench"
HEADERS = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}
BACKGROUND = "background run"


@dataclass
class Call:
    kind: str  # read, query, create, replace, delete, batch
    sent: int  # request body bytes
    received: int  # response body bytes
    charge: float  # x-ms-request-charge
    operations: int = 1  # of a batch


@dataclass
class Endpoint:
    calls: list[Call] = field(default_factory=list)


def _kind(request: Any) -> str:
    headers = {name.lower(): value for name, value in request.headers.items()}
    path = request.url.split("?")[0].rstrip("/")
    if "/docs" not in path:
        return "metadata"
    if headers.get("x-ms-documentdb-isquery") == "True" or headers.get("content-type") == "application/query+json":
        return "query"
    if headers.get("x-ms-cosmos-is-batch-request") == "True":
        return "batch"
    return {"GET": "read", "PUT": "replace", "DELETE": "delete", "POST": "create"}.get(request.method, "other")


def _body_size(request: Any) -> int:
    body = request.body if request.body is not None else getattr(request, "data", None)
    return len(body) if isinstance(body, bytes | str) else 0


class Recorder:
    def __init__(self) -> None:
        self.by_label: dict[str, Endpoint] = collections.defaultdict(Endpoint)

    def hook(self, response: Any) -> None:
        request, http = response.http_request, response.http_response
        kind = _kind(request)
        if kind == "metadata":
            return
        task = asyncio.current_task()
        label = BACKGROUND if task is not None and task.get_name().startswith("run ") else REQUEST_ID.get() or "?"
        operations = 1
        if kind == "batch":
            body = request.body if isinstance(request.body, bytes | str) else b"[]"
            operations = max(1, str(body).count('"operationType"'))
        self.by_label[label].calls.append(Call(kind, _body_size(request), int(http.headers.get("content-length", 0)),
                                               float(http.headers.get("x-ms-request-charge", "nan")), operations))


def _kb(size: float) -> float:
    return max(1.0, size / 1024)


def estimate(call: Call) -> float:
    """Approximate RU of one request on a real account (session consistency): a point read 1 RU per KB; a write
    ~5 RU plus ~1 RU per further KB (less with the narrowed indexing policy: fewer index terms per document); a
    single-partition query ~2.5 RU plus ~0.2 RU per KB returned; a batch the sum of its operations."""
    if call.kind == "read":
        return _kb(call.received)
    if call.kind == "query":
        return 2.5 + 0.2 * call.received / 1024
    per_operation = call.sent / call.operations
    return call.operations * (5 + (_kb(per_operation) - 1))


@contextlib.contextmanager
def _service(endpoint: str, upstream: FakeResponsesServer, recorder: Recorder) -> Iterator[str]:
    import core.adapters.cosmos.store as cosmos_store

    original: Any = getattr(cosmos_store, "CosmosClient")  # noqa: B009  # the name the adapter calls

    class Hooked(original):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, raw_response_hook=recorder.hook, **kwargs)

    setattr(cosmos_store, "CosmosClient", Hooked)  # noqa: B010
    settings = Settings(database_provider="cosmos", cosmos_endpoint=endpoint, cosmos_key=EMULATOR_KEY,
                        cosmos_create_containers=True, cosmos_database_id=f"ru-{uuid.uuid4().hex[:8]}",
                        api_keys={KEY: "bench"}, openai_base_url=f"{upstream.url}/v1", openai_api_key="sk-up",
                        upstream_max_retries=0)
    bootstrap.override(bootstrap.build(settings))
    server = ThreadedServer(build_app(), "ru-service")
    server.start()
    try:
        yield f"{server.url}/v1"
    finally:
        server.stop()
        bootstrap.reset()
        setattr(cosmos_store, "CosmosClient", original)  # noqa: B010


def _scenario(api: httpx.Client) -> list[str]:
    """Call each endpoint once, the n-th with x-request-id ``ep<n>``; returns the endpoints' labels in order."""
    labels: list[str] = []

    def call(label: str, method: str, path: str, **kwargs: Any) -> Any:
        labels.append(label)
        response = api.request(method, path, headers={"x-request-id": f"ep{len(labels)}"}, **kwargs)
        response.raise_for_status()
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    assistant = call("POST /assistants", "POST", "/assistants", json={"model": MODEL, "instructions": "Be brief."})
    call("GET /assistants/{id}", "GET", f"/assistants/{assistant['id']}")
    call("POST /assistants/{id}", "POST", f"/assistants/{assistant['id']}", json={"metadata": {"k": "v"}})
    call("GET /assistants", "GET", "/assistants")
    thread = call("POST /threads (1 message)", "POST", "/threads",
                  json={"messages": [{"role": "user", "content": "hello " * 40}]})
    tid = thread["id"]
    call("GET /threads/{id}", "GET", f"/threads/{tid}")
    call("POST /threads/{id}", "POST", f"/threads/{tid}", json={"metadata": {"k": "v"}})
    for _ in range(20):
        message = api.post(f"/threads/{tid}/messages", json={"role": "user", "content": "x" * 200}).json()
    call("POST /threads/{id}/messages", "POST", f"/threads/{tid}/messages", json={"role": "user", "content": "x" * 200})
    call("GET /threads/{id}/messages/{id}", "GET", f"/threads/{tid}/messages/{message['id']}")
    call("POST /threads/{id}/messages/{id}", "POST", f"/threads/{tid}/messages/{message['id']}",
         json={"metadata": {"k": "v"}})
    call("GET /threads/{id}/messages (20)", "GET", f"/threads/{tid}/messages?limit=20")
    call("GET /threads/{id}/messages (20, after)", "GET", f"/threads/{tid}/messages?limit=20&after={message['id']}")
    run = call("POST /threads/{id}/runs (queued)", "POST", f"/threads/{tid}/runs",
               json={"assistant_id": assistant["id"]})
    deadline = time.monotonic() + 30
    while api.get(f"/threads/{tid}/runs/{run['id']}").json()["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    call("GET /threads/{id}/runs/{id}", "GET", f"/threads/{tid}/runs/{run['id']}")
    call("GET /threads/{id}/runs", "GET", f"/threads/{tid}/runs")
    steps = call("GET /threads/{id}/runs/{id}/steps", "GET", f"/threads/{tid}/runs/{run['id']}/steps")
    step_id = steps["data"][0]["id"]
    call("GET /threads/{id}/runs/{id}/steps/{id}", "GET", f"/threads/{tid}/runs/{run['id']}/steps/{step_id}")
    call("POST /threads/{id}/runs (stream)", "POST", f"/threads/{tid}/runs",
         json={"assistant_id": assistant["id"], "stream": True})
    call("DELETE /threads/{id}/messages/{id}", "DELETE", f"/threads/{tid}/messages/{message['id']}")
    call("DELETE /threads/{id}", "DELETE", f"/threads/{tid}")
    call("DELETE /assistants/{id}", "DELETE", f"/assistants/{assistant['id']}")
    return labels


def main() -> None:
    recorder = Recorder()
    with cosmos_emulator() as endpoint, FakeResponsesServer() as upstream, \
            _service(endpoint, upstream, recorder) as base_url, \
            httpx.Client(base_url=base_url, headers=HEADERS, timeout=60) as api:
        labels = _scenario(api)
        time.sleep(0.5)  # the queued run's last writes
    charges = {call.charge for endpoint in recorder.by_label.values() for call in endpoint.calls}
    print(f"emulator x-ms-request-charge values seen: {sorted(charges)} (a constant: the emulator has no cost model)")
    print(f"{'endpoint':42} {'requests':>8} {'charge':>7} {'kinds':32} {'KB out/in':>11} {'~RU':>6}")
    request_ids = [f"ep{number}" for number in range(1, len(labels) + 1)]
    for label, request_id in [*zip(labels, request_ids, strict=True), (BACKGROUND, BACKGROUND)]:
        calls = recorder.by_label.get(request_id, Endpoint()).calls
        kinds = collections.Counter(call.kind if call.kind != "batch" else f"batch({call.operations})"
                                    for call in calls)
        shown = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        sent, received = sum(call.sent for call in calls) / 1024, sum(call.received for call in calls) / 1024
        print(f"{label:42} {len(calls):8d} {sum(call.charge for call in calls):7.0f} {shown:32} "
              f"{sent:5.1f}/{received:5.1f} {sum(estimate(call) for call in calls):6.1f}")


if __name__ == "__main__":
    main()
