"""Traces and metrics of run executions (core/adapters/telemetry), exported to the OpenTelemetry SDK's in-memory
span exporter and metric reader: no network, no global providers.

Runs go through the real services (core.bootstrap.build) over the in-memory store and the scripted gateway, and, for
the check that nothing of content or keys is recorded, through the registered HTTP functions as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from core import bootstrap
from core.adapters.memory.store import MemoryStore
from core.adapters.telemetry.azure_monitor import from_environment
from core.adapters.telemetry.otel import OpenTelemetry
from core.bootstrap import Container, build
from core.config import Settings, parse_api_keys
from core.domain.errors import UpstreamError
from core.domain.pagination import ListQuery, Page
from core.ports.store import Document, Partition
from core.ports.telemetry import NO_TELEMETRY
from tests.fakes import FakeClock, ScriptedGateway, text_events

ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant-a"
MODEL = "gpt-4.1-mini"


class Exported:
    """What the app exported: finished spans and collected metric points."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.telemetry = OpenTelemetry(tracer_provider, MeterProvider(metric_readers=[self.metrics]))

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        return [point for resource in (data.resource_metrics if data else [])
                for scope in resource.scope_metrics for found in scope.metrics if found.name == metric
                for point in found.data.data_points]


@pytest.fixture
def exported() -> Exported:
    return Exported()


@pytest.fixture
def container(exported: Exported, clock: FakeClock, gateway: ScriptedGateway) -> Container:
    """conftest.py's container (its clock and scripted gateway), with telemetry on."""
    return build(Settings(api_keys={"sk-test": TENANT}), store=MemoryStore(), clock=clock, gateway=gateway,
                 telemetry=exported.telemetry)


async def _queued_run(container: Container, text: str = "hi") -> tuple[str, str, str]:
    assistant = await container.assistants.create(TENANT, {"model": MODEL})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": text}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    return assistant.id, thread.id, run.id


# -- traces ----------------------------------------------------------------------------------------------------------


async def test_each_run_execution_is_one_trace_with_store_and_upstream_spans_below_it(
        container: Container, exported: Exported, gateway: ScriptedGateway) -> None:
    gateway.script = [text_events("first", usage=(11, 3)), text_events("second", usage=(7, 2))]
    streamed = await _queued_run(container)
    events: list[str] = []

    async def emit(event: str, payload: object) -> None:
        events.append(event)

    await container.executor.execute(TENANT, streamed[1], streamed[2], emit)  # as a streamed run does
    queued = await _queued_run(container)
    await container.run_queue.enqueue(TENANT, queued[1], queued[2])  # as a background run does
    await container.run_queue.drain()
    assert "thread.run.completed" in events

    runs = exported.named("run")
    assert [span.attributes["assistants.run.id"] for span in runs if span.attributes] == [streamed[2], queued[2]]
    for span, (assistant_id, thread_id, run_id) in zip(runs, (streamed, queued), strict=True):
        assert span.parent is None  # a root: its own trace
        assert dict(span.attributes or {}) == {
            "assistants.run.id": run_id, "assistants.thread.id": thread_id, "assistants.assistant.id": assistant_id,
            "assistants.tenant.id": TENANT, "assistants.run.status": "completed"}
        assert span.status.status_code is StatusCode.UNSET
        below = [child for child in exported.finished()
                 if child.context.trace_id == span.context.trace_id and child is not span]
        assert below and all(child.parent is not None and child.parent.span_id == span.context.span_id
                             for child in below)  # direct children, one level
        names = {child.name for child in below}
        # The history's scans and the outcome's reads go through the fused reads, so traced stores keep them.
        assert {"store.get", "store.scan_many", "store.get_many", "store.commit", "responses.create"} <= names, names
        assert all(child.attributes and child.attributes["db.collection.name"] in ("threads", "assistants")
                   for child in below if child.name.startswith("store."))
        [upstream] = [child for child in below if child.name == "responses.create"]
        assert upstream.attributes is not None
        assert upstream.attributes["gen_ai.request.model"] == MODEL
        assert upstream.attributes["assistants.upstream.status"] == "completed"
        assert upstream.attributes["gen_ai.system"] == "openai"
    # The API calls that set the runs up (creating assistants, threads, runs) made no spans of their own.
    assert {span.context.trace_id for span in exported.finished()} == {span.context.trace_id for span in runs}


