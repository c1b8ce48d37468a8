"""The life of a run through the real SDK: one active run per thread, cancel in every state, list/retrieve/update,
steps, tenancy, thread deletion, and clients that go away mid-stream (assistants-on-responses.md §1.2, §3.4,
§4.12, §5.4)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.threads import Message, Run

from tests.e2e.wire import assert_wire_shape
from tests.fake_responses import FakeResponsesServer

T = TypeVar("T")
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete", "requires_action"}


def _thread(sdk: openai.OpenAI, text: str = "Hello") -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": text}]).id


def _wait(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Call ``probe`` every 20 ms until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _settled(sdk: openai.OpenAI, thread_id: str, run_id: str, timeout: float = 15.0) -> Run:
    """Poll like `runs.poll`, but give up after ``timeout`` instead of spinning forever on `cancelling`."""
    def probe() -> Run | None:
        run = sdk.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        return run if run.status in TERMINAL else None

    return _wait(probe, timeout, f"run {run_id} to settle")


def _open_message(sdk: openai.OpenAI, thread_id: str) -> Message:
    """The run's assistant message, once it exists. (Streamed text reaches the store when the call ends, so a
    short pause lets the fake's deltas, sent at once before it stalls, reach the service.)"""
    def probe() -> Message | None:
        for message in sdk.beta.threads.messages.list(thread_id, limit=1):
            if message.role == "assistant":
                return message
        return None

    message = _wait(probe, what="the run's message")
    time.sleep(0.2)
    return message


@pytest.fixture
def hanging_run(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> Iterator[tuple[str, Run]]:
    """A background run whose upstream streamed "Partial answer" and then stalls; cancelled afterwards."""
    fake.hang_stream("Partial answer", seconds=10)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    assert run.status == "queued"
    assert fake.wait_for_requests(1)
    yield thread_id, run
    current = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    if current.status in ("queued", "in_progress", "requires_action"):
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
        _settled(sdk, thread_id, run.id)


# -- one active run per thread -----------------------------------------------------------------------------------------

def test_an_active_run_blocks_runs_messages_and_deletion(sdk: openai.OpenAI, assistant_id: str,
                                                         hanging_run: tuple[str, Run]) -> None:
    thread_id, run = hanging_run
    with pytest.raises(openai.BadRequestError) as second:
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    assert "already has an active run" in second.value.message
    assert second.value.body["message"] == f"Thread {thread_id} already has an active run {run.id}."  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True)
    with pytest.raises(openai.BadRequestError):  # refused as a whole: its messages are not added either
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id,
                                     additional_messages=[{"role": "user", "content": "Sneaky"}])
    assert [m.role for m in sdk.beta.threads.messages.list(thread_id)] in (["user"], ["assistant", "user"])
    with pytest.raises(openai.BadRequestError) as message:
        sdk.beta.threads.messages.create(thread_id, role="user", content="Are you there?")
    assert message.value.body["message"] == (  # type: ignore[index]
        f"Can't add messages to {thread_id} while a run {run.id} is active.")
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.delete(thread_id)
    assert [r.id for r in sdk.beta.threads.runs.list(thread_id)] == [run.id]
    assert sdk.beta.threads.retrieve(thread_id).id == thread_id


def test_concurrent_creates_start_one_run(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """Runs created at the same moment on one thread: exactly one wins, the others get the 400."""
    for _ in range(4):
        fake.hang_stream("Racing", seconds=10)
    thread_id = _thread(sdk)

    def create() -> Run | openai.BadRequestError:
        try:
            return sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
        except openai.BadRequestError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: create(), range(4)))
    started = [result for result in results if isinstance(result, Run)]
    refused = [result for result in results if isinstance(result, openai.BadRequestError)]
    assert len(started) == 1 and len(refused) == 3
    assert all("already has an active run" in error.message for error in refused)
    assert [r.id for r in sdk.beta.threads.runs.list(thread_id)] == [started[0].id]
    sdk.beta.threads.runs.cancel(started[0].id, thread_id=thread_id)
    assert _settled(sdk, thread_id, started[0].id).status == "cancelled"
    assert len(fake.requests) == 1


