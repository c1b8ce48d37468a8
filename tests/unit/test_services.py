"""Service-layer behaviour over the in-memory store: claims, expiry, cancel races, tool outputs."""

from __future__ import annotations

import asyncio

import pytest

from core.bootstrap import Container
from core.domain.errors import InvalidRequestError, NotFoundError, UpstreamError
from core.domain.pagination import ListQuery
from core.domain.run_status import can_transition
from tests.fakes import FakeClock, ScriptedGateway, text_events

TENANT = "tenant-a"


async def _thread_with_run(container: Container) -> tuple[str, str, str]:
    assistant = await container.assistants.create(TENANT, {"model": "gpt-4o-mini"})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    return assistant.id, thread.id, run.id


def test_status_machine_refuses_illegal_moves() -> None:
    assert can_transition("queued", "in_progress")
    assert can_transition("requires_action", "queued")
    assert not can_transition("completed", "in_progress")
    assert not can_transition("in_progress", "queued")
    assert not can_transition("cancelled", "cancelling")


async def test_other_tenants_get_not_found(container: Container) -> None:
    assistant = await container.assistants.create(TENANT, {"model": "m"})
    with pytest.raises(NotFoundError):
        await container.assistants.retrieve("tenant-b", assistant.id)
    thread = await container.threads.create(TENANT)
    with pytest.raises(NotFoundError):
        await container.messages.list("tenant-b", thread.id, ListQuery())


async def test_one_active_run_per_thread_and_no_messages_meanwhile(container: Container) -> None:
    assistant_id, thread_id, run_id = await _thread_with_run(container)
    with pytest.raises(InvalidRequestError, match="already has an active run"):
        await container.runs.create(TENANT, thread_id, {"assistant_id": assistant_id})
    with pytest.raises(InvalidRequestError, match="while a run"):
        await container.messages.create(TENANT, thread_id, {"role": "user", "content": "more"})
    await container.executor.execute(TENANT, thread_id, run_id)
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "completed"
    await container.messages.create(TENANT, thread_id, {"role": "user", "content": "more"})  # released


async def test_concurrent_run_creates_start_exactly_one(container: Container) -> None:
    assistant = await container.assistants.create(TENANT, {"model": "m"})
    thread = await container.threads.create(TENANT)
    results = await asyncio.gather(
        *(container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id}) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, Exception) for result in results) == 1
    assert all(isinstance(r, InvalidRequestError) for r in results if isinstance(r, Exception))


async def test_overdue_runs_expire_and_release_the_thread(container: Container, clock: FakeClock) -> None:
    assistant_id, thread_id, run_id = await _thread_with_run(container)
    clock.advance(601)
    run = await container.runs.retrieve(TENANT, thread_id, run_id)
    assert run.status == "expired" and run.expires_at is None
    await container.runs.create(TENANT, thread_id, {"assistant_id": assistant_id})


async def test_cancel_of_a_queued_run_finishes_at_once(container: Container) -> None:
    _, thread_id, run_id = await _thread_with_run(container)
    shown = await container.run_control.cancel(TENANT, thread_id, run_id)
    assert shown.status == "cancelling"
    assert (await container.runs.retrieve(TENANT, thread_id, run_id)).status == "cancelled"
    assert await container.executor.execute(TENANT, thread_id, run_id) is None  # nothing left to execute
    with pytest.raises(InvalidRequestError, match="Cannot cancel run with status 'cancelled'"):
        await container.run_control.cancel(TENANT, thread_id, run_id)


async def test_failed_upstream_fails_the_run_without_a_partial_message(
    container: Container, gateway: ScriptedGateway
) -> None:
    gateway.script.append(UpstreamError("boom", code="server_error", status=500))
    _, thread_id, run_id = await _thread_with_run(container)
    run = await container.executor.execute(TENANT, thread_id, run_id)
    assert run is not None and run.status == "failed"
    assert run.last_error == {"code": "server_error", "message": "boom"}
    page = await container.messages.list(TENANT, thread_id, ListQuery())
    assert [message.role for message in page.data] == ["user"]


async def test_incomplete_answer_marks_message_and_run(container: Container, gateway: ScriptedGateway) -> None:
    gateway.script.append(text_events("partial", status="incomplete"))
    _, thread_id, run_id = await _thread_with_run(container)
    run = await container.executor.execute(TENANT, thread_id, run_id)
    assert run is not None and run.status == "incomplete"
    assert run.incomplete_details == {"reason": "max_completion_tokens"}
    reply = (await container.messages.list(TENANT, thread_id, ListQuery(), run_id=run_id)).data[0]
    assert reply.status == "incomplete" and reply.incomplete_details == {"reason": "max_tokens"}
    assert reply.text() == "partial"


async def test_a_redelivered_job_does_not_write_a_second_reply(container: Container) -> None:
    _, thread_id, run_id = await _thread_with_run(container)
    first, second = await asyncio.gather(container.executor.execute(TENANT, thread_id, run_id),
                                         container.executor.execute(TENANT, thread_id, run_id))
    assert [first is None, second is None].count(True) == 1
    replies = (await container.messages.list(TENANT, thread_id, ListQuery(), run_id=run_id)).data
    assert len(replies) == 1


async def test_a_run_without_a_configured_upstream_fails_clearly_and_sends_nothing(clock: FakeClock) -> None:
    from core.adapters.memory.store import MemoryStore
    from core.bootstrap import build
    from core.config import Settings

    container = build(Settings(), store=MemoryStore(), clock=clock)  # the real gateway, nothing configured
    _, thread_id, run_id = await _thread_with_run(container)
    run = await container.executor.execute(TENANT, thread_id, run_id)
    assert run is not None and run.status == "failed"
    assert run.last_error is not None and "OPENAI_API_KEY" in run.last_error["message"]


async def test_a_cancel_during_an_in_flight_write_still_settles_the_run(clock: FakeClock) -> None:
    """The cancel aborts the turn while it is storing the new message; the outcome must still land."""
    from collections.abc import Sequence

    from core.adapters.memory.store import MemoryStore
    from core.bootstrap import build
    from core.config import Settings
    from core.ports.store import Create, Partition, Write

    class SlowCreates(MemoryStore):
        async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
            if any(isinstance(w, Create) and w.body.get("doc_type") == "message" for w in writes):
                await asyncio.sleep(0.2)
            return await super().commit(partition, writes)

    gateway = ScriptedGateway()
    container = build(Settings(), store=SlowCreates(), clock=clock, gateway=gateway)
    _, thread_id, run_id = await _thread_with_run(container)
    execution = asyncio.create_task(container.executor.execute(TENANT, thread_id, run_id))
    await asyncio.sleep(0.05)  # the turn is now inside the slow write of its message
    await container.run_control.cancel(TENANT, thread_id, run_id)
    run = await asyncio.wait_for(execution, 5)
    assert run is not None and run.status == "cancelled"
    [reply] = (await container.messages.list(TENANT, thread_id, ListQuery(), run_id=run_id)).data
    assert reply.status == "incomplete" and reply.incomplete_details == {"reason": "run_cancelled"}
    [step] = (await container.steps.list(TENANT, thread_id, run_id, ListQuery())).data
    assert step.status == "cancelled"
