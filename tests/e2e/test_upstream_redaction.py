"""Upstream error text that echoes the service's upstream key reaches clients with the key redacted.

An upstream or a gateway in front of it may copy the request's Authorization header into an error body or a stream
``error`` event; the run's ``last_error.message`` (and its step's) must keep the explanation but not the key, polled
or streamed. The e2e service's upstream key is ``sk-upstream-fake`` (conftest ``_settings``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import openai
import pytest
from openai.types.beta.threads import Run

from core.domain.redaction import REDACTED
from tests.fake_responses import FakeResponsesServer

UPSTREAM_KEY = "sk-upstream-fake"
ECHO = f"Incorrect header: Authorization: Bearer {UPSTREAM_KEY}"


@dataclass(frozen=True)
class Leak:
    """A scripted upstream failure whose message carries the key, and what the client must read instead."""

    script: Callable[[FakeResponsesServer], object]
    kept: str  # the part of the upstream message that still reaches the client


LEAKS: dict[str, Leak] = {
    # An HTTP 400 before any SSE byte: the gateway's "refused the request" path.
    "http_400": Leak(lambda fake: fake.reply_http_error(400, message=ECHO), "Incorrect header: Authorization: Bearer"),
    # The documented flat stream `error` event, after some text.
    "stream_error_event": Leak(
        lambda fake: fake.reply_stream_error(message=f"Upstream proxy rejected api-key {UPSTREAM_KEY} (expired)."),
        "Upstream proxy rejected api-key"),
    # The live API's nested form, which the SDK raises as an APIError.
    "stream_error_nested": Leak(
        lambda fake: fake.reply_stream_error(message=ECHO, nested=True), "Incorrect header: Authorization: Bearer"),
    # A `response.failed` whose error message echoes the header.
    "response_failed": Leak(lambda fake: fake.reply_failed(code="server_error", message=ECHO),
                            "Incorrect header: Authorization: Bearer"),
}


def _thread(sdk: openai.OpenAI) -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]).id


def _assert_redacted(message: str, leak: Leak) -> None:
    assert UPSTREAM_KEY not in message
    assert "Bearer sk-" not in message and "sk-upstream" not in message
    assert leak.kept in message  # still tells the developer what the upstream objected to
    assert REDACTED in message


def _check_stored(sdk: openai.OpenAI, thread_id: str, run: Run, leak: Leak) -> None:
    assert run.status == "failed"
    assert run.last_error is not None
    _assert_redacted(run.last_error.message, leak)
    for step in sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data:
        if step.last_error is not None:
            _assert_redacted(step.last_error.message, leak)
    raw = sdk.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread_id).http_response.text
    assert UPSTREAM_KEY not in raw


@pytest.mark.parametrize("name", list(LEAKS))
def test_polled_run_reports_the_upstream_error_without_the_key(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                                 assistant_id: str, name: str) -> None:
    leak = LEAKS[name]
    leak.script(fake)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    _check_stored(sdk, thread_id, run, leak)


@pytest.mark.parametrize("name", list(LEAKS))
def test_streamed_run_reports_the_upstream_error_without_the_key(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                                   assistant_id: str, name: str) -> None:
    leak = LEAKS[name]
    leak.script(fake)
    thread_id = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True))
    assert events[-1].event == "thread.run.failed"
    for event in events:  # no frame of the stream carries the key either
        assert UPSTREAM_KEY not in event.data.model_dump_json()
    final = events[-1].data
    assert isinstance(final, Run)
    assert final.last_error is not None
    _assert_redacted(final.last_error.message, leak)
    _check_stored(sdk, thread_id, sdk.beta.threads.runs.retrieve(final.id, thread_id=thread_id), leak)