def test_active_run_blocks_a_streamed_second_run(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                 assistant_id: str) -> None:
    """The same refusal while the first run is itself being streamed to another client."""
    fake.hang_stream("Still thinking", seconds=10)
    thread_id = _thread(sdk)
    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                break
        run = stream.current_run
        assert run is not None
        with pytest.raises(openai.BadRequestError) as second:
            sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
        assert "already has an active run" in second.value.message
        cancelled = sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
        assert cancelled.status in ("cancelling", "cancelled")
        names = [event.event for event in stream]
    assert names[-1] == "thread.run.cancelled"
    assert _settled(sdk, thread_id, run.id).status == "cancelled"


# -- cancel ------------------------------------------------------------------------------------------------------------

def test_cancel_an_in_progress_run(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                   hanging_run: tuple[str, Run]) -> None:
    thread_id, run = hanging_run
    partial = _open_message(sdk, thread_id)
    assert partial.status == "in_progress"
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "in_progress"
    started = time.monotonic()
    cancelled = sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelled.status in ("cancelling", "cancelled") and cancelled.id == run.id
    final = _settled(sdk, thread_id, run.id, timeout=3)
    assert final.status == "cancelled" and time.monotonic() - started < 3
    assert final.cancelled_at is not None and final.expires_at is None and final.last_error is None
    assert fake.wait_for_disconnects(1, timeout=3)  # the upstream call was abandoned, not left running
    message = sdk.beta.threads.messages.retrieve(partial.id, thread_id=thread_id)
    assert message.status == "incomplete" and message.incomplete_details is not None
    assert message.incomplete_details.reason == "run_cancelled"
    assert message.content[0].text.value == "Partial answer"  # type: ignore[union-attr]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [(s.type, s.status) for s in steps] == [("message_creation", "cancelled")]
    assert steps[0].cancelled_at is not None
    # Cancelling again is refused now that the run is over, and the thread takes new work.
    with pytest.raises(openai.BadRequestError) as again:
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert again.value.body["message"] == "Cannot cancel run with status 'cancelled'."  # type: ignore[index]
    sdk.beta.threads.messages.create(thread_id, role="user", content="Never mind")


def test_cancel_with_the_poll_helper(sdk: openai.OpenAI, hanging_run: tuple[str, Run]) -> None:
    """`runs.poll` keeps polling while `cancelling`; the run must leave it promptly."""
    thread_id, run = hanging_run
    _open_message(sdk, thread_id)
    sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    started = time.monotonic()
    final = sdk.with_options(timeout=3).beta.threads.runs.poll(run.id, thread_id=thread_id, poll_interval_ms=50)
    assert final.status == "cancelled" and time.monotonic() - started < 3


def test_cancel_a_run_waiting_for_tool_outputs(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "function",
                                                                         "function": {"name": "lookup"}}])
    fake.reply_function_calls([("lookup", '{"q":"x"}')])
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "requires_action"
    with pytest.raises(openai.BadRequestError):  # requires_action still holds the thread
        sdk.beta.threads.messages.create(thread_id, role="user", content="Hurry up")
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.delete(thread_id)
    cancelled = sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelled.status in ("cancelling", "cancelled")
    final = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id)  # nothing in flight: at once
    assert final.status == "cancelled" and final.required_action is None and final.cancelled_at is not None
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "cancelled")]
    assert steps[0].step_details.tool_calls[0].function.output is None  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as late:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread_id,
                                                  tool_outputs=[{"tool_call_id": "call_x", "output": "y"}])
    assert late.value.body["message"] == 'Runs in status "cancelled" do not accept tool outputs.'  # type: ignore[index]
    assert len(fake.requests) == 1


