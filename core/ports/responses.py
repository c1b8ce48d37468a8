"""The Responses API port: one streamed ``POST /responses`` call per run turn."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol

__all__ = ["ResponsesGateway"]


class ResponsesGateway(Protocol):
    def stream(self, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """Send ``request`` (a Responses create body, without ``stream``) and yield its stream events as JSON dicts.

        Raises ``core.domain.errors.UpstreamError`` for HTTP errors (after the gateway's own retries), timeouts,
        connection loss and ``error`` events. Closing the iterator early aborts the upstream call.
        """
        ...

    async def close(self) -> None: ...