class FusedStore(MemoryStore):
    """A store with a fused read of several scans (as Redis and Cosmos DB have), counting its use."""

    def __init__(self) -> None:
        super().__init__()
        self.fused_scans = 0

    async def scan_many(self, partition: Partition, scans: Sequence[tuple[str, ListQuery]]) -> list[Page[Document]]:
        self.fused_scans += 1
        return [await self.scan(partition, index, query) for index, query in scans]


async def test_a_traced_store_keeps_the_stores_fused_reads(exported: Exported, clock: FakeClock,
                                                           gateway: ScriptedGateway) -> None:
    """Tracing must not cost a store its single round trip: the fused read of the wrapped store is the one used."""
    store = FusedStore()
    container = build(Settings(api_keys={"sk-test": TENANT}), store=store, clock=clock, gateway=gateway,
                      telemetry=exported.telemetry)
    _, thread_id, run_id = await _queued_run(container)
    await container.executor.execute(TENANT, thread_id, run_id)
    assert store.fused_scans == 1  # the run's history: two scans, one call
    [span] = exported.named("store.scan_many")
    assert span.attributes is not None and span.attributes["assistants.store.scans"] == 2


async def test_a_failed_upstream_call_marks_its_span_and_the_run(
        container: Container, exported: Exported, gateway: ScriptedGateway) -> None:
    gateway.script = [UpstreamError("The model is overloaded.", code="server_error", status=503)]
    _, thread_id, run_id = await _queued_run(container)
    run = await container.executor.execute(TENANT, thread_id, run_id)
    assert run is not None and run.status == "failed"
    [upstream] = exported.named("responses.create")
    assert upstream.attributes is not None
    assert upstream.attributes["assistants.upstream.status"] == "error"
    assert upstream.attributes["http.response.status_code"] == 503
    assert upstream.attributes["error.type"] == "server_error"
    assert upstream.status.status_code is StatusCode.ERROR
    assert upstream.status.description == "server_error"  # the type, never the upstream's message
    [span] = exported.named("run")
    assert span.attributes is not None and span.attributes["assistants.run.status"] == "failed"
    assert span.attributes["error.type"] == "server_error"  # the run's last_error code
    assert span.status.status_code is StatusCode.ERROR
    [point] = exported.points("assistants.run.duration")
    assert point.attributes == {"assistants.run.status": "failed"}
    assert exported.points("assistants.run.time_to_first_token") == []  # no text ever came


async def test_an_execution_that_was_not_its_to_run_is_still_one_trace(
        container: Container, exported: Exported) -> None:
    _, thread_id, run_id = await _queued_run(container)
    await container.executor.execute(TENANT, thread_id, run_id)
    assert await container.executor.execute(TENANT, thread_id, run_id) is None  # completed already
    first, second = exported.named("run")
    assert second.attributes is not None and second.attributes["assistants.run.status"] == "none"
    assert first.context.trace_id != second.context.trace_id


# -- metrics ---------------------------------------------------------------------------------------------------------


async def test_run_duration_time_to_first_token_and_tokens_per_tenant(
        container: Container, exported: Exported, gateway: ScriptedGateway) -> None:
    gateway.script = [text_events("one", usage=(11, 3)), text_events("two", usage=(7, 2))]
    for _ in range(2):
        _, thread_id, run_id = await _queued_run(container)
        await container.executor.execute(TENANT, thread_id, run_id)

    [duration] = exported.points("assistants.run.duration")
    assert duration.attributes == {"assistants.run.status": "completed"}
    assert duration.count == 2 and duration.sum > 0
    [first_token] = exported.points("assistants.run.time_to_first_token")
    assert first_token.attributes == {"gen_ai.request.model": MODEL}
    assert first_token.count == 2 and 0 < first_token.sum <= duration.sum
    tokens = {point.attributes["gen_ai.token.type"]: point for point in exported.points("assistants.run.tokens")}
    assert tokens["input"].value == 18 and tokens["output"].value == 5
    assert all(point.attributes["assistants.tenant.id"] == TENANT for point in tokens.values())


# -- nothing of content or keys --------------------------------------------------------------------------------------

KEY = "sk-marker-key-7f3a91c2"  # a bare key: its tenant id is a hash of it
CONTENT = "marker-content-5be2d8"  # in the user's message, the instructions, the metadata and the model's reply