def test_cancel_a_completed_run_is_refused(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.status == "completed"
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert refused.value.body["message"] == "Cannot cancel run with status 'completed'."  # type: ignore[index]
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "completed"


def test_cancel_while_streaming(sdk: openai.OpenAI, client: openai.OpenAI, fake: FakeResponsesServer,
                                assistant_id: str) -> None:
    fake.hang_stream("Half a thought", chunks=["Half", " a thought"], seconds=10)
    thread_id = _thread(sdk)
    names: list[str] = []
    cancel_answers: list[Run] = []
    done_messages: list[Message] = []

    class Handler(AssistantEventHandler):
        def on_event(self, event):  # type: ignore[no-untyped-def]
            names.append(event.event)

        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            run = self.current_run
            if not cancel_answers and run is not None and snapshot.value == "Half a thought":
                cancel_answers.append(client.beta.threads.runs.cancel(run.id, thread_id=thread_id))

        def on_message_done(self, message: Message) -> None:
            done_messages.append(message)

    started = time.monotonic()
    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id,
                                      event_handler=Handler()) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert time.monotonic() - started < 3
    assert cancel_answers and cancel_answers[0].status in ("cancelling", "cancelled")
    assert names[-4:] == ["thread.run.cancelling", "thread.message.incomplete", "thread.run.step.cancelled",
                          "thread.run.cancelled"]
    assert final.status == "cancelled" and final.cancelled_at is not None
    assert [(m.status, m.incomplete_details.reason) for m in done_messages] == [  # type: ignore[union-attr]
        ("incomplete", "run_cancelled")]
    assert done_messages[0].content[0].text.value == "Half a thought"  # type: ignore[union-attr]
    stored = sdk.beta.threads.messages.retrieve(done_messages[0].id, thread_id=thread_id)
    assert stored.status == "incomplete" and stored.content == done_messages[0].content
    assert sdk.beta.threads.runs.retrieve(final.id, thread_id=thread_id).status == "cancelled"
    assert fake.wait_for_disconnects(1, timeout=3)


# -- reading and updating runs -----------------------------------------------------------------------------------------

def test_list_retrieve_update_runs(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = _thread(sdk)
    ids = []
    for number in range(5):
        fake.reply_text(f"Answer {number}")
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                    poll_interval_ms=50, metadata={"n": str(number)})
        assert run.status == "completed"
        ids.append(run.id)
    newest_first = sdk.beta.threads.runs.list(thread_id)
    assert [r.id for r in newest_first.data] == ids[::-1] and newest_first.has_more is False
    page = sdk.beta.threads.runs.list(thread_id, limit=2, order="asc")
    assert [r.id for r in page.data] == ids[:2] and page.has_more is True
    assert [r.id for r in sdk.beta.threads.runs.list(thread_id, limit=2, order="asc")] == ids  # auto-pagination
    assert [r.id for r in sdk.beta.threads.runs.list(thread_id, limit=2)] == ids[::-1]
    after = sdk.beta.threads.runs.list(thread_id, order="asc", after=ids[1], limit=2)
    assert [r.id for r in after.data] == ids[2:4] and after.has_more is True
    before = sdk.beta.threads.runs.list(thread_id, order="asc", before=ids[3])
    assert [r.id for r in before.data] == ids[:3]
    raw = sdk.beta.threads.runs.with_raw_response.list(thread_id, limit=2)
    body = raw.http_response.json()
    assert_wire_shape("list", body)
    assert (body["first_id"], body["last_id"]) == (ids[4], ids[3])

    polled = sdk.beta.threads.runs.with_raw_response.retrieve(ids[2], thread_id=thread_id)
    assert int(polled.headers["openai-poll-after-ms"]) > 0  # the poll helpers' default interval
    retrieved = polled.parse()
    assert retrieved.id == ids[2] and retrieved.metadata == {"n": "2"} and retrieved.status == "completed"
    updated = sdk.beta.threads.runs.update(ids[2], thread_id=thread_id, metadata={"reviewed": "yes"})
    assert updated.metadata == {"n": "2", "reviewed": "yes"} and updated.status == "completed"  # keys merge
    assert sdk.beta.threads.runs.retrieve(ids[2], thread_id=thread_id).metadata == {"n": "2", "reviewed": "yes"}
    assert updated.model_dump(exclude={"metadata"}) == retrieved.model_dump(exclude={"metadata"})
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.beta.threads.runs.update(ids[2], thread_id=thread_id, metadata={"k" * 65: "v"})
    assert bad.value.param == "metadata"
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.retrieve("run_doesnotexist", thread_id=thread_id)
    other_thread = _thread(sdk)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.retrieve(ids[0], thread_id=other_thread)
    assert sdk.beta.threads.runs.list(other_thread).data == []


