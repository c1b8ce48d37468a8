"""What the traced adapters share: the tracer, the metric instruments, the attribute names and the current tenant.

Attribute names follow the OpenTelemetry semantic conventions where one fits (``db.*``, ``gen_ai.*``, ``error.type``);
ids of our own objects go under ``assistants.*``. Only ids, statuses, counts and model names are ever recorded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = [
    "ASSISTANT_ID",
    "ERROR_TYPE",
    "MODEL",
    "RUN_ID",
    "RUN_STATUS",
    "SCOPE",
    "TENANT",
    "TENANT_ID",
    "THREAD_ID",
    "Instruments",
    "failed",
]

SCOPE = "assistants"  # the instrumentation scope of every span and metric of this app

RUN_ID = "assistants.run.id"
THREAD_ID = "assistants.thread.id"
ASSISTANT_ID = "assistants.assistant.id"
TENANT_ID = "assistants.tenant.id"  # as stored: a name from API_KEYS, a hash of a bare key, or an Entra object id
RUN_STATUS = "assistants.run.status"
MODEL = "gen_ai.request.model"
ERROR_TYPE = "error.type"

#: The tenant of the run executing in this context, for the token counter (the gateway's requests carry none).
TENANT: contextvars.ContextVar[str | None] = contextvars.ContextVar("telemetry_tenant", default=None)


class Instruments:
    """The tracer and the metric instruments, from the given providers (the global ones when ``None``)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None,
                 meter_provider: metrics.MeterProvider | None = None) -> None:
        from core import __version__

        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.run_duration = meter.create_histogram(
            "assistants.run.duration", unit="s", description="Duration of one run execution, by final status")
        self.time_to_first_token = meter.create_histogram(
            "assistants.run.time_to_first_token", unit="s",
            description="From the start of the Responses call to its first output text delta")
        self.tokens = meter.create_counter(
            "assistants.run.tokens", unit="{token}", description="Tokens used by Responses calls, by tenant and type")

    @staticmethod
    def in_trace() -> bool:
        """Whether a traced operation (a run execution) is under way here: calls outside one (API requests,
        health) get no span of their own, so that each trace stays one run."""
        return trace.get_current_span().get_span_context().is_valid

    @contextmanager
    def span(self, name: str, attributes: dict[str, AttributeValue]) -> Iterator[Span]:
        """A client span, current inside the block, or a non-recording one outside any trace. An exception marks it
        failed by its type alone: exception messages may quote what a caller sent."""
        if not self.in_trace():
            yield trace.INVALID_SPAN
            return
        with self.tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes,
                                               record_exception=False, set_status_on_exception=False) as span:
            try:
                yield span
            except BaseException as error:
                failed(span, error)
                raise


def failed(span: Span, error: BaseException | str) -> None:
    """Mark ``span`` failed with an error type only (never a message)."""
    kind = error if isinstance(error, str) else type(error).__name__
    span.set_attribute(ERROR_TYPE, kind)
    span.set_status(Status(StatusCode.ERROR, kind))
