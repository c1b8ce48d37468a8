"""The queue-triggered functions as the Functions host calls them: a job is executed, retried or dropped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.functions.queue import QueueMessage

from core import bootstrap
from core.adapters.memory.store import MemoryStore
from core.bootstrap import Container
from core.config import Settings
from core.http.blueprints.jobs import RunStillLeased, runs_execute, runs_poisoned
from core.ports.run_queue import RunJob
from tests.fakes import FakeClock, ScriptedGateway

TENANT = "tenant-a"


@pytest.fixture
def container(clock: FakeClock) -> Iterator[Container]:
    built = bootstrap.build(Settings(run_lease_seconds=3), store=MemoryStore(), clock=clock,
                            gateway=ScriptedGateway())
    bootstrap.override(built)
    yield built
    bootstrap.reset()


async def _queued(container: Container) -> RunJob:
    assistant = await container.assistants.create(TENANT, {"model": "m"})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    return RunJob(TENANT, thread.id, run.id)


def _message(job: RunJob, dequeue_count: int = 1) -> QueueMessage:
    """The message type the worker hands a queue trigger (the public azure.functions.QueueMessage has no count)."""
    return QueueMessage(id="m1", body=job.to_json().encode(), dequeue_count=dequeue_count)


async def test_a_job_executes_its_run_and_a_duplicate_does_nothing(container: Container) -> None:
    job = await _queued(container)
    await runs_execute(_message(job))
    await runs_execute(_message(job, dequeue_count=2))
    assert (await container.runs.retrieve(TENANT, job.thread_id, job.run_id)).status == "completed"


async def test_a_job_for_a_deleted_thread_returns_quietly(container: Container) -> None:
    await runs_execute(_message(RunJob(TENANT, "thread_gone", "run_gone"), dequeue_count=3))


async def test_a_redelivered_job_of_a_run_still_leased_is_retried_until_the_lease_lapses(
        container: Container, clock: FakeClock) -> None:
    job = await _queued(container)
    assert await container.lifecycle.claim(TENANT, job.thread_id, job.run_id, owner="dead-worker") is not None
    await runs_execute(_message(job))  # a first delivery of a duplicate job: nothing to do, nothing to retry
    with pytest.raises(RunStillLeased):
        await runs_execute(_message(job, dequeue_count=2))
    clock.advance(4)
    await runs_execute(_message(job, dequeue_count=3))  # the lease lapsed: this delivery takes the run over
    assert (await container.runs.retrieve(TENANT, job.thread_id, job.run_id)).status == "completed"


async def test_a_poisoned_job_fails_its_queued_run(container: Container) -> None:
    job = await _queued(container)
    await runs_poisoned(_message(job, dequeue_count=5))
    run = await container.runs.retrieve(TENANT, job.thread_id, job.run_id)
    assert run.status == "failed" and run.last_error is not None and run.last_error["code"] == "server_error"
    await container.messages.create(TENANT, job.thread_id, {"role": "user", "content": "again"})  # thread free
