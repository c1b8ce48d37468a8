"""Function calls (streamed, nested submit, parallel, replay) and run-level overrides as the upstream sees them
(assistants-on-responses.md §2.5, §2.6, §4.1-4.9, §5.4)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.assistant_stream_event import ThreadRunRequiresAction, ThreadRunStepCreated, ThreadRunStepDelta
from openai.types.beta.threads import Run
from openai.types.beta.threads.runs import ToolCall

from tests.fake_responses import FakeResponsesServer

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}


@pytest.fixture
def assistant_id(sdk: openai.OpenAI) -> str:
    return sdk.beta.assistants.create(model="gpt-4o-mini", instructions="Be brief.", tools=[WEATHER, TIME]).id


def _thread(sdk: openai.OpenAI, text: str = "Weather in Paris?") -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": text}]).id


def _poll(sdk: openai.OpenAI, thread_id: str, assistant_id: str, **options: Any) -> Run:
    return sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50,
                                                 **options)


def _texts(sdk: openai.OpenAI, thread_id: str) -> list[tuple[str, str]]:
    return [(m.role, m.content[0].text.value)  # type: ignore[union-attr]
            for m in sdk.beta.threads.messages.list(thread_id, order="asc")]


# -- streamed function calls -------------------------------------------------------------------------------------------

def test_streamed_function_call_deltas(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    reply = fake.reply_function_calls([("get_weather", '{"city":"Paris"}')])
    thread_id = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True))
    names = [event.event for event in events]
    assert names == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
                     "thread.run.step.in_progress", *["thread.run.step.delta"] * 4, "thread.run.requires_action"]
    created = events[3]
    assert isinstance(created, ThreadRunStepCreated) and created.data.type == "tool_calls"
    assert created.data.step_details.tool_calls == []  # type: ignore[union-attr]
    deltas = [event for event in events if isinstance(event, ThreadRunStepDelta)]
    calls = [event.data.delta.step_details.tool_calls[0] for event in deltas]  # type: ignore[union-attr,index]
    assert all(event.data.id == created.data.id for event in deltas)
    first, rest = calls[0], calls[1:]
    assert (first.index, first.id, first.type) == (0, reply.call_ids[0], "function")
    assert first.function.name == "get_weather" and first.function.arguments == ""  # type: ignore[union-attr]
    assert all(call.id is None and call.function.name is None and call.index == 0 for call in rest)  # type: ignore[union-attr]
    assert "".join(call.function.arguments for call in rest) == '{"city":"Paris"}'  # type: ignore[union-attr,misc]
    final = events[-1]
    assert isinstance(final, ThreadRunRequiresAction)
    assert final.data.status == "requires_action" and final.data.usage is None
    required = final.data.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [(c.id, c.function.name, c.function.arguments) for c in required] == [
        (reply.call_ids[0], "get_weather", '{"city":"Paris"}')]
    run = sdk.beta.threads.runs.retrieve(final.data.id, thread_id=thread_id)
    assert run.status == "requires_action" and run.required_action == final.data.required_action
    step = sdk.beta.threads.runs.steps.retrieve(created.data.id, thread_id=thread_id, run_id=run.id)
    assert step.status == "in_progress"
    assert step.step_details.tool_calls[0].function.output is None  # type: ignore[union-attr]


def test_nested_submit_tool_outputs_stream(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    """The usual client pattern: submit from inside `on_event` while the first stream is still open."""
    reply = fake.reply_function_calls([("get_weather", {"city": "Paris", "unit": "celsius"})])
    fake.reply_text("It is sunny in Paris.", chunks=["It is", " sunny", " in Paris."])
    thread_id = _thread(sdk)
    seen: dict[str, list[Any]] = {"created": [], "delta": [], "done": [], "outer": [], "inner": [], "text": []}
    inner_run: list[Run] = []

    class Inner(AssistantEventHandler):
        def on_event(self, event):  # type: ignore[no-untyped-def]
            seen["inner"].append(event)

        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            seen["text"].append(delta.value)

    class Outer(AssistantEventHandler):
        def on_tool_call_created(self, tool_call: ToolCall) -> None:
            seen["created"].append(tool_call)

        def on_tool_call_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            seen["delta"].append((delta.function.arguments, snapshot.function.arguments))

        def on_tool_call_done(self, tool_call: ToolCall) -> None:
            seen["done"].append(tool_call)

        def on_event(self, event):  # type: ignore[no-untyped-def]
            seen["outer"].append(event.event)
            if event.event == "thread.run.requires_action":
                calls = event.data.required_action.submit_tool_outputs.tool_calls
                outputs = [{"tool_call_id": call.id, "output": "sunny, 24C"} for call in calls]
                with sdk.beta.threads.runs.submit_tool_outputs_stream(
                    thread_id=thread_id, run_id=event.data.id, tool_outputs=outputs, event_handler=Inner()
                ) as inner:
                    inner.until_done()
                    inner_run.append(inner.get_final_run())

    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id,
                                      event_handler=Outer()) as stream:
        stream.until_done()
        outer_final = stream.get_final_run()

    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    assert len(seen["created"]) == 1 and seen["created"][0].id == reply.call_ids[0]
    assert seen["created"][0].function.name == "get_weather"
    assert len(seen["delta"]) == 3 and seen["delta"][-1][1] == arguments
    assert "".join(chunk for chunk, _ in seen["delta"]) == arguments
    assert len(seen["done"]) == 1 and seen["done"][0].function.arguments == arguments
    assert seen["outer"][-1] == "thread.run.requires_action" and outer_final.status == "requires_action"

    inner_events = seen["inner"]
    assert [e.event for e in inner_events] == [
        "thread.run.step.completed", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
        "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
        *["thread.message.delta"] * 3, "thread.message.completed", "thread.run.step.completed",
        "thread.run.completed"]
    tool_step = inner_events[0].data
    assert tool_step.type == "tool_calls" and tool_step.status == "completed" and tool_step.completed_at is not None
    assert tool_step.usage is not None and tool_step.usage.total_tokens == 15  # the call that asked for the tool
    assert tool_step.step_details.tool_calls[0].id == reply.call_ids[0]
    assert tool_step.step_details.tool_calls[0].function.output == "sunny, 24C"
    assert inner_events[1].data.status == "queued"
    assert inner_events[-1].event == "thread.run.completed"
    assert "".join(seen["text"]) == "It is sunny in Paris."
    assert inner_run[0].status == "completed" and inner_run[0].id == outer_final.id

    run = sdk.beta.threads.runs.retrieve(outer_final.id, thread_id=thread_id)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens == 30
    assert run.required_action is None
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    assert _texts(sdk, thread_id)[-1] == ("assistant", "It is sunny in Paris.")
    continuation = fake.requests[1]["input"]
    assert continuation[-2]["type"] == "function_call" and continuation[-2]["call_id"] == reply.call_ids[0]
    assert continuation[-2]["arguments"] == arguments
    assert continuation[-1] == {"type": "function_call_output", "call_id": reply.call_ids[0], "output": "sunny, 24C"}


def test_parallel_calls_need_every_output(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    reply = fake.reply_function_calls([("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})])
    fake.reply_text("Sunny, and it is noon.")
    thread_id = _thread(sdk, "Weather and time in Paris?")
    run = _poll(sdk, thread_id, assistant_id)
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [c.id for c in calls] == reply.call_ids and [c.function.name for c in calls] == ["get_weather", "get_time"]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert len(steps) == 1 and steps[0].type == "tool_calls" and steps[0].status == "in_progress"
    assert [c.id for c in steps[0].step_details.tool_calls] == reply.call_ids  # type: ignore[union-attr]

    submit = sdk.beta.threads.runs.submit_tool_outputs
    with pytest.raises(openai.BadRequestError) as missing:
        submit(run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "sunny"}])
    assert missing.value.param == "tool_outputs"
    with pytest.raises(openai.BadRequestError) as unknown:
        submit(run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "call_nope", "output": "x"},
                                                          {"tool_call_id": calls[1].id, "output": "noon"}])
    assert unknown.value.param == "tool_outputs[0].tool_call_id"
    with pytest.raises(openai.BadRequestError) as duplicate:
        submit(run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "a"},
                                                          {"tool_call_id": calls[0].id, "output": "b"}])
    assert duplicate.value.param == "tool_outputs[1].tool_call_id"

    unchanged = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert unchanged.status == "requires_action" and unchanged.required_action == run.required_action
    step = sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread_id, run_id=run.id)
    assert step.status == "in_progress"
    assert [c.function.output for c in step.step_details.tool_calls] == [None, None]  # type: ignore[union-attr]
    assert len(fake.requests) == 1

    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, poll_interval_ms=50,
        tool_outputs=[{"tool_call_id": calls[1].id, "output": "noon"},
                      {"tool_call_id": calls[0].id, "output": "sunny"}])
    assert done.status == "completed"
    step = sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread_id, run_id=run.id)
    assert step.status == "completed"
    assert [c.function.output for c in step.step_details.tool_calls] == ["sunny", "noon"]  # type: ignore[union-attr]
    continuation = fake.requests[1]["input"]
    assert [item["type"] for item in continuation[-4:]] == ["function_call", "function_call",
                                                            "function_call_output", "function_call_output"]
    outputs = {item["call_id"]: item["output"] for item in continuation[-2:]}
    assert outputs == {calls[0].id: "sunny", calls[1].id: "noon"}
    assert _texts(sdk, thread_id)[-1] == ("assistant", "Sunny, and it is noon.")


def test_submit_to_a_completed_run_is_refused(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                              assistant_id: str) -> None:
    fake.reply_text("No tools needed.")
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id)
    assert run.status == "completed"
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread_id,
                                                  tool_outputs=[{"tool_call_id": "call_x", "output": "y"}])
    assert refused.value.status_code == 400
    assert refused.value.body["message"] == 'Runs in status "completed" do not accept tool outputs.'  # type: ignore[index]
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "completed"


def test_create_and_run_poll_with_tools(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o-mini")
    reply = fake.reply_function_calls([("get_time", {"tz": "UTC"})])
    fake.reply_text("It is 12:00 UTC.")
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Time?"}]}, tools=[TIME],
        poll_interval_ms=50)
    assert run.status == "requires_action" and run.thread_id.startswith("thread_")
    assert [tool.type for tool in run.tools] == ["function"]
    assert [tool["name"] for tool in fake.requests[0]["tools"]] == ["get_time"]
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [c.id for c in calls] == reply.call_ids
    submitted = sdk.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "12:00"}])
    assert submitted.status == "queued" and submitted.required_action is None  # §4.9: the submit answers `queued`
    run = sdk.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=50)
    assert run.status == "completed"
    assert _texts(sdk, run.thread_id) == [("user", "Time?"), ("assistant", "It is 12:00 UTC.")]
    assert [tool["name"] for tool in fake.requests[1]["tools"]] == ["get_time"]


def _tool_exchange(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> tuple[str, str, str]:
    """A run that says something, calls get_weather, gets "sunny" and answers; returns (thread, call, fc item id)."""
    reply = fake.reply_function_calls([("get_weather", '{"city":"Paris"}')], text="Let me check.")
    fake.reply_text("It is sunny in Paris.")
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id)
    assert run.status == "requires_action"
    call_id = reply.call_ids[0]
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call_id, "output": "sunny"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    return thread_id, call_id, reply.item_ids[1]


def test_continuation_replays_the_run_output_verbatim(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                      assistant_id: str) -> None:
    thread_id, call_id, item_id = _tool_exchange(sdk, fake, assistant_id)
    continuation = fake.requests[1]["input"]
    assert continuation[0] == {"type": "message", "role": "user",
                               "content": [{"type": "input_text", "text": "Weather in Paris?"}]}
    replayed = continuation[1:]
    assert [item["type"] for item in replayed] == ["message", "function_call", "function_call_output"]
    assert replayed[0]["role"] == "assistant"
    assert replayed[1]["call_id"] == call_id and replayed[1]["id"] == item_id  # this run's own item, verbatim
    assert replayed[1]["name"] == "get_weather" and replayed[1]["arguments"] == '{"city":"Paris"}'
    assert replayed[2] == {"type": "function_call_output", "call_id": call_id, "output": "sunny"}
    assert [role for role, _ in _texts(sdk, thread_id)] == ["user", "assistant", "assistant"]


def test_later_run_replays_the_earlier_tool_exchange(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                     assistant_id: str) -> None:
    thread_id, call_id, _ = _tool_exchange(sdk, fake, assistant_id)
    sdk.beta.threads.messages.create(thread_id, role="user", content="And tomorrow?")
    fake.reply_text("Rain tomorrow.")
    later = _poll(sdk, thread_id, assistant_id)
    assert later.status == "completed"
    # §4.3: the answered call/output pair, without ids, at the tool step's place in the thread.
    assert fake.requests[2]["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"type": "message", "role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": call_id, "output": "sunny"},
        {"type": "message", "role": "assistant", "content": "It is sunny in Paris."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]},
    ]


def test_later_run_replays_calls_without_ids_and_both_messages(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                               assistant_id: str) -> None:
    """Order aside (see the test above): the pair and both assistant messages are all sent, the call without id."""
    thread_id, call_id, _ = _tool_exchange(sdk, fake, assistant_id)
    sdk.beta.threads.messages.create(thread_id, role="user", content="And tomorrow?")
    fake.reply_text("Rain tomorrow.")
    assert _poll(sdk, thread_id, assistant_id).status == "completed"
    sent = fake.requests[2]["input"]
    assert {"type": "function_call", "call_id": call_id, "name": "get_weather",
            "arguments": '{"city":"Paris"}'} in sent
    assert {"type": "function_call_output", "call_id": call_id, "output": "sunny"} in sent
    assert all("id" not in item for item in sent)
    call_at = next(i for i, item in enumerate(sent) if item["type"] == "function_call")
    assert sent[call_at + 1]["type"] == "function_call_output"
    said = [item["content"] for item in sent if item["type"] == "message" and item["role"] == "assistant"]
    assert said == ["Let me check.", "It is sunny in Paris."]
    assert _texts(sdk, thread_id)[-1] == ("assistant", "Rain tomorrow.")


def test_unanswered_calls_of_a_cancelled_run_are_not_replayed(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                              assistant_id: str) -> None:
    fake.reply_function_calls([("get_weather", '{"city":"Oslo"}')])
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id)
    assert run.status == "requires_action"
    sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    fake.reply_text("Okay.")
    later = _poll(sdk, thread_id, assistant_id)
    assert later.status == "completed"
    assert [item["type"] for item in fake.requests[-1]["input"]] == ["message"]


# -- overrides as the upstream sees them -------------------------------------------------------------------------------

def test_defaults_leave_sampling_to_the_model(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id, metadata={"team": "blue"})
    assert run.status == "completed"
    sent = fake.requests[-1]
    assert "temperature" not in sent and "top_p" not in sent
    assert "max_output_tokens" not in sent and "text" not in sent
    assert sent["model"] == "gpt-4o-mini" and sent["instructions"] == "Be brief."
    assert sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is True and sent["truncation"] == "auto"
    assert [tool["name"] for tool in sent["tools"]] == ["get_weather", "get_time"]
    assert sent["tools"][0] == {"type": "function", "name": "get_weather", "description": "Weather of a city",
                                "parameters": WEATHER["function"]["parameters"], "strict": False}
    assert sent["metadata"] == {"assistant_id": assistant_id, "thread_id": thread_id, "run_id": run.id}
    assert run.metadata == {"team": "blue"}
    assert (run.temperature, run.top_p, run.tool_choice, run.parallel_tool_calls) == (1.0, 1.0, "auto", True)
    assert run.truncation_strategy is not None and run.truncation_strategy.type == "auto"
    assert run.truncation_strategy.last_messages is None
    assert run.response_format == "auto" and run.max_completion_tokens is None and run.max_prompt_tokens is None
    assert run.model == "gpt-4o-mini" and run.instructions == "Be brief."


def test_run_overrides_reach_upstream(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id, model="gpt-4.1", instructions="Answer in French.",
                additional_instructions="Sign as Bot.", temperature=0.2, top_p=0.5, max_completion_tokens=300,
                parallel_tool_calls=False, tools=[TIME],
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "answer", "schema": schema, "strict": True}})
    assert run.status == "completed"
    sent = fake.requests[-1]
    assert sent["model"] == "gpt-4.1"
    assert sent["instructions"] == "Answer in French.\n\nSign as Bot."
    assert (sent["temperature"], sent["top_p"]) == (0.2, 0.5)
    assert sent["max_output_tokens"] == 300
    assert sent["parallel_tool_calls"] is False
    assert [tool["name"] for tool in sent["tools"]] == ["get_time"]
    assert sent["text"]["format"] == {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
    assert run.model == "gpt-4.1" and run.instructions == "Answer in French.\n\nSign as Bot."
    assert (run.temperature, run.top_p, run.max_completion_tokens) == (0.2, 0.5, 300)
    assert run.parallel_tool_calls is False
    assert [tool.function.name for tool in run.tools] == ["get_time"]  # type: ignore[union-attr]
    assert run.response_format.type == "json_schema"  # type: ignore[union-attr]
    assert run.response_format.json_schema.name == "answer"  # type: ignore[union-attr]

    # additional_instructions alone is appended to the assistant's instructions; assistant sampling is inherited.
    sdk.beta.assistants.update(assistant_id, temperature=0.7)
    run = _poll(sdk, thread_id, assistant_id, additional_instructions="Use emoji.")
    assert fake.requests[-1]["instructions"] == "Be brief.\n\nUse emoji."
    assert fake.requests[-1]["temperature"] == 0.7 and "top_p" not in fake.requests[-1]
    assert run.instructions == "Be brief.\n\nUse emoji." and run.temperature == 0.7

    # json_object and a run-level reasoning effort.
    _poll(sdk, thread_id, assistant_id, response_format={"type": "json_object"}, reasoning_effort="high")
    assert fake.requests[-1]["text"] == {"format": {"type": "json_object"}}
    assert fake.requests[-1]["reasoning"] == {"effort": "high"}

    # An empty tools override removes the tools.
    _poll(sdk, thread_id, assistant_id, tools=[])
    assert "tools" not in fake.requests[-1] or fake.requests[-1]["tools"] == []


def test_additional_messages_are_stored_and_sent(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                 assistant_id: str) -> None:
    thread_id = _thread(sdk, "First")
    run = _poll(sdk, thread_id, assistant_id, additional_messages=[
        {"role": "user", "content": "Second", "metadata": {"k": "v"}},
        {"role": "assistant", "content": "An earlier answer"},
        {"role": "user", "content": [{"type": "text", "text": "And this?"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    ])
    assert run.status == "completed"
    assert fake.requests[-1]["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "First"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Second"}]},
        {"type": "message", "role": "assistant", "content": "An earlier answer"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "And this?"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}]},
    ]
    messages = sdk.beta.threads.messages.list(thread_id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in messages[:3]] == [  # type: ignore[union-attr]
        ("user", "First"), ("user", "Second"), ("assistant", "An earlier answer")]
    assert messages[1].metadata == {"k": "v"} and messages[1].run_id is None
    assert len(messages) == 5 and messages[4].run_id == run.id


def test_named_tool_choice_forces_the_first_call_only(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                      assistant_id: str) -> None:
    reply = fake.reply_function_calls([("get_weather", '{"city":"Rome"}')])
    fake.reply_text("Warm in Rome.")
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert run.status == "requires_action"
    assert fake.requests[0]["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert run.tool_choice.type == "function"  # type: ignore[union-attr]
    assert run.tool_choice.function.name == "get_weather"  # type: ignore[union-attr]
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "warm"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    assert fake.requests[1]["tool_choice"] == "auto"
    assert run.tool_choice.function.name == "get_weather"  # type: ignore[union-attr]

    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id,
                                     tool_choice={"type": "function", "function": {"name": "launch_rockets"}})
    assert unknown.value.param == "tool_choice"
    assert len(fake.requests) == 2


def test_truncation_last_messages(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = sdk.beta.threads.create(messages=[
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"}, {"role": "user", "content": "four"},
    ]).id
    run = _poll(sdk, thread_id, assistant_id, truncation_strategy={"type": "last_messages", "last_messages": 2})
    assert run.status == "completed"
    sent = fake.requests[-1]
    assert sent["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "three"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "four"}]},
    ]
    assert sent["truncation"] == "disabled"
    assert run.truncation_strategy is not None
    assert (run.truncation_strategy.type, run.truncation_strategy.last_messages) == ("last_messages", 2)


def test_streamed_parallel_calls_share_one_step(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                assistant_id: str) -> None:
    reply = fake.reply_function_calls([("get_weather", {"city": "Oslo"}), ("get_time", {"tz": "CET"})])
    thread_id = _thread(sdk)
    created: list[ToolCall] = []
    done: list[ToolCall] = []
    steps_created: list[Any] = []

    class Handler(AssistantEventHandler):
        def on_run_step_created(self, run_step):  # type: ignore[no-untyped-def]
            steps_created.append(run_step)

        def on_tool_call_created(self, tool_call: ToolCall) -> None:
            created.append(tool_call)

        def on_tool_call_done(self, tool_call: ToolCall) -> None:
            done.append(tool_call)

    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id,
                                      event_handler=Handler()) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert len(steps_created) == 1 and steps_created[0].type == "tool_calls"
    assert [c.id for c in created] == reply.call_ids
    assert [(c.id, c.function.arguments) for c in done] == [  # type: ignore[union-attr]
        (reply.call_ids[0], '{"city": "Oslo"}'), (reply.call_ids[1], '{"tz": "CET"}')]
    assert run.status == "requires_action"
    assert [c.id for c in run.required_action.submit_tool_outputs.tool_calls] == reply.call_ids  # type: ignore[union-attr]

    with pytest.raises(openai.BadRequestError) as refused, sdk.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread_id, run_id=run.id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "cold"}]
    ) as partial:
        partial.until_done()
    assert refused.value.param == "tool_outputs"
    fake.reply_text("Cold, and it is noon.")
    with sdk.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread_id, run_id=run.id,
        tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "cold"},
                      {"tool_call_id": reply.call_ids[1], "output": "noon"}],
    ) as stream:
        names = [event.event for event in stream]
    assert names == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress",
                     "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
                     "thread.message.in_progress", *["thread.message.delta"] * 4, "thread.message.completed",
                     "thread.run.step.completed", "thread.run.completed"]


def test_tool_choice_required_and_none(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    reply = fake.reply_function_calls([("get_time", "{}")])
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id, tool_choice="required")
    assert fake.requests[0]["tool_choice"] == "required" and run.tool_choice == "required"
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "noon"}],
        poll_interval_ms=50)
    assert run.status == "completed" and fake.requests[1]["tool_choice"] == "auto"
    run = _poll(sdk, thread_id, assistant_id, tool_choice="none")
    assert fake.requests[2]["tool_choice"] == "none" and run.tool_choice == "none"


def test_completion_budget_spans_the_whole_run(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                               assistant_id: str) -> None:
    """§4.7: `max_completion_tokens` is a run-wide budget; each call gets what is left of it."""
    reply = fake.reply_function_calls([("get_time", "{}")], usage=(50, 40))
    fake.reply_text("Noon.", usage=(60, 5))
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant_id, max_completion_tokens=300)
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "12"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    assert [request["max_output_tokens"] for request in fake.requests] == [300, 260]
    assert run.usage is not None and (run.usage.prompt_tokens, run.usage.completion_tokens) == (110, 45)


def test_reasoning_items_are_replayed_in_the_continuation(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="o4-mini", tools=[TIME], reasoning_effort="low")
    reply = fake.reply_function_calls([("get_time", "{}")], reasoning=True)
    fake.reply_text("Noon.")
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant.id)
    first = fake.requests[0]
    assert "reasoning.encrypted_content" in first.get("include", [])
    assert first["reasoning"] == {"effort": "low"}
    assert "temperature" not in first and "top_p" not in first
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "noon"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    replayed = fake.requests[1]["input"][1:]
    assert [item["type"] for item in replayed] == ["reasoning", "function_call", "function_call_output"]
    assert replayed[0] == reply.output[0]  # verbatim, with its encrypted_content
    assert replayed[1]["id"] == reply.output[1]["id"]


def test_instructions_are_a_string_even_when_nobody_set_them(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o-mini")
    thread_id = _thread(sdk)
    run = _poll(sdk, thread_id, assistant.id)
    assert run.status == "completed"
    raw = sdk.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread_id).http_response.json()
    assert raw["instructions"] == "" and raw["tools"] == []
    assert fake.requests[-1].get("instructions") in (None, "")
    assert "tools" not in fake.requests[-1] and "tool_choice" not in fake.requests[-1]


def test_truncation_drops_older_tool_exchanges(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                               assistant_id: str) -> None:
    """§4.3: `last_messages = N` keeps the last N messages; an older call/output pair goes with what it preceded."""
    thread_id, _, _ = _tool_exchange(sdk, fake, assistant_id)
    sdk.beta.threads.messages.create(thread_id, role="user", content="Something else entirely.")
    fake.reply_text("Sure.")
    run = _poll(sdk, thread_id, assistant_id, truncation_strategy={"type": "last_messages", "last_messages": 1})
    assert run.status == "completed"
    assert fake.requests[-1]["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Something else entirely."}]}]
