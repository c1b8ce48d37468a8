"""Executing a run: one Responses call per turn, mapped by a :class:`~._turn.Turn`, outcome persisted
conditionally (§4, §5), all under the run's lease (:mod:`._run_lifecycle`).

The same code serves streamed runs (``emit`` writes SSE frames) and background runs (``emit`` discards). While the
call streams, a *watcher* beats every ``beat_seconds``: it renews the lease and looks for a cancel (noticed at once
in this process through :class:`~._cancel.CancelSignals`). The watcher is never cancelled: it stops when told, at
its next beat, because a task cancelled inside a Redis call can lose the cancellation (Python 3.11) and hang the run.

Store errors are never mistaken for a cancel: the watcher retries at its next beat, and every write of the turn is
retried with backoff for as long as the lease holds; after that the run is left to take-over. The outcome is written
on a fresh read of the run, conditionally: when a cancel, an expiry or a take-over won, that status stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from core.domain.errors import ConcurrencyError, ServiceUnavailableError, UpstreamError
from core.domain.models import JSON, Message, Run, RunStep, Thread, _Stored
from core.domain.run_status import ACTIVE
from core.logs import get_logger
from core.ports.clock import Clock
from core.ports.responses import ResponsesGateway
from core.ports.telemetry import NO_TELEMETRY, RunTelemetry, observed_execution

from ._cancel import CancelSignals
from ._history import history_request
from ._outcome import settle_outcome
from ._repository import Repository, thread_partition
from ._run_lifecycle import RunLifecycle
from ._tool_files import ToolFiles
from ._turn import Emit, Store, Turn
from .translation import usage_of

__all__ = ["LeaseLost", "RunExecutor", "discard"]

_log = get_logger("runs")
T = TypeVar("T")
_GRACE_SECONDS = 10.0  # how long a stopped task may take to notice (a store call times out after 5 s)


async def discard(event: str, payload: _Stored | JSON) -> None:
    """The ``emit`` of runs nobody is streaming."""


class LeaseLost(Exception):
    """The store stayed unreachable until this executor's lease ran out: the run now belongs to take-over."""


