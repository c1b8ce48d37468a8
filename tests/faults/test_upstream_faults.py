"""Upstream faults: a model stream that goes silent, and an upstream whose error text echoes the service's key.

What the user must see: a silent stream fails the run with ``server_error`` within the idle timeout (+ slack), leaves
no message ``in_progress`` and frees the thread; an upstream error never shows the upstream key (or any ``Bearer sk-``
text) in ``last_error``, in a streamed event, or in the service's logs.
"""

from __future__ import annotations

import time

import openai
import pytest

from tests.fake_responses import FakeResponsesServer
from tests.faults.support import (
    HANG_SECONDS,
    NEW_RUN_SECONDS,
    UPSTREAM_KEY,
    ServiceProcess,
    StreamedRun,
    assert_no_in_progress_message,
    assert_one_reply,
    assert_takes_new_run,
    wait_for_terminal,
)

pytestmark = [pytest.mark.faults, pytest.mark.redis]

PARTIAL = "The answer is"
ECHO = f"Invalid request. Received headers: Authorization: Bearer {UPSTREAM_KEY}; api-key: {UPSTREAM_KEY}"


def _thread(client: openai.OpenAI) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": "Tell me something."}]).id


@pytest.mark.parametrize("mode", ["stream", "background"])
def test_upstream_that_hangs_fails_the_run_and_frees_the_thread(
        mode: str, client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """The upstream streams some text, then nothing for 60 s (UPSTREAM_TIMEOUT_SECONDS is 60 too)."""
    fake.hang_stream(PARTIAL, seconds=60)
    thread_id = _thread(client)
    streamed: StreamedRun | None = None
    if mode == "stream":
        streamed = StreamedRun(client, thread_id, assistant_id).start()
        streamed.wait_for_delta(15)
    else:
        run_id = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id
        assert fake.wait_for_requests(1, timeout=15), "the run never called the upstream"
    stalled = time.monotonic()  # the fake sends its deltas at once, then stalls
    deadline = stalled + HANG_SECONDS
    if streamed is not None:
        run_id = streamed.find_run_id(deadline)
    run = wait_for_terminal(client, thread_id, run_id, deadline)
    assert run.status == "failed", f"a stalled upstream should fail the run, it is {run.status}"
    assert run.last_error is not None and run.last_error.code == "server_error", run.last_error
    if streamed is not None:
        streamed.assert_ended_consistently(run, deadline + 2)
    checks = time.monotonic() + 5
    assert_one_reply(client, thread_id, run, checks)
    assert_no_in_progress_message(client, thread_id, checks)
    assert_takes_new_run(client, thread_id, assistant_id, time.monotonic() + 5)


@pytest.mark.parametrize("where", ["http-400", "stream-error"])
def test_upstream_error_echoing_the_key_is_redacted(
        where: str, service: ServiceProcess, client: openai.OpenAI, fake: FakeResponsesServer,
        assistant_id: str) -> None:
    """The upstream answers 400 (background run), or sends an ``error`` event mid-stream (streamed run), whose
    message quotes the request's Authorization header."""
    thread_id = _thread(client)
    deadline = time.monotonic() + NEW_RUN_SECONDS
    shown: list[str] = []
    if where == "http-400":
        fake.reply_http_error(400, message=ECHO)
        run_id = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id).id
    else:
        fake.reply_stream_error("server_error", ECHO, text=PARTIAL)
        streamed = StreamedRun(client, thread_id, assistant_id).start()
        assert streamed.ended.wait(NEW_RUN_SECONDS), f"the stream did not end: {streamed.events}"
        run_id = streamed.find_run_id(deadline)
        shown += streamed.payloads
        if streamed.error is not None:
            shown.append(str(streamed.error))
    run = wait_for_terminal(client, thread_id, run_id, deadline)
    assert run.status == "failed", f"the run should fail on the upstream error, it is {run.status}"
    assert run.last_error is not None
    shown.append(run.last_error.message)
    shown.append(client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).model_dump_json())
    shown += [step.model_dump_json() for step in client.beta.threads.runs.steps.list(run_id, thread_id=thread_id)]
    leaks = [text for text in shown if UPSTREAM_KEY in text or "Bearer sk-" in text or UPSTREAM_KEY[-12:] in text]
    assert not leaks, f"the upstream key reached the client: {leaks}"
    assert UPSTREAM_KEY[-12:] not in service.log_text(), "the upstream key reached the service's log"
    assert_no_in_progress_message(client, thread_id, time.monotonic() + 5)
    assert_takes_new_run(client, thread_id, assistant_id, time.monotonic() + 5)
