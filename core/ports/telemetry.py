"""The telemetry port: traces and metrics of run executions, optional.

Locally telemetry is off: the run executor gets :data:`NO_TELEMETRY`, the store and the gateway are not wrapped, and
nothing of OpenTelemetry is imported (cold start). When it is on (in Azure, or in a test with an in-memory exporter)
the composition root wraps the store and the gateway (:meth:`Telemetry.traced_store`,
:meth:`Telemetry.traced_gateway`), and :func:`observed_execution` opens one span per run execution around
``RunExecutor.execute``. Attributes carry ids and statuses only, never message content or keys.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from core.domain.models import Run
from core.ports.responses import ResponsesGateway
from core.ports.store import DocumentStore

__all__ = ["NO_TELEMETRY", "RunSpan", "RunTelemetry", "Telemetry", "observed_execution"]


class RunSpan(Protocol):
    def finish(self, run: Run | None) -> None:
        """How the execution ended: the run as it was left, or ``None`` (not this executor's to run, or its lease was
        lost to a store outage)."""
        ...


class RunTelemetry(Protocol):
    def execution(self, tenant_id: str, thread_id: str, run_id: str) -> AbstractContextManager[RunSpan]:
        """Observe one execution of a run (its span, its duration); an exception leaving the block marks it failed."""
        ...


class Telemetry(RunTelemetry, Protocol):
    """Everything the composition root wires when telemetry is on."""

    def traced_store(self, store: DocumentStore, system: str) -> DocumentStore:
        """``store`` with a span per call made inside a traced operation; ``system`` names the database."""
        ...

    def traced_gateway(self, gateway: ResponsesGateway, system: str) -> ResponsesGateway:
        """``gateway`` with a span and metrics per call; ``system`` names the upstream (``openai``, ...)."""
        ...


class _Unobserved:
    def finish(self, run: Run | None) -> None:
        return None


class _NoTelemetry:
    @contextmanager
    def execution(self, tenant_id: str, thread_id: str, run_id: str) -> Iterator[RunSpan]:
        yield _Unobserved()


#: Telemetry off: observes nothing, costs a context manager per run execution.
NO_TELEMETRY: RunTelemetry = _NoTelemetry()


class _Observed(Protocol):
    telemetry: RunTelemetry


S = TypeVar("S", bound=_Observed)
P = ParamSpec("P")


def observed_execution(
    execute: Callable[Concatenate[S, str, str, str, P], Awaitable[Run | None]],
) -> Callable[Concatenate[S, str, str, str, P], Coroutine[Any, Any, Run | None]]:
    """Decorates an executor's ``execute(tenant_id, thread_id, run_id, ...)`` so that each call is observed by the
    executor's ``telemetry``; a decorator keeps the executor's own code free of instrumentation."""

    @functools.wraps(execute)
    async def observed(self: S, tenant_id: str, thread_id: str, run_id: str, /,
                       *args: P.args, **kwargs: P.kwargs) -> Run | None:
        with self.telemetry.execution(tenant_id, thread_id, run_id) as span:
            run = await execute(self, tenant_id, thread_id, run_id, *args, **kwargs)
            span.finish(run)
            return run

    return observed