class _Execution:
    """One claimed execution: the run as claimed, its owner token and how long its lease is known to hold."""

    def __init__(self, run: Run, owner: str, clock: Clock) -> None:
        self.run = run
        self.owner = owner
        self.clock = clock
        self.lease_until = run.lease_expires_at or clock.now()
        self.stored: set[str] = set()  # ids of the turn's objects already in the store
        self.stopping = False

    async def persist(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run a store operation, retrying transient failures with backoff while the lease holds."""
        tries = 0
        while True:
            try:
                return await write()
            except ServiceUnavailableError:
                if self.clock.now() >= self.lease_until:
                    raise LeaseLost from None
                tries += 1
                await asyncio.sleep(random.uniform(0.05, min(2.0, 0.1 * 2**tries)))


class RunExecutor:
    telemetry: RunTelemetry = NO_TELEMETRY  # observes each execute() call; the composition root sets it

    def __init__(self, repository: Repository, lifecycle: RunLifecycle, gateway: ResponsesGateway, clock: Clock,
                 signals: CancelSignals, *, beat_seconds: float = 1.0, idle_timeout_seconds: float = 120.0,
                 tool_files: ToolFiles | None = None) -> None:
        self._repository = repository
        self._lifecycle = lifecycle
        self._gateway = gateway
        self._clock = clock
        self._signals = signals
        self._beat = beat_seconds
        self._idle = idle_timeout_seconds
        self._tool_files = tool_files
        self._stragglers: set[asyncio.Future[Any]] = set()  # stopped tasks still finishing a store call

    @observed_execution
    async def execute(self, tenant_id: str, thread_id: str, run_id: str, emit: Emit = discard,
                      known: Run | None = None) -> Run | None:
        """Take a queued (or lapsed) run through one Responses call to its next resting status; ``None`` if it was
        not this executor's to run, or its lease was lost to a store outage (take-over finishes it)."""
        signal = self._signals.watch(run_id)  # before the run is ours, so no cancel can slip in between
        try:
            run = await self._lifecycle.claim(tenant_id, thread_id, run_id, owner=uuid.uuid4().hex, known=known)
            if run is None:
                return None
            execution = _Execution(run, run.lease_owner or "", self._clock)
            await emit("thread.run.in_progress", run)
            try:
                try:
                    return await self._turn(execution, emit, signal)
                except LeaseLost:
                    raise
                except Exception:  # a bug must not leave the run in_progress until it expires
                    _log.exception("run execution failed", extra={"run_id": run_id})
                    failure = UpstreamError("The server had an error while processing the run.")
                    return await self._conclude(execution, None, emit, "failed", error=failure)
            except LeaseLost:
                _log.warning("run left to take-over: the store was unreachable for its whole lease",
                             extra={"run_id": run_id})
                return None
        finally:
            self._signals.forget(run_id)

    async def _turn(self, execution: _Execution, emit: Emit, signal: asyncio.Event) -> Run | None:
        run = execution.run
        request, stop_reason = await execution.persist(lambda: history_request(self._repository, run))
        if request is None:
            return await self._conclude(execution, None, emit, "incomplete", reason=stop_reason)
        turn = Turn(run, self._clock)
        outcome, error = await self._call(execution, turn, request, emit, signal)
        if outcome is None:
            return None
        return await self._conclude(execution, turn, emit, outcome, error=error)

    # -- the call ----------------------------------------------------------------------------------------------------

    async def _call(self, execution: _Execution, turn: Turn, request: JSON, emit: Emit,
                    signal: asyncio.Event) -> tuple[str | None, UpstreamError | None]:
        """Stream the call into ``turn`` while the watcher beats; (outcome, error), outcome ``None`` if the run
        is no longer ours."""
        started = time.monotonic()
        consumer = asyncio.create_task(self._consume(execution, turn, request, emit))
        watcher = asyncio.create_task(self._watch(execution, signal))
        await asyncio.wait({consumer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if consumer.done():
            execution.stopping = True
            signal.set()  # wakes the watcher now rather than at its next beat
            await self._settle_task(watcher)
        else:
            consumer.cancel()  # it awaits the upstream or a shielded write, never a bare store call
            await self._settle_task(consumer)
            return ("cancelled", None) if watcher.result() == "cancel" else (None, None)
        failure = consumer.exception()
        if isinstance(failure, UpstreamError):
            _log.warning("upstream call failed", extra={
                "run_id": execution.run.id, "status": failure.status, "code": failure.code,
                "error": failure.message, "elapsed_ms": round((time.monotonic() - started) * 1000)})
            return "failed", failure
        if failure is not None:
            raise failure
        outcome, failure_text = turn.outcome()
        if failure_text is not None:
            _log.warning("upstream response not usable", extra={"run_id": execution.run.id, "reason": failure_text})
            return outcome, UpstreamError(failure_text)
        return outcome, None

    async def _consume(self, execution: _Execution, turn: Turn, request: JSON, emit: Emit) -> None:
        cited: set[str] = set()
        if self._tool_files is not None:
            await self._tool_files.wait_ingested(request)
        async for event in self._events(request):
            if self._tool_files is not None:
                await self._tool_files.own_outputs(execution.run.tenant_id, event, cited)
            for effect in turn.handle(event):
                if isinstance(effect, Store):
                    await self._store(execution, effect.objects)
                else:
                    await emit(effect.name, effect.payload)

    async def _events(self, request: JSON) -> AsyncIterator[JSON]:
        """The upstream's events; an upstream silent for the idle timeout fails the call (and frees the thread)."""
        stream = self._gateway.stream(request)
        try:
            while True:
                try:
                    async with asyncio.timeout(self._idle):
                        event = await anext(stream)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    _log.warning("upstream stream went silent", extra={"idle_seconds": self._idle})
                    raise UpstreamError(f"The model sent nothing for {self._idle:g} seconds.") from None
                yield event
        finally:
            await stream.aclose()

    async def _store(self, execution: _Execution, objects: tuple[_Stored, ...]) -> None:
        """Store new objects; shielded, so a cancel arriving meanwhile lets the write finish and the outcome knows
        for certain which objects exist."""
        partition = thread_partition(execution.run.thread_id)

        async def create() -> None:
            with contextlib.suppress(ConcurrencyError):  # a retried write that had landed after all
                await self._repository.save(partition, create=objects)
            execution.stored.update(obj.id for obj in objects)

        await asyncio.shield(self._track(asyncio.ensure_future(execution.persist(create))))

    async def _watch(self, execution: _Execution, signal: asyncio.Event) -> str:
        """Beat until stopped: renew the lease and look for a cancel. Returns ``stopped``, ``cancel`` or ``lost``."""
        run = execution.run
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), self._beat)
            if execution.stopping:
                return "stopped"
            if signal.is_set():
                return "cancel"
            try:
                stored = await self._lifecycle.heartbeat(run, execution.owner)
            except Exception:  # a store error is not a cancel: look again at the next beat
                _log.warning("run heartbeat failed", extra={"run_id": run.id})
                continue
            if execution.stopping:
                return "stopped"
            if stored is None:
                return "lost"
            if stored.status == "cancelling":
                return "cancel"
            if stored.lease_owner != execution.owner or stored.status != "in_progress":
                return "lost"
            execution.lease_until = max(execution.lease_until, stored.lease_expires_at or 0)

    async def _settle_task(self, task: asyncio.Task[Any]) -> None:
        """Wait a bounded time for a stopped task; one still busy is kept referenced and finishes on its own."""
        await asyncio.wait({task}, timeout=_GRACE_SECONDS)
        if not task.done():
            _log.warning("a stopped run task is still busy", extra={"task": task.get_name()})
        self._track(task)

    def _track(self, task: asyncio.Future[T]) -> asyncio.Future[T]:
        if not task.done():
            self._stragglers.add(task)
            task.add_done_callback(self._stragglers.discard)
        return task

    async def _writes_settled(self) -> None:
        pending = [task for task in self._stragglers if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=_GRACE_SECONDS)

    # -- the outcome -------------------------------------------------------------------------------------------------

    async def _conclude(self, execution: _Execution, turn: Turn | None, emit: Emit, outcome: str, *,
                        error: UpstreamError | None = None, reason: str | None = None) -> Run | None:
        """Settle what the turn opened and write the outcome on a fresh read of the run, conditionally; then
        announce it. A status someone else settled meanwhile (cancel, expiry, take-over) stands."""
        await self._writes_settled()
        mine = execution.run
        if turn is not None:
            mine.accrued_usage = mine.accrued_usage + usage_of(turn.terminal or {})
            mine.upstream_calls += 1
            mine.output_items = [*mine.output_items, *turn.output_items]
        partition = thread_partition(mine.thread_id)
        while True:
            found = await execution.persist(lambda: self._repository.find_many(
                partition, mine.tenant_id, (Run, mine.id), (Thread, mine.thread_id)))
            stored: Run | None = found[0]
            thread: Thread | None = found[1]
            if stored is None:
                return None  # the thread was deleted
            if stored.lease_owner != execution.owner or stored.status not in ("in_progress", "cancelling"):
                if stored.status != "in_progress":
                    await emit(f"thread.run.{stored.status}", stored)
                return stored
            run = mine.model_copy(deep=True)
            run.metadata, run._etag = stored.metadata, stored._etag  # what a client may change meanwhile
            if stored.status == "cancelling":
                run.status = "cancelling"
                if outcome == "requires_action":  # a run wanting tool outputs is cancelled; a reached end stands
                    outcome = "cancelled"
            events = settle_outcome(run, turn, outcome, self._clock.now(), error=error, reason=reason)
            objects = turn.objects() if turn is not None else []
            new = [obj for obj in objects if obj.id not in execution.stored]
            changed = [obj for obj in objects if obj.id in execution.stored]
            # A run at rest frees its thread in the same commit (a run waiting for tool outputs keeps it).
            freed = [thread] if thread is not None and thread.active_run_id == run.id and run.status not in ACTIVE \
                else []
            for released in freed:
                released.active_run_id = None
            try:
                await execution.persist(partial(self._repository.save, partition, create=new,
                                                replace=[run, *changed, *freed]))
            except ConcurrencyError:
                await self._refresh(changed)
                continue
            for event in events:
                await emit(event.name, event.payload)
            await emit(f"thread.run.{run.status}", run)
            if run.status not in ACTIVE:
                await self._lifecycle.unregister(run.id)
            return run

    async def _refresh(self, changed: list[_Stored]) -> None:
        """After a lost race, take the versions (and client-set metadata) of the turn's stored objects."""
        for obj in changed:
            if not isinstance(obj, Message | RunStep):
                continue
            stored = await self._repository.find(type(obj), thread_partition(obj.thread_id), obj.id, obj.tenant_id)
            if isinstance(obj, Message | RunStep) and isinstance(stored, Message | RunStep):
                obj._etag, obj.metadata = stored._etag, stored.metadata

