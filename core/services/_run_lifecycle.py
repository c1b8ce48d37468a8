"""The life of a run around its execution: load, the one blocking-run check, claim and lease, take-over, finish,
expire, release, and the sweep over every active run.

A run is executed under a **lease**: the executor that claims it writes its owner token and a lease expiry in the
same conditional write that moves it to ``in_progress``, and renews the lease while it works. A queued run carries a
lease expiry too (the moment by which someone must have claimed it). When the lease lapses, the executor is presumed
gone (its process died, its store was unreachable for longer than the lease) and the run is **taken over**:

- a lapsed ``queued`` or ``in_progress`` run is handed back to the run queue; the next claim deletes what the lost
  turn had half-written (its ``in_progress`` messages and steps, never shown as finished) and re-executes the turn
  from the last committed state, which the run document holds (``output_items``, usage); after ``max_attempts``
  executions of one turn the run fails with ``server_error`` instead;
- a lapsed ``cancelling`` run (cancelled while its executor was gone) ends ``cancelled`` at once.

Take-over is noticed by whoever meets the run next: a read of the run, a use of its thread, a redelivered queue
message (whose claim succeeds only once the lease lapsed), and :meth:`RunLifecycle.sweep`, which walks a registry of
active runs (one small document per run in a partition of its own) on a timer. Every step is a conditional write, so
two processes that notice the same lapse cannot both win.
"""

from __future__ import annotations

import time
from typing import Any

from core.domain.errors import ApiError, ConcurrencyError
from core.domain.models import Message, Run, RunStep, Thread
from core.domain.pagination import ListQuery
from core.domain.run_status import ACTIVE
from core.logs import get_logger
from core.ports.clock import Clock
from core.ports.run_queue import RunQueue
from core.ports.store import INDEXES_FIELD, Create, Delete, Partition

from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_state import move, settle_message, settle_step

__all__ = ["ACTIVE_RUNS", "INTERRUPTED", "RunLifecycle", "lapsed", "overdue"]

_log = get_logger("runs")

#: The registry of active runs the sweep walks: one document per run, ``{"id": run_id, "thread", "tenant_id"}``.
ACTIVE_RUNS = Partition("threads", "_active_runs")
_REGISTRY_INDEX = "active_runs"
INTERRUPTED = "The run was interrupted {attempts} times before it could finish."


def lapsed(run: Run, now: int) -> bool:
    """Whether the run's lease ran out: nobody claimed it in time, or its executor stopped renewing."""
    return run.lease_expires_at is not None and now > run.lease_expires_at


def overdue(run: Run, now: int) -> bool:
    return run.status in ACTIVE and run.expires_at is not None and now >= run.expires_at