def test_steps_list_and_retrieve(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "function",
                                                                         "function": {"name": "lookup"}}])
    reply = fake.reply_function_calls([("lookup", "{}")])
    fake.reply_text("Found it.")
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=50)
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "it"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    raw = sdk.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=thread_id, order="asc")
    body = raw.http_response.json()
    assert_wire_shape("list", body)
    steps = raw.parse().data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert all(s.run_id == run.id and s.thread_id == thread_id and s.assistant_id == assistant.id for s in steps)
    assert all(s.status == "completed" and s.usage is not None for s in steps)
    assert sum(s.usage.total_tokens for s in steps) == run.usage.total_tokens  # type: ignore[union-attr]
    assert [s.id for s in sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id)] == [
        steps[1].id, steps[0].id]
    paged = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc", limit=1)
    assert paged.has_more is True and [s.id for s in paged] == [s.id for s in steps]
    for step in steps:
        one = sdk.beta.threads.runs.steps.with_raw_response.retrieve(step.id, thread_id=thread_id, run_id=run.id)
        assert_wire_shape("thread.run.step", one.http_response.json())
        assert one.parse() == step
    reply_message = sdk.beta.threads.messages.list(thread_id, limit=1).data[0]
    assert steps[1].step_details.message_creation.message_id == reply_message.id  # type: ignore[union-attr]
    included = sdk.beta.threads.runs.steps.list(
        run.id, thread_id=thread_id, include=["step_details.tool_calls[*].file_search.results[*].content"])
    assert len(included.data) == 2

    fake.reply_text("Another run.")
    other = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=50)
    with pytest.raises(openai.NotFoundError) as wrong_run:
        sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread_id, run_id=other.id)
    assert wrong_run.value.body["message"] == f"No run step found with id '{steps[0].id}'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.steps.retrieve("step_doesnotexist", thread_id=thread_id, run_id=run.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.steps.list("run_doesnotexist", thread_id=thread_id)
    assert [s.id for s in sdk.beta.threads.runs.steps.list(other.id, thread_id=thread_id)] != [s.id for s in steps]


def test_runs_and_steps_of_another_tenant_are_not_found(sdk: openai.OpenAI, other_client: openai.OpenAI,
                                                        fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    step = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data[0]
    runs = other_client.with_options(timeout=10).beta.threads.runs
    attempts: list[Callable[[], Any]] = [
        lambda: runs.retrieve(run.id, thread_id=thread_id),
        lambda: runs.list(thread_id),
        lambda: runs.update(run.id, thread_id=thread_id, metadata={"x": "y"}),
        lambda: runs.cancel(run.id, thread_id=thread_id),
        lambda: runs.submit_tool_outputs(run.id, thread_id=thread_id,
                                         tool_outputs=[{"tool_call_id": "call_x", "output": "y"}]),
        lambda: runs.steps.list(run.id, thread_id=thread_id),
        lambda: runs.steps.retrieve(step.id, thread_id=thread_id, run_id=run.id),
        lambda: runs.create(thread_id, assistant_id=assistant_id),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError):
            attempt()
    bob_assistant = other_client.beta.assistants.create(model="gpt-4o-mini")
    with pytest.raises(openai.NotFoundError):
        other_client.beta.threads.runs.create(thread_id, assistant_id=bob_assistant.id)
    with pytest.raises(openai.NotFoundError):  # nor may Alice run Bob's assistant
        sdk.beta.threads.runs.create(thread_id, assistant_id=bob_assistant.id)
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id).metadata == {}
    assert len(fake.requests) == 1


