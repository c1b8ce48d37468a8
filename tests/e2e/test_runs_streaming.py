"""Streamed runs through the real SDK: raw event streams, the `stream()` helpers and their callbacks, annotations
and refusals (assistants-on-responses.md §5)."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import AssistantEventHandler, AsyncAssistantEventHandler
from openai.types.beta import Thread
from openai.types.beta.assistant_stream_event import (
    ThreadCreated,
    ThreadMessageCompleted,
    ThreadMessageCreated,
    ThreadMessageDelta,
    ThreadMessageInProgress,
    ThreadRunCompleted,
    ThreadRunCreated,
    ThreadRunInProgress,
    ThreadRunQueued,
    ThreadRunStepCompleted,
    ThreadRunStepCreated,
    ThreadRunStepInProgress,
)
from openai.types.beta.threads import Message, MessageDeltaEvent, Run, Text
from openai.types.beta.threads.runs import RunStep

from tests.e2e.wire import assert_wire_shape
from tests.fake_responses import FakeResponsesServer, container_file_citation, file_citation, url_citation

TEXT_ANSWER = [
    "thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
    "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
]


def _thread(sdk: openai.OpenAI, text: str = "Hello") -> Thread:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": text}])


def _reply(sdk: openai.OpenAI, thread_id: str) -> Message:
    messages = sdk.beta.threads.messages.list(thread_id, order="desc", limit=1).data
    assert messages and messages[0].role == "assistant"
    return messages[0]


def test_raw_stream_event_types_and_order(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_text("Raw streams are typed.", chunks=["Raw ", "streams ", "are typed."])
    thread = _thread(sdk)
    stream = sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True)
    events = list(stream)
    assert stream.response.is_closed  # the SDK stopped at `done` and released the connection
    names = [event.event for event in events]
    assert names == [*TEXT_ANSWER, *["thread.message.delta"] * 3, "thread.message.completed",
                     "thread.run.step.completed", "thread.run.completed"]
    expected_types = [ThreadRunCreated, ThreadRunQueued, ThreadRunInProgress, ThreadRunStepCreated,
                      ThreadRunStepInProgress, ThreadMessageCreated, ThreadMessageInProgress]
    assert [type(event) for event in events[:7]] == expected_types
    assert all(isinstance(event, ThreadMessageDelta) for event in events[7:10])
    assert isinstance(events[10], ThreadMessageCompleted) and isinstance(events[11], ThreadRunStepCompleted)
    assert isinstance(events[12], ThreadRunCompleted)

    created = events[0].data
    assert isinstance(created, Run) and created.status == "queued" and created.thread_id == thread.id
    assert created.assistant_id == assistant_id and created.usage is None
    assert created.expires_at == created.created_at + 600 and created.started_at is None
    assert events[2].data.status == "in_progress" and events[2].data.started_at is not None
    step = events[3].data
    assert isinstance(step, RunStep) and step.type == "message_creation" and step.status == "in_progress"
    message = events[5].data
    assert isinstance(message, Message) and message.status == "in_progress" and message.content == []
    assert step.step_details.message_creation.message_id == message.id  # type: ignore[union-attr]

    deltas = [event.data for event in events[7:10]]
    assert all(isinstance(delta, MessageDeltaEvent) and delta.id == message.id for delta in deltas)
    streamed = "".join(delta.delta.content[0].text.value for delta in deltas)  # type: ignore[index,union-attr]
    assert streamed == "Raw streams are typed."
    assert deltas[0].delta.content[0].text.annotations == []  # type: ignore[index,union-attr]

    completed = events[10].data
    assert completed.status == "completed" and completed.content[0].text.value == streamed  # type: ignore[union-attr]
    assert events[11].data.status == "completed" and events[11].data.id == step.id
    final = events[12].data
    assert final.status == "completed" and final.usage is not None and final.usage.total_tokens == 15
    assert final.expires_at is None and final.id == created.id
    stored = _reply(sdk, thread.id)
    assert stored.id == message.id and stored.content[0].text.value == streamed  # type: ignore[union-attr]
    assert sdk.beta.threads.runs.retrieve(created.id, thread_id=thread.id).status == "completed"


def test_create_and_run_stream_starts_with_thread_created(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    fake.reply_text("First answer.")
    fake.reply_text("Second answer.")
    names: list[str] = []

    class Handler(AssistantEventHandler):
        def on_event(self, event):  # type: ignore[no-untyped-def]
            names.append(event.event)

    with sdk.beta.threads.create_and_run_stream(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": "Hi"}]}, event_handler=Handler()
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert names == ["thread.created", *TEXT_ANSWER, *["thread.message.delta"] * 4, "thread.message.completed",
                     "thread.run.step.completed", "thread.run.completed"]
    assert run.status == "completed"
    assert _reply(sdk, run.thread_id).content[0].text.value == "First answer."  # type: ignore[union-attr]

    raw = list(sdk.beta.threads.create_and_run(assistant_id=assistant_id, stream=True))
    assert isinstance(raw[0], ThreadCreated)
    thread = raw[0].data
    assert isinstance(thread, Thread) and thread.id.startswith("thread_")
    assert isinstance(raw[1], ThreadRunCreated) and raw[1].data.thread_id == thread.id
    assert raw[1].data.status == "queued"
    assert raw[-1].event == "thread.run.completed"
    assert _reply(sdk, thread.id).content[0].text.value == "Second answer."  # type: ignore[union-attr]
    assert fake.requests[1]["input"] == []  # an empty thread sends no input items


def test_stream_handler_callbacks_see_consistent_snapshots(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    fake.reply_text("One two three four.", chunks=["One", " two", " three", " four."])
    thread = _thread(sdk)
    calls: list[tuple[str, Any]] = []

    class Handler(AssistantEventHandler):
        def on_run_step_created(self, run_step: RunStep) -> None:
            calls.append(("step_created", run_step))

        def on_message_created(self, message: Message) -> None:
            calls.append(("message_created", message))

        def on_text_created(self, text: Text) -> None:
            calls.append(("text_created", text.value))

        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            calls.append(("text_delta", (delta.value, snapshot.value)))

        def on_text_done(self, text: Text) -> None:
            calls.append(("text_done", text.value))

        def on_message_done(self, message: Message) -> None:
            calls.append(("message_done", message))

        def on_run_step_done(self, run_step: RunStep) -> None:
            calls.append(("step_done", run_step))

        def on_end(self) -> None:
            calls.append(("end", self.current_run))

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id,
                                      event_handler=Handler()) as stream:
        stream.until_done()
    kinds = [kind for kind, _ in calls]
    assert kinds == ["step_created", "message_created", "text_created", *["text_delta"] * 4, "text_done",
                     "message_done", "step_done", "end"]
    step, message = calls[0][1], calls[1][1]
    assert step.status == "in_progress" and step.type == "message_creation"
    assert step.step_details.message_creation.message_id == message.id
    assert [value for kind, value in calls if kind == "text_delta"] == [
        ("One", "One"), (" two", "One two"), (" three", "One two three"), (" four.", "One two three four.")]
    assert calls[7][1] == "One two three four."
    done_message = calls[8][1]
    assert done_message.id == message.id and done_message.status == "completed"
    assert done_message.content[0].text.value == "One two three four."
    done_step = calls[9][1]
    assert done_step.id == step.id and done_step.status == "completed"
    final_run = calls[10][1]
    assert final_run is not None and final_run.status == "completed"
    stored = sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert stored.content == done_message.content
    stored_step = sdk.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=final_run.id)
    assert stored_step.status == "completed" and stored_step.usage is not None


def test_streamed_message_step_completed_carries_usage(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    """§5.4/§5.5: the message step completed at `response.completed` is announced with its usage filled."""
    fake.reply_text("Counted.", usage=(21, 4))
    thread = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True))
    step = next(event.data for event in events if event.event == "thread.run.step.completed")
    stored = sdk.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=step.run_id)
    assert stored.usage is not None and (stored.usage.prompt_tokens, stored.usage.completion_tokens) == (21, 4)
    assert step.usage == stored.usage


def test_text_deltas_iterator_and_final_helpers(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    fake.reply_text("Iterating over text deltas.", chunks=["Iterating", " over", " text", " deltas."])
    thread = _thread(sdk)
    include = ["step_details.tool_calls[*].file_search.results[*].content"]  # sent as `include[]` in the query
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id, include=include) as stream:
        pieces = list(stream.text_deltas)
        run = stream.get_final_run()
        steps = stream.get_final_run_steps()
        messages = stream.get_final_messages()
    assert pieces == ["Iterating", " over", " text", " deltas."]
    assert run.status == "completed"
    # The SDK keeps the step snapshot of `step.created` (it does not apply `step.completed`), so only ids compare.
    assert [s.id for s in steps] == [s.id for s in sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id)]
    assert [m.content[0].text.value for m in messages] == ["Iterating over text deltas."]  # type: ignore[union-attr]
    listed = sdk.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert [m.id for m in listed] == [messages[0].id]


def test_file_citation_becomes_a_replaceable_marker(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    answer = "The warranty lasts two years."
    cite_at = len("The warranty lasts two years")
    fake.reply_text(answer, chunks=["The warranty lasts", " two years", "."],
                    annotations=[file_citation("file-abc123", "warranty.pdf", cite_at)])
    thread = _thread(sdk, "How long is the warranty?")
    streamed: list[str] = []
    delta_annotations: list[Any] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            streamed.append(delta.value or "")
            delta_annotations.extend(delta.annotations or [])

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id,
                                      event_handler=Handler()) as stream:
        final = stream.get_final_messages()[0]
    stored = sdk.beta.threads.messages.retrieve(final.id, thread_id=thread.id)
    text = stored.content[0].text  # type: ignore[union-attr]
    assert text.value == "".join(streamed) == final.content[0].text.value  # type: ignore[union-attr]
    assert len(text.annotations) == 1
    annotation = text.annotations[0]
    assert annotation.type == "file_citation" and annotation.file_citation.file_id == "file-abc123"  # type: ignore[union-attr]
    assert annotation.text and annotation.text == text.value[annotation.start_index:annotation.end_index]
    assert text.value.startswith("The warranty lasts two years") and text.value.endswith(".")
    assert len(delta_annotations) == 1 and delta_annotations[0].index == 0
    assert final.content[0].text.annotations == text.annotations  # type: ignore[union-attr]

    value = text.value
    citations = []
    for number, cited in enumerate(text.annotations):
        value = value.replace(cited.text, f"[{number}]")
        citations.append(cited.file_citation.file_id)  # type: ignore[union-attr]
    assert value == "The warranty lasts two years[0]."
    assert citations == ["file-abc123"]
    assert_wire_shape("thread.message", sdk.beta.threads.messages.with_raw_response.retrieve(
        final.id, thread_id=thread.id).http_response.json())


def test_refusal_becomes_a_refusal_part(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_refusal("I can't help with that.", chunks=["I can't", " help with that."])
    thread = _thread(sdk, "Something forbidden")
    events = list(sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True))
    deltas = [event.data.delta.content[0] for event in events if event.event == "thread.message.delta"]  # type: ignore[union-attr]
    assert [d.type for d in deltas] == ["refusal", "refusal"]
    assert "".join(d.refusal or "" for d in deltas) == "I can't help with that."  # type: ignore[union-attr]
    completed = next(event.data for event in events if event.event == "thread.message.completed")
    assert completed.content[0].type == "refusal" and completed.content[0].refusal == "I can't help with that."  # type: ignore[union-attr]
    assert events[-1].event == "thread.run.completed"
    stored = _reply(sdk, thread.id)
    assert [part.type for part in stored.content] == ["refusal"]
    assert stored.content[0].refusal == "I can't help with that."  # type: ignore[union-attr]

    # The refusal, polled, reads the same way.
    fake.reply_refusal("No.")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.status == "completed"
    assert _reply(sdk, thread.id).content[0].refusal == "No."  # type: ignore[union-attr]


def test_two_messages_in_one_response_stream_in_order(
    sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str
) -> None:
    """A reply carrying text before a function call: the message is finished before the tool step opens."""
    sdk.beta.assistants.update(assistant_id, tools=[{"type": "function", "function": {"name": "lookup"}}])
    fake.reply_function_calls([("lookup", "{}")], text="Let me look that up.")
    thread = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True))
    names = [event.event for event in events]
    assert names.index("thread.message.completed") < names.index("thread.run.step.delta")
    message_step_done = [e.data for e in events if e.event == "thread.run.step.completed"]
    assert [s.type for s in message_step_done] == ["message_creation"]
    assert names[-1] == "thread.run.requires_action"
    assert _reply(sdk, thread.id).content[0].text.value == "Let me look that up."  # type: ignore[union-attr]


async def test_async_stream_helper(async_client: openai.AsyncOpenAI, fake: FakeResponsesServer) -> None:
    fake.reply_text("Async streaming works.", chunks=["Async", " streaming", " works."])
    async with async_client:
        sdk = async_client.with_options(timeout=10)
        assistant = await sdk.beta.assistants.create(model="gpt-4o-mini")
        thread = await sdk.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        seen: list[str] = []

        class Handler(AsyncAssistantEventHandler):
            async def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
                seen.append(delta.value)

        async with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id,
                                                event_handler=Handler()) as stream:
            await stream.until_done()
            run = await stream.get_final_run()
        assert seen == ["Async", " streaming", " works."]
        assert run.status == "completed"
        polled = await sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert polled.status == "completed"
        messages = await sdk.beta.threads.messages.list(thread.id, order="asc")
        assert [m.role for m in messages.data] == ["user", "assistant"]
        assert messages.data[1].content[0].text.value == "Async streaming works."  # type: ignore[union-attr]


def test_stream_frames_have_the_full_wire_shape(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                assistant_id: str) -> None:
    """The SDK reads a missing field as None, so check the raw SSE frames: every object complete, `done` last."""
    fake.reply_text("Wire check.")
    thread = _thread(sdk)
    raw = sdk.beta.threads.runs.with_raw_response.create(thread.id, assistant_id=assistant_id, stream=True)
    response = raw.http_response
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames: list[tuple[str, str]] = []
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            frames.append((event, line.removeprefix("data: ")))
    response.close()
    assert frames[-1] == ("done", "[DONE]")
    kinds = {"thread.run": "thread.run", "thread.run.step": "thread.run.step", "thread.message": "thread.message"}
    for name, data in frames[:-1]:
        body = json.loads(data)
        if body["object"] in kinds:
            assert_wire_shape(kinds[body["object"]], body)
        else:
            assert body["object"] == "thread.message.delta" and name == "thread.message.delta"
            assert set(body) == {"id", "object", "delta"}


def test_several_citations_and_dropped_url_citation(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                    assistant_id: str) -> None:
    answer = "Plans A and B differ. See the docs."
    fake.reply_text(answer, chunks=["Plans A", " and B", " differ.", " See the docs."], annotations=[
        file_citation("file-a", "a.pdf", len("Plans A")),
        file_citation("file-b", "b.pdf", len("Plans A and B")),
        url_citation("https://example.com/docs", "Docs", len(answer) - 5, len(answer) - 1),
    ])
    thread = _thread(sdk)
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id) as stream:
        streamed = stream.get_final_messages()[0]
    stored = sdk.beta.threads.messages.retrieve(streamed.id, thread_id=thread.id)
    text = stored.content[0].text  # type: ignore[union-attr]
    assert [a.type for a in text.annotations] == ["file_citation", "file_citation"]
    assert [a.file_citation.file_id for a in text.annotations] == ["file-a", "file-b"]  # type: ignore[union-attr]
    assert len({a.text for a in text.annotations}) == 2
    for cited in text.annotations:
        assert cited.text == text.value[cited.start_index:cited.end_index]
    value = text.value
    for number, cited in enumerate(text.annotations):
        value = value.replace(cited.text, f"[{number}]")
    assert value == "Plans A[0] and B[1] differ. See the docs."
    assert streamed.content[0].text == text  # type: ignore[union-attr]


def test_container_file_citation_after_a_marker(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                assistant_id: str) -> None:
    """§4.8: a container file citation keeps `text == value[start:end]` (the cited span), even when a file
    citation's marker was inserted earlier in the same text."""
    answer = "Per the guide, see chart.png for details."
    start = answer.index("chart.png")
    fake.reply_text(answer, chunks=["Per the guide", ", see chart.png", " for details."], annotations=[
        file_citation("file-guide", "guide.pdf", len("Per the guide")),
        container_file_citation("cntr_1", "cfile_1", "chart.png", start, start + len("chart.png")),
    ])
    thread = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True))
    assert events[-1].event == "thread.run.completed"
    text = _reply(sdk, thread.id).content[0].text  # type: ignore[union-attr]
    assert [a.type for a in text.annotations] == ["file_citation", "file_path"]
    cited = text.annotations[1]
    assert cited.file_path.file_id == "cfile_1"  # type: ignore[union-attr]
    assert cited.text == text.value[cited.start_index:cited.end_index] == "chart.png"


def test_container_file_citation_becomes_a_file_path(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                     assistant_id: str) -> None:
    answer = "Download chart.png now."
    start = answer.index("chart.png")
    fake.reply_text(answer, chunks=["Download chart.png", " now."], annotations=[
        container_file_citation("cntr_1", "cfile_1", "chart.png", start, start + len("chart.png"))])
    thread = _thread(sdk)
    assert list(sdk.beta.threads.runs.create(thread.id, assistant_id=assistant_id, stream=True))[-1].event == (
        "thread.run.completed")
    text = _reply(sdk, thread.id).content[0].text  # type: ignore[union-attr]
    assert text.value == answer
    assert [(a.type, a.text, a.start_index, a.end_index) for a in text.annotations] == [
        ("file_path", "chart.png", start, start + len("chart.png"))]
