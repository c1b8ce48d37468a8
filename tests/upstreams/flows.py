"""The Assistants flows the tier runs against each upstream, through the real ``openai`` SDK, and their checks.

Every check that a run ended well says what the run and its thread hold when it did not, so a failure shows the
shape of the loss (e.g. ``completed`` with no message and no ``required_action``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.threads import Message, Run, Text, TextDelta
from typing_extensions import override

from tests.upstreams.support import MODEL

POLL_MS = 50

#: The service runs in this process, under the session's ``filterwarnings = error``. A gateway that builds the openai
#: SDK's typed stream events and dumps them (``event.to_dict()``, as core/adapters/openai/gateway.py did before
#: ac69eeb) gets pydantic serializer warnings for values outside the SDK's literals (open-responses-server's function
#: calls have status ``ready``); as errors they would fail runs that in production only print a warning. Ignored
#: here so the tier sees what production does.
IGNORE_SERIALIZER_WARNINGS = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}


def assistant_texts(sdk: openai.OpenAI, thread_id: str) -> list[str]:
    """The assistant messages of the thread, oldest first, as text."""
    texts = []
    for message in sdk.beta.threads.messages.list(thread_id, order="asc", limit=100).data:
        if message.role == "assistant":
            texts.append(_text(message))
    return texts


def _text(message: Message) -> str:
    return "".join(part.text.value for part in message.content if part.type == "text")


def describe(sdk: openai.OpenAI, run: Run) -> str:
    """What a run ended with, for assertion messages."""
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id, order="asc").data
    messages = sdk.beta.threads.messages.list(run.thread_id, order="asc").data
    return json.dumps({
        "status": run.status,
        "last_error": run.last_error.model_dump() if run.last_error else None,
        "incomplete_details": run.incomplete_details.model_dump() if run.incomplete_details else None,
        "required_action": run.required_action.model_dump() if run.required_action else None,
        "steps": [(step.type, step.status) for step in steps],
        "messages": [(message.role, message.status, _text(message)) for message in messages],
    }, indent=1, default=str)


def start_thread(sdk: openai.OpenAI, prompt: str) -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": prompt}]).id


def create_assistant(sdk: openai.OpenAI, *, tools: list[dict[str, Any]] | None = None) -> str:
    return sdk.beta.assistants.create(model=MODEL, instructions="Answer briefly.", tools=tools or []).id


def polled_text_run(sdk: openai.OpenAI, prompt: str, answer: str) -> Run:
    """``create_and_poll`` on a new thread: completed, with exactly one assistant message saying ``answer``."""
    assistant_id = create_assistant(sdk)
    thread_id = start_thread(sdk, prompt)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                poll_interval_ms=POLL_MS)
    assert run.status == "completed", describe(sdk, run)
    assert assistant_texts(sdk, thread_id) == [answer], describe(sdk, run)
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [(step.type, step.status) for step in steps] == [("message_creation", "completed")], describe(sdk, run)
    return run


class Recorder(AssistantEventHandler):
    """Every event name, and the text deltas, of a streamed run."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.finished_texts: list[str] = []

    @override
    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    @override
    def on_text_done(self, text: Text) -> None:
        self.finished_texts.append(text.value)


def streamed_text_run(sdk: openai.OpenAI, prompt: str, answer: str, *, min_deltas: int = 2) -> Recorder:
    """``runs.stream`` with an ``AssistantEventHandler``: the text arrives in deltas, the run completes, and the
    final message (streamed and stored) says ``answer``."""
    assistant_id = create_assistant(sdk)
    thread_id = start_thread(sdk, prompt)
    recorder = Recorder()
    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id, event_handler=recorder) as stream:
        stream.until_done()
        run = stream.get_final_run()
        try:
            final_messages = stream.get_final_messages()
        except RuntimeError:  # the SDK's "No messages found": the stream announced none
            final_messages = []
    assert run.status == "completed", f"events: {recorder.events}\n{describe(sdk, run)}"
    assert recorder.events[-1] == "thread.run.completed", recorder.events
    assert len(recorder.deltas) >= min_deltas and "".join(recorder.deltas) == answer, (recorder.deltas,
                                                                                        recorder.events)
    assert recorder.finished_texts == [answer], recorder.events
    assert [_text(message) for message in final_messages] == [answer], recorder.events
    assert assistant_texts(sdk, thread_id) == [answer], describe(sdk, run)
    return recorder


@dataclass(frozen=True)
class ToolRun:
    thread_id: str
    call_id: str  # the call id the run presented (and the upstream must get back)
    first: Run  # the run at requires_action
    final: Run


def function_tool_run(sdk: openai.OpenAI, prompt: str, *, name: str, arguments: str, output: str, answer: str,
                      text_before: str | None = None) -> ToolRun:
    """A run whose response is a function call (after ``text_before``, when given): ``requires_action`` presenting
    the call with ``name`` and ``arguments`` exactly as the model sent them; ``submit_tool_outputs_and_poll`` with
    ``output``; the follow-up call's text ``answer`` completes the run."""
    assistant_id = create_assistant(sdk, tools=[WEATHER_TOOL])
    thread_id = start_thread(sdk, prompt)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                poll_interval_ms=POLL_MS)
    assert run.status == "requires_action", describe(sdk, run)
    assert run.required_action is not None and run.required_action.type == "submit_tool_outputs"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(call.type, call.function.name, call.function.arguments) for call in calls] == [
        ("function", name, arguments)], describe(sdk, run)
    before = [text_before] if text_before is not None else []
    assert assistant_texts(sdk, thread_id) == before, describe(sdk, run)
    first = run
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": output}],
        poll_interval_ms=POLL_MS)
    assert run.status == "completed", describe(sdk, run)
    assert assistant_texts(sdk, thread_id) == [*before, answer], describe(sdk, run)
    step_kinds = [(step.type, step.status) for step in
                  sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc").data]
    assert ("tool_calls", "completed") in step_kinds, step_kinds
    return ToolRun(thread_id, calls[0].id, first, run)


def assert_follow_up_carries_the_output(follow_up: dict[str, Any], call_id: str, name: str, output: str) -> None:
    """The Responses request after the submit replays the call and carries its output, under the same call id."""
    items = follow_up.get("input") or []
    replayed = [item for item in items if isinstance(item, dict) and item.get("type") == "function_call"]
    outputs = [item for item in items if isinstance(item, dict) and item.get("type") == "function_call_output"]
    assert [(item.get("call_id"), item.get("name")) for item in replayed] == [(call_id, name)], items
    assert [(item.get("call_id"), item.get("output")) for item in outputs] == [(call_id, output)], items