class RunLifecycle:
    def __init__(self, repository: Repository, clock: Clock, queue: RunQueue, *, lease_seconds: int = 30,
                 max_attempts: int = 3) -> None:
        self._repository = repository
        self._clock = clock
        self._queue = queue
        self.lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._resumed: dict[str, float] = {}  # run id -> monotonic time this process last re-queued it

    # -- reading -----------------------------------------------------------------------------------------------------

    async def load(self, tenant_id: str, thread_id: str, run_id: str) -> Run:
        """The run (404 if not the caller's), brought up to date by :meth:`attend`."""
        run = await self._repository.load(Run, thread_partition(thread_id), run_id, tenant_id)
        return await self.attend(run)

    async def attend(self, run: Run) -> Run:
        """Expire an overdue run, end an orphaned cancel, and hand a run whose executor is gone to take-over."""
        now = self._clock.now()
        if run.status not in ACTIVE:
            return run
        if overdue(run, now):
            return await self.expire(run)
        if not lapsed(run, now):
            return run
        if run.status == "cancelling":
            return await self._settle_if(run, ("cancelling",), "cancelled")
        await self._resume(run)
        return run

    async def blocking_run(self, thread: Thread) -> Run | None:
        """The run holding the thread, if any: the one implementation of "one active run per thread"."""
        if not thread.active_run_id:
            return None
        run = await self._repository.find(Run, thread_partition(thread.id), thread.active_run_id, thread.tenant_id)
        if run is None:
            return None
        run = await self.attend(run)
        return run if run.status in ACTIVE else None

    # -- queueing and claiming ---------------------------------------------------------------------------------------

    def queued(self, run: Run) -> None:
        """Stamp a run that is (again) queued with the time by which an executor must claim it."""
        run.lease_owner, run.lease_expires_at, run.attempts = None, self._clock.now() + self.lease_seconds, 0

    async def register(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        """Enter a new run in the registry the sweep walks (before the run is stored, so none escapes it)."""
        body = {"id": run_id, "thread": thread_id, "tenant_id": tenant_id, INDEXES_FIELD: [_REGISTRY_INDEX]}
        await self._repository.store.commit(ACTIVE_RUNS, [Create(body)])

    async def unregister(self, run_id: str) -> None:
        try:
            await self._repository.store.commit(ACTIVE_RUNS, [Delete(run_id)])
        except ApiError:  # a stale entry costs the sweep one read, and the sweep removes it
            _log.warning("could not remove a finished run from the registry", extra={"run_id": run_id})

    async def claim(self, tenant_id: str, thread_id: str, run_id: str, owner: str,
                    known: Run | None = None) -> Run | None:
        """Take the run for ``owner``: a queued run, or one whose lease lapsed (take-over). ``None`` when it is not
        ours to execute: another executor holds it, it waits for tool outputs, it is over, or it does not exist.
        ``known`` is the run as this process just stored it (a streamed create): the claim is conditional on that
        version, so it is read only if it changed meanwhile."""
        unread = [known.model_copy(deep=True)] if known is not None and known.id == run_id else []

        async def attempt() -> Run | None:
            run = unread.pop() if unread else await self._repository.find(
                Run, thread_partition(thread_id), run_id, tenant_id)
            if run is None:
                return None
            now = self._clock.now()
            if overdue(run, now):
                await self.expire(run)
                return None
            taking_over = run.status == "in_progress" and lapsed(run, now)
            if run.status == "cancelling" and lapsed(run, now):
                await self._settle_if(run, ("cancelling",), "cancelled")
                return None
            if run.status != "queued" and not taking_over:
                return None
            if run.attempts >= self._max_attempts:
                _log.error("run abandoned after repeated interruptions", extra={"run_id": run.id})
                error = {"code": "server_error", "message": INTERRUPTED.format(attempts=run.attempts)}
                await self.finish(run, "failed", last_error=error)
                return None
            partial = await self._partial_objects(run) if taking_over else []
            if taking_over:
                _log.warning("taking over a run whose executor is gone",
                             extra={"run_id": run.id, "attempt": run.attempts + 1, "discarded": len(partial)})
            else:
                move(run, "in_progress", now)
            run.lease_owner, run.lease_expires_at, run.attempts = owner, now + self.lease_seconds, run.attempts + 1
            await self._repository.save(thread_partition(thread_id), replace=[run], delete=partial)
            return run

        return await retry_on_conflict(attempt)

    async def held_by_another(self, tenant_id: str, thread_id: str, run_id: str) -> bool:
        """Whether an executor's lease still holds the run (alive, or dead and not yet lapsed)."""
        run = await self._repository.find(Run, thread_partition(thread_id), run_id, tenant_id)
        return (run is not None and run.status in ("in_progress", "cancelling") and run.lease_owner is not None
                and not lapsed(run, self._clock.now()))

    async def heartbeat(self, run: Run, owner: str) -> Run | None:
        """The stored run as its executor should see it, with the lease renewed when a third of it is used.

        ``None`` when the run is gone. Store errors propagate: the caller retries at its next beat.
        """
        stored = await self._repository.find(Run, thread_partition(run.thread_id), run.id, run.tenant_id)
        if stored is None or stored.lease_owner != owner or stored.status != "in_progress":
            return stored
        now = self._clock.now()
        if (stored.lease_expires_at or 0) - now <= self.lease_seconds * 2 // 3:
            stored.lease_expires_at = now + self.lease_seconds
            try:
                await self._repository.save(thread_partition(run.thread_id), replace=[stored])
            except ConcurrencyError:  # a lost race (a cancel or a metadata change): renew at the next beat
                return stored
        return stored

    # -- ending ------------------------------------------------------------------------------------------------------

    async def finish(self, run: Run, status: str, **details: Any) -> Run:
        """Move ``run`` to a terminal ``status`` and settle its open messages and steps, in one commit."""
        now = self._clock.now()
        messages, steps = await self._objects(run)
        open_messages = [m for m in messages if m.status == "in_progress"]
        open_steps = [s for s in steps if s.status == "in_progress"]
        for message in open_messages:
            settle_message(message, status, now)
        for step in open_steps:
            settle_step(step, status, now, usage=run.pending_usage, last_error=details.get("last_error"))
        move(run, status, now, **details)
        run.lease_owner = run.lease_expires_at = None
        await self._repository.save(thread_partition(run.thread_id), replace=[run, *open_messages, *open_steps])
        await self.release(run)
        return run

    async def expire(self, run: Run) -> Run:
        """Move an overdue run to ``expired``, closing what it had open (idempotent under races)."""
        return await self._settle_if(run, tuple(ACTIVE), "expired")

    async def release(self, run: Run) -> None:
        """Clear the thread's claim and the registry entry once ``run`` rests (best effort: a stale claim on a
        finished run blocks nothing, and the sweep drops stale entries)."""
        if run.status in ACTIVE:  # requires_action keeps its thread until the outputs come
            return

        async def attempt() -> None:
            thread = await self._repository.find(Thread, thread_partition(run.thread_id), run.thread_id, run.tenant_id)
            if thread is not None and thread.active_run_id == run.id:
                thread.active_run_id = None
                await self._repository.save(thread_partition(run.thread_id), replace=[thread])

        try:
            await retry_on_conflict(attempt)
        except ApiError:
            _log.warning("could not release the thread of a finished run", extra={"run_id": run.id})
        await self.unregister(run.id)

    async def fail_undelivered(self, tenant_id: str, thread_id: str, run_id: str) -> Run | None:
        """End a run whose queued job could not be delivered: ``failed`` unless someone is executing it or it waits
        for tool outputs (``None`` when it is gone)."""
        run = await self._repository.find(Run, thread_partition(thread_id), run_id, tenant_id)
        if run is None or run.status not in ("queued", "in_progress"):
            return run
        if run.status == "in_progress" and not lapsed(run, self._clock.now()):
            return run  # a take-over got it going after all
        error = {"code": "server_error", "message": "The run could not be started; create it again."}
        return await self._settle_if(run, ("queued", "in_progress"), "failed", last_error=error)

    # -- the sweep ---------------------------------------------------------------------------------------------------

    async def sweep(self, limit: int = 1000) -> int:
        """Attend every registered active run (at most ``limit``); returns how many are still active."""
        found = await self._repository.store.scan(ACTIVE_RUNS, _REGISTRY_INDEX, ListQuery(limit, "asc"))
        active = 0
        for doc in found.data:
            entry = doc.body
            try:
                run = await self._repository.find(Run, thread_partition(str(entry["thread"])), str(entry["id"]),
                                                  str(entry["tenant_id"]))
                if run is not None:
                    run = await self.attend(run)
                if run is None or run.status not in ACTIVE:
                    await self.unregister(str(entry["id"]))
                else:
                    active += 1
            except ApiError:
                _log.warning("sweep could not attend a run", extra={"run_id": entry.get("id")})
        return active

    # -- helpers -----------------------------------------------------------------------------------------------------

    async def _settle_if(self, run: Run, statuses: tuple[str, ...], status: str, **details: Any) -> Run:
        async def attempt() -> Run:
            current = await self._repository.load(Run, thread_partition(run.thread_id), run.id, run.tenant_id)
            return await self.finish(current, status, **details) if current.status in statuses else current

        return await retry_on_conflict(attempt)

    async def _resume(self, run: Run) -> None:
        """Queue a lapsed run again (once per lease in this process); its claim does the take-over."""
        last = self._resumed.get(run.id)
        if last is not None and time.monotonic() - last < self.lease_seconds:
            return
        self._resumed[run.id] = time.monotonic()
        if len(self._resumed) > 10_000:
            self._resumed.clear()
        try:
            await self._queue.enqueue(run.tenant_id, run.thread_id, run.id)
        except ApiError:
            _log.warning("could not queue a lapsed run for take-over", extra={"run_id": run.id})

    async def _objects(self, run: Run) -> tuple[list[Message], list[RunStep]]:
        partition = thread_partition(run.thread_id)
        messages = (await self._repository.page(Message, partition, f"messages:{run.id}", ListQuery(100))).data
        steps = (await self._repository.page(RunStep, partition, f"steps:{run.id}", ListQuery(100))).data
        return messages, steps

    async def _partial_objects(self, run: Run) -> list[Message | RunStep]:
        """What an interrupted turn left half-written: objects are stored ``in_progress`` when they appear and
        settled only with the turn's outcome, so these are exactly the lost turn's (a pending tool step aside)."""
        messages, steps = await self._objects(run)
        objects: list[Message | RunStep] = [*messages, *steps]
        return [obj for obj in objects if obj.status == "in_progress" and obj.id != run.pending_step_id]

