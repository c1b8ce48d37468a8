"""`Telemetry` on the OpenTelemetry API: one trace per run execution, the traced store and gateway, the metrics.

The ``run`` span is the root of its own trace: a run executes in a streamed request, in a queue job, in a task of
this process, or when a later read takes over a lapsed run; nesting it under whichever of those started it would
scatter runs across unrelated traces. The caller's span, when there is one, is kept as a link.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind

from core.domain.models import Run
from core.ports.responses import ResponsesGateway
from core.ports.store import DocumentStore
from core.ports.telemetry import RunSpan

from ._instruments import ASSISTANT_ID, RUN_ID, RUN_STATUS, TENANT, TENANT_ID, THREAD_ID, Instruments, failed
from .gateway import TracedGateway
from .store import TracedStore

__all__ = ["OpenTelemetry"]


class _RunSpan:
    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.status = "none"  # the executor returned no run: not its to run, or its lease was lost
        self.error_code = "run_failed"

    def finish(self, run: Run | None) -> None:
        if run is not None:
            self.status = run.status
            self.span.set_attribute(ASSISTANT_ID, run.assistant_id)
            # last_error's code (server_error, rate_limit_exceeded, ...), never its message: that may quote the model
            self.error_code = str((run.last_error or {}).get("code") or self.error_code)


class OpenTelemetry:
    """Implements :class:`core.ports.telemetry.Telemetry` with the given providers (the global ones when ``None``,
    as configured by the Azure Monitor distro)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None,
                 meter_provider: metrics.MeterProvider | None = None) -> None:
        self.instruments = Instruments(tracer_provider, meter_provider)

    @contextmanager
    def execution(self, tenant_id: str, thread_id: str, run_id: str) -> Iterator[RunSpan]:
        caller = trace.get_current_span().get_span_context()
        span = self.instruments.tracer.start_span(
            "run", context=context.Context(), kind=SpanKind.INTERNAL,
            attributes={RUN_ID: run_id, THREAD_ID: thread_id, TENANT_ID: tenant_id},
            links=[trace.Link(caller)] if caller.is_valid else None)
        observed = _RunSpan(span)
        started = time.monotonic()
        tenant = TENANT.set(tenant_id)
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                yield observed
        except BaseException as error:
            observed.status = "error"
            failed(span, error)
            raise
        finally:
            TENANT.reset(tenant)
            span.set_attribute(RUN_STATUS, observed.status)
            if observed.status == "failed":
                failed(span, observed.error_code)
            span.end()
            self.instruments.run_duration.record(time.monotonic() - started, {RUN_STATUS: observed.status})

    def traced_store(self, store: DocumentStore, system: str) -> DocumentStore:
        return TracedStore(store, self.instruments, system)

    def traced_gateway(self, gateway: ResponsesGateway, system: str) -> ResponsesGateway:
        return TracedGateway(gateway, self.instruments, system)
