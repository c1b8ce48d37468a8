"""Runs through the real SDK's helpers, polled and streamed, against the fake Responses upstream."""

from __future__ import annotations

import openai
from openai import AssistantEventHandler
from openai.types.beta.threads import Run

from tests.e2e.wire import assert_wire_shape
from tests.fake_responses import FakeResponsesServer


def test_create_and_poll_writes_the_reply(client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_text("Paris is the capital of France.", usage=(12, 7))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Capital of France?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id,
                                                   poll_interval_ms=50)
    assert run.status == "completed"
    assert run.usage is not None and (run.usage.prompt_tokens, run.usage.completion_tokens) == (12, 7)
    assert run.expires_at is None and run.completed_at is not None and run.started_at is not None
    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[1]
    assert reply.content[0].text.value == "Paris is the capital of France."  # type: ignore[union-attr]
    assert reply.run_id == run.id and reply.assistant_id == assistant_id and reply.status == "completed"
    sent = fake.requests[-1]
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == [{"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": "Capital of France?"}]}]
    assert sent["store"] is False
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert len(steps) == 1 and steps[0].type == "message_creation" and steps[0].status == "completed"
    assert steps[0].step_details.message_creation.message_id == reply.id  # type: ignore[union-attr]
    raw = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert_wire_shape("thread.run", raw.http_response.json())


def test_stream_helper_deltas_concatenate(client: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_text("Streaming works end to end.", chunks=["Stream", "ing works", " end to", " end."])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Go"}])
    seen: list[str] = []
    events: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            seen.append(delta.value)

        def on_event(self, event):  # type: ignore[no-untyped-def]
            events.append(event.event)

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id,
                                         event_handler=Handler()) as stream:
        stream.until_done()
        final = stream.get_final_run()
        messages = stream.get_final_messages()
    assert "".join(seen) == "Streaming works end to end."
    assert seen == ["Stream", "ing works", " end to", " end."]
    assert final.status == "completed"
    assert messages[0].content[0].text.value == "Streaming works end to end."  # type: ignore[union-attr]
    assert events == [
        "thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
        "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
        *["thread.message.delta"] * 4, "thread.message.completed", "thread.run.step.completed",
        "thread.run.completed",
    ]
    stored = client.beta.threads.messages.list(thread.id).data[0]
    assert stored.content[0].text.value == "Streaming works end to end."  # type: ignore[union-attr]


def test_function_call_round_trip_polled(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    reply = fake.reply_function_calls([("get_weather", '{"city":"Paris"}')])
    fake.reply_text("It is sunny in Paris.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Paris?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   poll_interval_ms=50)
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        (reply.call_ids[0], "get_weather", '{"city":"Paris"}')]
    assert fake.requests[0]["tools"][0]["strict"] is False
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "sunny"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    assert run.usage is not None and run.usage.total_tokens == 30
    follow_up = fake.requests[1]["input"]
    assert follow_up[-2]["type"] == "function_call" and follow_up[-2]["call_id"] == calls[0].id
    assert follow_up[-1] == {"type": "function_call_output", "call_id": calls[0].id, "output": "sunny"}
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0].step_details.tool_calls[0].function.output == "sunny"  # type: ignore[union-attr]
    assert isinstance(run, Run)
