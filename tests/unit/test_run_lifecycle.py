"""Runs under faults, over the in-memory store with injected failures: leases and take-over, store errors that are not
cancels, a lost cancellation, an upstream that goes silent (issue 8)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import pytest

from core.adapters.memory.store import MemoryStore
from core.bootstrap import Container, build
from core.config import Settings
from core.domain.errors import ServiceUnavailableError
from core.domain.models import Message
from core.domain.pagination import ListQuery
from core.ports.store import Document, Partition, Write
from core.services._repository import thread_partition
from core.services._run_lifecycle import INTERRUPTED
from tests.fakes import FakeClock, ScriptedGateway, text_events

TENANT = "tenant-a"
LEASE = 3


class FaultyStore(MemoryStore):
    """The memory store with switchable faults: an outage (every call 503s) and reads that swallow a cancellation,
    as redis-py's reads can on Python 3.11."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.swallow_cancel = False
        self.failed_calls = 0

    async def _fault(self) -> None:
        if self.swallow_cancel:
            with contextlib.suppress(asyncio.CancelledError):  # the bug: the cancellation is lost, the caller goes on
                await asyncio.sleep(0.002)
        if self.down:
            self.failed_calls += 1
            raise ServiceUnavailableError("The database is unavailable; retry the request.")

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        await self._fault()
        return await super().get(partition, doc_id)

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        await self._fault()
        return await super().commit(partition, writes)


class SilentGateway(ScriptedGateway):
    """Streams the start of an answer, then nothing (a hung upstream)."""

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        self.requests.append(request)
        for event in text_events("Partial answer")[:4]:
            yield event
        await asyncio.sleep(3600)


def _container(clock: FakeClock, store: MemoryStore | None = None, gateway: ScriptedGateway | None = None,
               **settings: Any) -> Container:
    return build(Settings(run_lease_seconds=LEASE, **settings), store=store or MemoryStore(), clock=clock,
                 gateway=gateway or ScriptedGateway())


async def _queued_run(container: Container) -> tuple[str, str]:
    assistant = await container.assistants.create(TENANT, {"model": "gpt-4o-mini"})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    return thread.id, run.id


async def _replies(container: Container, thread_id: str, run_id: str) -> list[Message]:
    return (await container.messages.list(TENANT, thread_id, ListQuery(), run_id=run_id)).data


async def _crash_mid_turn(container: Container, thread_id: str, run_id: str) -> None:
    """What a process that dies mid-call leaves behind: a claimed run and a half-written, stored message."""
    run = await container.lifecycle.claim(TENANT, thread_id, run_id, owner="dead-process")
    assert run is not None
    partial = Message(id="msg_partial", created_at=run.created_at, tenant_id=TENANT, thread_id=thread_id,
                      status="in_progress", role="assistant", run_id=run_id,
                      content=[{"type": "text", "text": {"value": "Half", "annotations": []}}])
    await container.executor._repository.save(thread_partition(thread_id), create=[partial])


async def test_a_run_whose_executor_died_is_taken_over_on_read_and_answered_once(clock: FakeClock) -> None:
    container = _container(clock)
    thread_id, run_id = await _queued_run(container)
    await _crash_mid_turn(container, thread_id, run_id)
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "in_progress"  # lease still held
    await container.run_queue.drain()
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "in_progress"

    clock.advance(LEASE + 1)
    await container.runs.retrieve(TENANT, thread_id, run_id)  # meets the lapsed lease: hands the run to take-over
    await container.run_queue.drain()
    run = await container.runs.retrieve(TENANT, thread_id, run_id)
    assert run.status == "completed" and run.last_error is None
    [reply] = await _replies(container, thread_id, run_id)
    assert reply.status == "completed" and reply.text() == "default answer"


async def test_the_sweep_recovers_runs_nobody_reads(clock: FakeClock) -> None:
    container = _container(clock)
    lost_queued = await _queued_run(container)  # its in-process job died with its process
    crashed = await _queued_run(container)
    await _crash_mid_turn(container, *crashed)
    clock.advance(LEASE + 1)
    assert await container.lifecycle.sweep() == 2
    await container.run_queue.drain()
    for thread_id, run_id in (lost_queued, crashed):
        assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "completed"
        assert [m.status for m in await _replies(container, thread_id, run_id)] == ["completed"]
    assert await container.lifecycle.sweep() == 0  # finished runs leave the registry


async def test_a_run_interrupted_too_often_fails_with_server_error(clock: FakeClock) -> None:
    container = _container(clock, run_max_attempts=2)
    thread_id, run_id = await _queued_run(container)
    for _ in range(2):
        await _crash_mid_turn(container, thread_id, run_id)
        clock.advance(LEASE + 1)
    assert await container.lifecycle.claim(TENANT, thread_id, run_id, owner="third") is None
    run = await container.runs.retrieve(TENANT, thread_id, run_id)
    assert run.status == "failed"
    assert run.last_error == {"code": "server_error", "message": INTERRUPTED.format(attempts=2)}
    assert all(m.status != "in_progress" for m in await _replies(container, thread_id, run_id))
    await container.messages.create(TENANT, thread_id, {"role": "user", "content": "again"})  # thread released


async def test_cancel_of_a_run_whose_executor_is_gone_ends_it_at_once(clock: FakeClock) -> None:
    container = _container(clock)
    thread_id, run_id = await _queued_run(container)
    await _crash_mid_turn(container, thread_id, run_id)
    clock.advance(LEASE + 1)
    await container.run_control.cancel(TENANT, thread_id, run_id)
    run = await container.runs.retrieve(TENANT, thread_id, run_id)
    assert run.status == "cancelled"
    [partial] = await _replies(container, thread_id, run_id)
    assert partial.status == "incomplete"


