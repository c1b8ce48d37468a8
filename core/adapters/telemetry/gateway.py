"""A `ResponsesGateway` that records a ``responses.create`` client span per call, the time to the first output text
and the tokens used.

The span is started when the stream is first read (that is when the request goes out) as a child of the run, and
ended when the stream ends, fails or is closed; it is never made current, because an async generator's context
changes would leak into its consumer between events. Attributes: upstream system, model, final status, token counts,
HTTP status of a failure. Never the request's input or the events' text.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from core.domain.errors import UpstreamError
from core.ports.responses import ResponsesGateway

from ._instruments import MODEL, TENANT, TENANT_ID, Instruments, failed

__all__ = ["TracedGateway"]

JSON = dict[str, Any]
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
STATUS = "assistants.upstream.status"


class TracedGateway:
    def __init__(self, gateway: ResponsesGateway, instruments: Instruments, system: str) -> None:
        self._gateway = gateway
        self._instruments = instruments
        self._system = system

    def stream(self, request: JSON) -> AsyncGenerator[JSON, None]:
        if not self._instruments.in_trace():
            return self._gateway.stream(request)
        return self._traced(request)

    async def _traced(self, request: JSON) -> AsyncGenerator[JSON, None]:
        model = str(request.get("model") or "")
        span = self._instruments.tracer.start_span("responses.create", kind=SpanKind.CLIENT, attributes={
            "gen_ai.system": self._system, "gen_ai.provider.name": self._system, MODEL: model})
        started = time.monotonic()
        first_text = True
        status = "aborted"  # closed by the consumer (a cancel, an idle timeout) before the response ended
        events = self._gateway.stream(request)
        try:
            async for event in events:
                kind = event.get("type")
                if first_text and kind == "response.output_text.delta":
                    first_text = False
                    self._instruments.time_to_first_token.record(time.monotonic() - started, {MODEL: model})
                    span.add_event("first output text")
                elif kind in _TERMINAL:
                    status = self._ended(span, event.get("response") or {}, model)
                yield event
            if status == "aborted":
                status = "unfinished"  # the stream ended without a final response event
        except UpstreamError as error:
            status = "error"
            if error.status is not None:
                span.set_attribute("http.response.status_code", error.status)
            failed(span, error.code or type(error).__name__)
            raise
        finally:
            await events.aclose()
            span.set_attribute(STATUS, status)
            if status in ("failed", "unfinished"):
                failed(span, f"response_{status}")
            span.end()

    def _ended(self, span: Span, response: JSON, model: str) -> str:
        """Record the final response's usage; its status."""
        status = str(response.get("status") or "unknown")
        if response.get("model"):
            span.set_attribute("gen_ai.response.model", str(response["model"]))
        usage = response.get("usage") or {}
        tenant = TENANT.get()
        for kind in ("input", "output"):
            count = usage.get(f"{kind}_tokens")
            if isinstance(count, int):
                span.set_attribute(f"gen_ai.usage.{kind}_tokens", count)
                attributes: dict[str, AttributeValue] = {"gen_ai.token.type": kind, MODEL: model}
                if tenant is not None:
                    attributes[TENANT_ID] = tenant
                self._instruments.tokens.add(count, attributes)
        return status

    async def close(self) -> None:
        await self._gateway.close()