def _every_recorded_value(exported: Exported) -> Iterator[str]:
    for span in exported.finished():
        yield span.name
        yield span.status.description or ""
        yield from (f"{key}={value}" for key, value in (span.attributes or {}).items())
        for event in span.events:
            yield event.name
            yield from (f"{key}={value}" for key, value in (event.attributes or {}).items())
        for link in span.links:
            yield from (f"{key}={value}" for key, value in (link.attributes or {}).items())
    data = exported.metrics.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                yield metric.name
                for point in metric.data.data_points:
                    yield from (f"{key}={value}" for key, value in (point.attributes or {}).items())


async def test_no_attribute_holds_message_content_or_a_key(exported: Exported, gateway: ScriptedGateway) -> None:
    from core.http.local_host import build_app

    settings = Settings(api_keys=parse_api_keys(KEY))
    container = build(settings, store=MemoryStore(), gateway=gateway, telemetry=exported.telemetry)
    gateway.script = [text_events(f"reply {CONTENT}"), text_events(f"again {CONTENT}")]
    bootstrap.override(container)
    try:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app()), base_url="http://app/v1",
                                     headers=headers) as client:
            assistant = (await client.post("/assistants", json={
                "model": MODEL, "instructions": CONTENT, "metadata": {"note": CONTENT}})).json()
            thread = (await client.post("/threads", json={
                "messages": [{"role": "user", "content": CONTENT}]})).json()
            streamed = await client.post(f"/threads/{thread['id']}/runs",
                                         json={"assistant_id": assistant["id"], "stream": True})
            assert streamed.status_code == 200 and "thread.run.completed" in streamed.text
            await client.post(f"/threads/{thread['id']}/messages", json={"role": "user", "content": CONTENT})
            queued = await client.post(f"/threads/{thread['id']}/runs", json={"assistant_id": assistant["id"]})
            assert queued.status_code == 200
            await container.run_queue.drain()
    finally:
        bootstrap.reset()
        await container.aclose()

    assert len(exported.named("run")) == 2 and len(exported.named("responses.create")) == 2
    recorded = list(_every_recorded_value(exported))
    assert recorded
    assert not [value for value in recorded if CONTENT in value or KEY in value]


# -- wiring ----------------------------------------------------------------------------------------------------------


def test_without_a_connection_string_nothing_is_wrapped_and_nothing_imported() -> None:
    assert from_environment({}) is None
    assert from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is None
    plain = build(Settings(), store=MemoryStore(), gateway=ScriptedGateway())
    assert plain.executor.telemetry is NO_TELEMETRY
    assert type(plain.store) is MemoryStore and type(plain.gateway) is ScriptedGateway
    # A fresh process as the Functions worker starts it, locally: the app and its container, nothing of the distro,
    # the OpenTelemetry SDK or our OpenTelemetry adapter (cold start).
    env = {key: value for key, value in os.environ.items() if not key.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))}
    probe = ("import sys, function_app; from core import bootstrap; bootstrap.get_container(); "
             "print(sorted(m for m in sys.modules if m.startswith(('azure.monitor', 'opentelemetry.sdk', "
             "'core.adapters.telemetry.otel'))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_azure_monitor_is_configured_once_with_entra_auth_and_without_logs_or_instrumentations(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.monitor.opentelemetry as distro

    from core.adapters.telemetry import azure_monitor

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **options: calls.append(options))
    monkeypatch.setattr(azure_monitor, "_configured", None)
    monkeypatch.setenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")  # restored after the test
    env = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000",
           "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=0a1b2c3d;Authorization=AAD"}
    telemetry = from_environment(env)
    assert telemetry is not None and from_environment(env) is telemetry  # the distro sets global providers: once
    [options] = calls
    assert options["connection_string"] == env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert options["disable_logging"] is True  # log lines reach Application Insights through the worker
    assert all(not setting["enabled"] for setting in options["instrumentation_options"].values())
    assert type(options["credential"]).__name__ == "ManagedIdentityCredential"


def test_a_distro_that_cannot_be_configured_leaves_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.monitor.opentelemetry as distro

    from core.adapters.telemetry import azure_monitor

    def refuse(**options: Any) -> None:
        raise ValueError("Invalid instrumentation key")

    monkeypatch.setattr(distro, "configure_azure_monitor", refuse)
    monkeypatch.setattr(azure_monitor, "_configured", None)
    monkeypatch.setenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")
    assert from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=bad"}) is None