async def test_a_cancelling_run_whose_executor_died_ends_cancelled_when_read(clock: FakeClock) -> None:
    container = _container(clock)
    thread_id, run_id = await _queued_run(container)
    await _crash_mid_turn(container, thread_id, run_id)
    assert (await container.run_control.cancel(TENANT, thread_id, run_id)).status == "cancelling"  # owner alive
    clock.advance(LEASE + 1)
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "cancelled"


async def test_a_store_outage_during_a_run_is_not_a_cancel(clock: FakeClock) -> None:
    store = FaultyStore()
    container = _container(clock, store=store, gateway=_SlowGateway())
    thread_id, run_id = await _queued_run(container)
    execution = asyncio.create_task(container.executor.execute(TENANT, thread_id, run_id))
    await asyncio.sleep(0.15)
    store.down = True  # the watcher's reads and the turn's writes fail for a while
    await asyncio.sleep(0.6)
    store.down = False
    run = await asyncio.wait_for(execution, 10)
    assert store.failed_calls > 0
    assert run is not None and run.status == "completed"
    assert [m.status for m in await _replies(container, thread_id, run_id)] == ["completed"]


async def test_an_outage_longer_than_the_lease_leaves_the_run_to_take_over(clock: FakeClock) -> None:
    store = FaultyStore()
    container = _container(clock, store=store, gateway=_SlowGateway())
    thread_id, run_id = await _queued_run(container)
    execution = asyncio.create_task(container.executor.execute(TENANT, thread_id, run_id))
    await asyncio.sleep(0.05)
    store.down = True
    clock.advance(LEASE + 1)  # the outage outlasts the lease: the executor gives the run up, writing nothing
    assert await asyncio.wait_for(execution, 10) is None
    store.down = False
    await container.runs.retrieve(TENANT, thread_id, run_id)
    await container.run_queue.drain()
    run = await container.runs.retrieve(TENANT, thread_id, run_id)
    assert run.status == "completed"
    assert [m.status for m in await _replies(container, thread_id, run_id)] == ["completed"]


async def test_the_executor_finishes_when_store_calls_swallow_cancellation(clock: FakeClock) -> None:
    """The lost-cancel pattern: the watcher must stop by being told, not by being cancelled inside a store call."""
    store = FaultyStore()
    store.swallow_cancel = True
    container = _container(clock, store=store, gateway=_SlowGateway())
    for _ in range(5):
        thread_id, run_id = await _queued_run(container)
        run = await asyncio.wait_for(container.executor.execute(TENANT, thread_id, run_id), 10)
        assert run is not None and run.status == "completed"


async def test_a_silent_upstream_fails_the_run_and_frees_the_thread(clock: FakeClock) -> None:
    container = _container(clock, gateway=SilentGateway(), upstream_idle_timeout_seconds=0.3)
    thread_id, run_id = await _queued_run(container)
    run = await asyncio.wait_for(container.executor.execute(TENANT, thread_id, run_id), 5)
    assert run is not None and run.status == "failed"
    assert run.last_error is not None and run.last_error["code"] == "server_error"
    [partial] = await _replies(container, thread_id, run_id)
    assert partial.status == "incomplete" and partial.text() == "Partial answer"[: len("Partial answer") // 2]
    await container.messages.create(TENANT, thread_id, {"role": "user", "content": "again"})


async def test_a_metadata_change_during_a_run_does_not_stall_its_outcome(clock: FakeClock) -> None:
    container = _container(clock, gateway=_SlowGateway())
    thread_id, run_id = await _queued_run(container)
    execution = asyncio.create_task(container.executor.execute(TENANT, thread_id, run_id))
    await asyncio.sleep(0.1)
    await container.runs.update(TENANT, thread_id, run_id, {"reviewed": "yes"})
    run = await asyncio.wait_for(execution, 5)
    assert run is not None and run.status == "completed" and run.metadata == {"reviewed": "yes"}


class _SlowGateway(ScriptedGateway):
    """A normal answer, streamed over about a third of a second."""

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        self.requests.append(request)
        for event in text_events("default answer"):
            await asyncio.sleep(0.05)
            yield event


@pytest.fixture(autouse=True)
def _fast_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beat often, so the watcher meets the injected faults within the short runs above."""
    from core.services import run_executor

    original = run_executor.RunExecutor.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["beat_seconds"] = 0.05
        original(self, *args, **kwargs)

    monkeypatch.setattr(run_executor.RunExecutor, "__init__", init)


async def test_a_streamed_claim_from_the_run_as_created_skips_the_read_but_not_a_change(clock: FakeClock) -> None:
    """A streamed create hands the executor the run it just stored; if anything changed it since (here a cancel),
    the conditional claim fails, the run is read again, and the change stands."""
    container = _container(clock)
    thread_id, run_id = await _queued_run(container)
    as_created = await container.runs.retrieve(TENANT, thread_id, run_id)
    await container.run_control.cancel(TENANT, thread_id, run_id)
    assert await container.executor.execute(TENANT, thread_id, run_id, known=as_created) is None  # not claimed
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "cancelled"
    assert await _replies(container, thread_id, run_id) == []

    thread_id, run_id = await _queued_run(container)
    as_created = await container.runs.retrieve(TENANT, thread_id, run_id)
    finished = await container.executor.execute(TENANT, thread_id, run_id, known=as_created)
    assert finished is not None and finished.status == "completed"
    assert as_created.status == "queued"  # the caller's copy is not the one claimed
