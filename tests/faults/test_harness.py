"""The harness itself, on the happy path: a fault test that fails must fail because of the engine, not the harness.

A streamed and a background run through the service subprocess complete; the queue worker executes a background run
of ``RUN_QUEUE=storage``; Redis keeps its data across ``kill -9`` (the append-only file the outage tests rely on).
"""

from __future__ import annotations

import time

import openai
import pytest

from tests.fake_responses import FakeResponsesServer
from tests.faults.support import (
    NEW_RUN_SECONDS,
    RedisProcess,
    ServiceProcess,
    StreamedRun,
    WorkerFactory,
    assert_no_in_progress_message,
    assert_one_reply,
    assert_takes_new_run,
    wait_for_terminal,
)

pytestmark = [pytest.mark.faults, pytest.mark.redis]

REPLY = "All is well."


def test_a_streamed_run_completes(client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_text(REPLY)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    streamed = StreamedRun(client, thread.id, assistant_id).start()
    deadline = time.monotonic() + NEW_RUN_SECONDS
    assert streamed.ended.wait(NEW_RUN_SECONDS), f"stream did not end: {streamed.events}"
    assert streamed.error is None, repr(streamed.error)
    assert streamed.events[-1] == "thread.run.completed" and streamed.text == REPLY
    run = wait_for_terminal(client, thread.id, streamed.find_run_id(deadline), deadline)
    assert run.status == "completed"
    streamed.assert_ended_consistently(run, deadline)
    assert_one_reply(client, thread.id, run, deadline, REPLY)
    assert_no_in_progress_message(client, thread.id, deadline)


def test_a_background_run_completes_and_the_thread_takes_another(
        client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_text(REPLY, chunk_delay=0.05)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant_id)
    deadline = time.monotonic() + NEW_RUN_SECONDS
    run = wait_for_terminal(client, thread.id, run.id, deadline)
    assert run.status == "completed"
    assert_one_reply(client, thread.id, run, deadline, REPLY)
    assert_takes_new_run(client, thread.id, assistant_id, deadline)
    assert_no_in_progress_message(client, thread.id, deadline)


def test_the_queue_worker_executes_a_background_run(
        storage_service: ServiceProcess, make_worker: WorkerFactory, fake: FakeResponsesServer) -> None:
    make_worker()
    fake.reply_text(REPLY)
    with storage_service.client() as client:
        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        deadline = time.monotonic() + NEW_RUN_SECONDS
        run = wait_for_terminal(client, thread.id, run.id, deadline)
        assert run.status == "completed"
        assert_one_reply(client, thread.id, run, deadline, REPLY)
        assert_takes_new_run(client, thread.id, assistant.id, deadline)


def test_redis_keeps_its_data_across_kill_9(
        client: openai.OpenAI, redis_process: RedisProcess, assistant_id: str) -> None:
    redis_process.kill()
    with pytest.raises((openai.APIStatusError, openai.APIConnectionError)) as refused:
        client.beta.assistants.retrieve(assistant_id)
    if isinstance(refused.value, openai.APIStatusError):
        assert refused.value.status_code == 503
    redis_process.restart()
    deadline = time.monotonic() + 10
    while True:
        try:
            assert client.beta.assistants.retrieve(assistant_id).id == assistant_id
            break
        except (openai.APIStatusError, openai.APIConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_service_restarts_on_the_same_port(service: ServiceProcess, client: openai.OpenAI, assistant_id: str) -> None:
    service.kill()
    assert not service.running
    service.restart()
    assert client.beta.assistants.retrieve(assistant_id).id == assistant_id