def test_thread_deletion_and_its_runs(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.hang_stream("Working", seconds=10)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.delete(thread_id)
    sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert _settled(sdk, thread_id, run.id).status == "cancelled"

    fake.reply_text("Done.")
    completed = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                      poll_interval_ms=50)
    assert completed.status == "completed"
    step = sdk.beta.threads.runs.steps.list(completed.id, thread_id=thread_id).data[0]
    deleted = sdk.beta.threads.delete(thread_id)
    assert deleted.deleted is True and deleted.id == thread_id
    for run_id in (run.id, completed.id):
        with pytest.raises(openai.NotFoundError):
            sdk.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.list(thread_id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.steps.retrieve(step.id, thread_id=thread_id, run_id=completed.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id)


# -- clients that go away ----------------------------------------------------------------------------------------------

def _leave_after_first_delta(sdk: openai.OpenAI, thread_id: str, assistant_id: str) -> str:
    """Start a streamed run, read until its first text delta, then close the connection; the run's id."""
    stream = sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True)
    run_id = None
    for event in stream:
        if event.event == "thread.run.created":
            run_id = event.data.id
        if event.event == "thread.message.delta":
            break
    stream.close()
    assert run_id is not None
    return run_id


def test_client_disconnect_mid_stream_does_not_stop_the_run(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                            assistant_id: str) -> None:
    text = "A long answer that keeps going after the client left."
    fake.reply_text(text, chunks=["A long", " answer that", " keeps going", " after the", " client left."],
                    chunk_delay=0.05)
    thread_id = _thread(sdk)
    run_id = _leave_after_first_delta(sdk, thread_id, assistant_id)
    final = _settled(sdk, thread_id, run_id)
    assert final.status == "completed" and final.usage is not None
    message = sdk.beta.threads.messages.list(thread_id, limit=1).data[0]
    assert message.status == "completed" and message.content[0].text.value == text  # type: ignore[union-attr]
    assert fake.disconnects == 0  # the upstream call was read to its end
    sdk.beta.threads.messages.create(thread_id, role="user", content="Thanks")  # and the thread is free


def test_client_disconnect_from_stream_helper(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                              assistant_id: str) -> None:
    fake.reply_text("Helper streams survive early exits too.", chunk_delay=0.05)
    thread_id = _thread(sdk)
    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        for _ in stream.text_deltas:
            break
        run = stream.current_run
    assert run is not None
    assert _settled(sdk, thread_id, run.id).status == "completed"
    assert sdk.beta.threads.messages.list(thread_id, limit=1).data[0].content[0].text.value == (  # type: ignore[union-attr]
        "Helper streams survive early exits too.")


def test_cancel_after_the_streaming_client_left(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                assistant_id: str) -> None:
    """A run whose streaming client went away keeps running in the background and can still be cancelled."""
    fake.hang_stream("Abandoned", seconds=10)
    thread_id = _thread(sdk)
    run_id = _leave_after_first_delta(sdk, thread_id, assistant_id)
    assert sdk.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "in_progress"
    sdk.beta.threads.runs.cancel(run_id, thread_id=thread_id)
    assert _settled(sdk, thread_id, run_id, timeout=3).status == "cancelled"
    message = sdk.beta.threads.messages.list(thread_id, limit=1).data[0]
    assert message.status == "incomplete" and message.content[0].text.value == "Abandoned"  # type: ignore[union-attr]
    assert fake.wait_for_disconnects(1, timeout=3)
