"""Processes that die mid-run: the service executing background runs (in-process queue), and a storage-queue worker.

What the user must see: after the dead process is replaced, every interrupted run is taken over and re-executed, so
it ends ``completed`` with exactly one reply (its half-written message replaced, not duplicated), no message is left
``in_progress``, and each thread takes a new run, all within RECOVERY_SECONDS of the replacement being up. A cancel of
a run whose executor is gone ends it ``cancelled`` at once instead of leaving it ``cancelling``.
"""

from __future__ import annotations

import time

import openai
import pytest

from tests.fake_responses import DEFAULT_TEXT, FakeResponsesServer, split_text
from tests.faults.support import (
    CANCEL_SECONDS,
    MAX_ATTEMPTS,
    RECOVERY_SECONDS,
    ServiceProcess,
    WorkerFactory,
    assert_no_in_progress_message,
    assert_one_reply,
    assert_recovered,
    assert_takes_new_run,
    retrying,
    wait_for_terminal,
)

pytestmark = [pytest.mark.faults, pytest.mark.redis]

REPLY = DEFAULT_TEXT  # what every call answers, the interrupted one and its re-execution alike
# A first call that streams for ~4.5 s (16 frames 0.3 s apart); the process dies after its first deltas.
SLOW = {"chunks": split_text(REPLY, 8), "chunk_delay": 0.3}
INTO_THE_STREAM_SECONDS = 1.5  # past the first delta (frame 4) and the message it creates


def _thread(client: openai.OpenAI) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": "Tell me something."}]).id


def test_service_killed_mid_background_runs_is_taken_over_after_restart(
        service: ServiceProcess, client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """Three background runs on three threads are streaming from the upstream when the service gets SIGKILL; once it
    is restarted each is re-executed and completes with one reply."""
    for _ in range(3):
        fake.reply_text(REPLY, **SLOW)  # the re-executions get the fake's default reply at once: REPLY
    threads = [_thread(client) for _ in range(3)]
    runs = [client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id for thread_id in threads]
    assert fake.wait_for_requests(3, timeout=15), "the runs never called the upstream"
    time.sleep(INTO_THE_STREAM_SECONDS)
    service.kill()
    service.restart()
    ended = time.monotonic()
    for thread_id, run_id in zip(threads, runs, strict=True):
        assert_recovered(client, thread_id, run_id, assistant_id, ended, expected_text=REPLY)
    assert len(fake.requests) >= 3 + 3 + 3, "each interrupted turn is called again, then each new run"


def test_a_run_whose_executor_keeps_dying_fails_after_max_attempts(
        service: ServiceProcess, client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """The service is SIGKILLed during each of the RUN_MAX_ATTEMPTS executions of a background run's turn (the first
    and each take-over); after the last restart the run is not executed again but ends ``failed`` (server_error)."""
    for _ in range(MAX_ATTEMPTS):
        fake.reply_text(REPLY, **SLOW)  # a further execution would get the instant default reply and complete
    thread_id = _thread(client)
    run_id = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert fake.wait_for_requests(attempt, timeout=RECOVERY_SECONDS), (
            f"execution {attempt} of the turn never called the upstream")
        time.sleep(INTO_THE_STREAM_SECONDS)
        service.kill()
        service.restart()
    ended = time.monotonic()
    run = assert_recovered(client, thread_id, run_id, assistant_id, ended, allowed=frozenset({"failed"}))
    assert run.last_error is not None and run.last_error.code == "server_error", run.last_error
    assert len(fake.requests) == MAX_ATTEMPTS + 1, "the turn is executed RUN_MAX_ATTEMPTS times, then the new run"


def test_cancel_after_the_owner_was_killed_ends_cancelled_at_once(
        service: ServiceProcess, client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """The service dies while a background run streams; on the restarted service the user cancels it: the cancel
    answer or the reads right after it show ``cancelled`` (not ``cancelling`` until expiry)."""
    for _ in range(4):  # slow enough that neither the first call nor a take-over finishes before the cancel
        fake.reply_text(REPLY, chunks=split_text(REPLY, 8), chunk_delay=0.6)
    thread_id = _thread(client)
    run_id = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id
    assert fake.wait_for_requests(1, timeout=15), "the run never called the upstream"
    time.sleep(INTO_THE_STREAM_SECONDS)
    service.kill()
    service.restart()
    ended = time.monotonic()
    cancelled = retrying(lambda: client.beta.threads.runs.cancel(run_id, thread_id=thread_id),
                         ended + RECOVERY_SECONDS, "cancelling the run")
    asked = time.monotonic()
    assert cancelled.status in ("cancelling", "cancelled"), f"the cancel answered {cancelled.status}"
    final = cancelled
    if final.status != "cancelled":
        final = wait_for_terminal(client, thread_id, run_id, asked + CANCEL_SECONDS, "the cancelled run")
    assert final.status == "cancelled", f"a cancelled run ended {final.status}"
    deadline = ended + RECOVERY_SECONDS
    assert_one_reply(client, thread_id, final, max(deadline, time.monotonic() + 5))
    assert_no_in_progress_message(client, thread_id, max(deadline, time.monotonic() + 5))
    fake.reset()  # the next run gets the fake's instant default reply
    assert_takes_new_run(client, thread_id, assistant_id, deadline)
    final = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    assert final.status == "cancelled", f"the cancelled run later became {final.status}"


def test_queue_worker_killed_mid_run_is_redelivered(
        storage_service: ServiceProcess, make_worker: WorkerFactory, fake: FakeResponsesServer) -> None:
    """RUN_QUEUE=storage: the worker executing a background run gets SIGKILL mid-stream; a new worker starts. The job
    comes back (its visibility lapses; or the service's sweep acts) and the run completes with one reply."""
    worker = make_worker()
    fake.reply_text(REPLY, **SLOW)
    with storage_service.client() as client:
        assistant_id = client.beta.assistants.create(model="gpt-4o-mini").id
        thread_id = _thread(client)
        run_id = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id
        assert fake.wait_for_requests(1, timeout=20), "no worker called the upstream"
        time.sleep(INTO_THE_STREAM_SECONDS)
        first = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert first.status == "in_progress", f"the run should be executing when the worker dies: {first.status}"
        worker.kill()
        make_worker()  # a new worker process, as the host starts on another instance
        ended = time.monotonic()
        assert_recovered(client, thread_id, run_id, assistant_id, ended, expected_text=REPLY)
