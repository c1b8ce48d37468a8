"""Golden tests of the sans-I/O :class:`Turn` (assistants-on-responses.md §4.10, §4.11, §5.4, §5.5; code review,
change 1): a Responses event list goes in, effects (``Store`` / ``Event``) and Assistants objects come out. No store,
no event loop, like ``test_translation.py``.

Upstream events come from ``tests/fake_responses.py`` (the same events the fake server streams to the SDK) or
``tests/fakes.text_events``. A trace pairs each upstream event that had an effect with the names of its effects,
``"store"`` for a :class:`Store`.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any

from core.domain.models import Message, Run, RunStep, ToolCall, Usage
from core.services._turn import Effect, Event, Store, Turn
from tests.fake_responses import (
    FakeResponsesServer,
    ScriptedReply,
    file_citation,
    stream_events,
    text_reply,
    url_citation,
)
from tests.fakes import FakeClock, text_events

Json = dict[str, Any]

NOW = 1_700_000_000  # FakeClock's start
USAGE = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)  # what every fake reply reports by default
ZERO = Usage()

MESSAGE_OPENS = ["store", "thread.run.step.created", "thread.run.step.in_progress",
                 "thread.message.created", "thread.message.in_progress"]
TOOL_STEP_OPENS = ["store", "thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta"]

# Used only for its reply builders (refusal, function calls, incomplete, failed): never started, no socket.
_replies = FakeResponsesServer()


# -- helpers ---------------------------------------------------------------------------------------------------------


def _run() -> Run:
    return Run(id="run_1", created_at=NOW, tenant_id="tenant-a", thread_id="thread_1", assistant_id="asst_1",
               model="gpt-4o-mini")


def _events(reply: ScriptedReply) -> list[Json]:
    """The Responses stream events of ``reply``, as the fake server would send them."""
    events, _ = stream_events(reply, {"model": "gpt-4o-mini", "stream": True}, float(NOW))
    return events


def names(effects: list[Effect] | list[Event]) -> list[str]:
    return ["store" if isinstance(effect, Store) else effect.name for effect in effects]


@dataclass
class Played:
    turn: Turn
    trace: list[tuple[str, list[str]]] = field(default_factory=list)  # (upstream event, names of its effects)
    effects: list[Effect] = field(default_factory=list)

    def payloads(self, name: str) -> list[Any]:
        return [effect.payload for effect in self.effects if isinstance(effect, Event) and effect.name == name]

    def deltas(self, name: str) -> list[Json]:
        """The ``delta`` bodies of the ``name`` events (``thread.message.delta`` / ``thread.run.step.delta``)."""
        return [payload["delta"] for payload in self.payloads(name)]

    @property
    def stores(self) -> list[Store]:
        return [effect for effect in self.effects if isinstance(effect, Store)]


def play(events: list[Json], turn: Turn | None = None) -> Played:
    """Feed ``events`` to a Turn. Delta payloads are recorded as they were when returned, as the executor sends them
    (it frames each event before the next ``handle``); see ``test_returned_effects_are_not_changed_later``."""
    played = Played(turn or Turn(_run(), FakeClock()))
    for event in events:
        effects = played.turn.handle(event)
        if effects:
            played.trace.append((event["type"], names(effects)))
            played.effects += [Event(effect.name, copy.deepcopy(effect.payload))
                               if isinstance(effect, Event) and isinstance(effect.payload, dict) else effect
                               for effect in effects]
    return played


def _message(turn: Turn) -> Message:
    [message] = [obj for obj in turn.objects() if isinstance(obj, Message)]
    return message


def _steps(turn: Turn) -> list[RunStep]:
    return [obj for obj in turn.objects() if isinstance(obj, RunStep)]


def _code_interpreter_then_text(code_chunks: list[str], logs: str, answer_chunks: list[str]) -> list[Json]:
    """A call that runs code, then answers. ``fake_responses`` has no code-interpreter builder: its generic item
    events are completed here with the progress and code-delta events the Responses API sends for such a call."""
    code = "".join(code_chunks)
    call = {"type": "code_interpreter_call", "id": "ci_1", "status": "completed", "code": code,
            "outputs": [{"type": "logs", "logs": logs}], "container_id": "cntr_1"}
    reply = text_reply("".join(answer_chunks), chunks=answer_chunks)
    reply.output.insert(0, call)
    reply.chunks = {(1, 0): answer_chunks}
    events = _events(reply)
    added = next(i for i, event in enumerate(events) if event["type"] == "response.output_item.added")
    events[added] = {**events[added], "item": {**call, "status": "in_progress", "code": "", "outputs": None}}
    where = {"item_id": "ci_1", "output_index": 0}
    progress = [
        {"type": "response.code_interpreter_call.in_progress", **where},
        *({"type": "response.code_interpreter_call_code.delta", **where, "delta": chunk} for chunk in code_chunks),
        {"type": "response.code_interpreter_call_code.done", **where, "code": code},
        {"type": "response.code_interpreter_call.interpreting", **where},
        {"type": "response.code_interpreter_call.completed", **where},
    ]
    spliced = [*events[: added + 1], *progress, *events[added + 1:]]
    return [{**event, "sequence_number": number} for number, event in enumerate(spliced)]


# -- the Turn does no I/O --------------------------------------------------------------------------------------------


def test_handle_and_finish_are_plain_functions() -> None:
    assert not inspect.iscoroutinefunction(Turn.handle)
    assert not inspect.iscoroutinefunction(Turn.finish)
    assert not inspect.iscoroutinefunction(Turn.objects)


def test_bookkeeping_and_unknown_events_have_no_effect() -> None:
    turn = Turn(_run(), FakeClock())
    for event in ({"type": "response.created", "response": {"id": "resp_1"}},
                  {"type": "response.in_progress", "response": {"id": "resp_1"}},
                  {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "hm"},
                  {"type": "response.some_future_event"},
                  {}):
        assert turn.handle(event) == []
    assert turn.objects() == [] and turn.terminal is None and turn.terminal_event is None


# -- text ------------------------------------------------------------------------------------------------------------


def test_text_answer() -> None:
    reply = text_reply("Hello world", chunks=["Hello", " world"])
    played = play(_events(reply))
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_item.done", ["thread.message.completed"]),
        ("response.completed", ["thread.run.step.completed"]),  # the step is completed at the terminal event
    ]

    message, [step] = _message(turn), _steps(turn)
    [store] = played.stores
    assert store.objects == (step, message) and store.objects[0] is step and store.objects[1] is message

    # The objects.
    assert message.model_dump(include={"status", "role", "thread_id", "run_id", "assistant_id", "completed_at",
                                       "content"}) == {
        "status": "completed", "role": "assistant", "thread_id": "thread_1", "run_id": "run_1",
        "assistant_id": "asst_1", "completed_at": NOW,
        "content": [{"type": "text", "text": {"value": "Hello world", "annotations": []}}],
    }
    assert step.type == "message_creation" and step.status == "completed" and step.completed_at == NOW
    assert step.step_details == {"type": "message_creation", "message_creation": {"message_id": message.id}}
    assert (step.run_id, step.thread_id, step.assistant_id) == ("run_1", "thread_1", "asst_1")
    assert step.usage == USAGE  # the call's usage, from response.completed

    # The events: created ones show the object as it was, deltas carry the chunks (annotations only on the first).
    [created] = played.payloads("thread.message.created")
    assert created.status == "in_progress" and created.content == []
    assert played.payloads("thread.message.delta") == [
        {"id": message.id, "object": "thread.message.delta",
         "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Hello", "annotations": []}}]}},
        {"id": message.id, "object": "thread.message.delta",
         "delta": {"content": [{"index": 0, "type": "text", "text": {"value": " world"}}]}},
    ]
    [completed] = played.payloads("thread.message.completed")
    assert completed.text() == "Hello world" and completed.status == "completed"
    [step_completed] = played.payloads("thread.run.step.completed")
    assert step_completed.usage == USAGE and step_completed.status == "completed"

    assert turn.terminal_event == "response.completed"
    assert turn.terminal is not None and turn.terminal["status"] == "completed"
    assert turn.output_items == reply.output
    assert turn.function_calls == [] and turn.tool_step is None

    assert turn.finish("completed", NOW + 1) == []  # nothing left open
    assert step.usage == USAGE and step.completed_at == NOW


def test_text_events_of_the_unit_fakes_map_the_same_way() -> None:
    played = play(text_events("Hi there"))
    assert [name for _, effect_names in played.trace for name in effect_names] == [
        *MESSAGE_OPENS, "thread.message.delta", "thread.message.delta", "thread.message.completed",
        "thread.run.step.completed",
    ]
    assert _message(played.turn).text() == "Hi there"


def test_refusal() -> None:
    played = play(_events(_replies.reply_refusal("I can't help with that.", chunks=["I can't", " help with that."])))

    assert played.trace == [
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.refusal.delta", ["thread.message.delta"]),
        ("response.refusal.delta", ["thread.message.delta"]),
        ("response.output_item.done", ["thread.message.completed"]),
        ("response.completed", ["thread.run.step.completed"]),
    ]
    assert played.deltas("thread.message.delta") == [
        {"content": [{"index": 0, "type": "refusal", "refusal": "I can't"}]},
        {"content": [{"index": 0, "type": "refusal", "refusal": " help with that."}]},
    ]
    message, [step] = _message(played.turn), _steps(played.turn)
    assert message.status == "completed"
    assert message.content == [{"type": "refusal", "refusal": "I can't help with that."}]
    assert step.status == "completed" and step.usage == USAGE


def test_file_citations_insert_markers_and_number_the_annotations() -> None:
    chunks = ["Read the", " guide.", " Then the notes."]
    annotations = [file_citation("file-1", "guide.pdf", 8),
                   url_citation("https://example.com", "Example", 9, 15),  # no Assistants type: dropped
                   file_citation("file-2", "notes.md", 31)]
    played = play(_events(text_reply("".join(chunks), chunks=chunks, annotations=annotations)))

    assert played.trace == [
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.annotation.added", ["thread.message.delta"]),  # file-1
        ("response.output_text.delta", ["thread.message.delta"]),
        # the url citation has no effect
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.annotation.added", ["thread.message.delta"]),  # file-2
        ("response.output_item.done", ["thread.message.completed"]),
        ("response.completed", ["thread.run.step.completed"]),
    ]
    first = {"type": "file_citation", "text": "【1†guide.pdf】", "start_index": 8, "end_index": 21,
             "file_citation": {"file_id": "file-1"}}
    second = {"type": "file_citation", "text": "【2†notes.md】", "start_index": 44, "end_index": 56,
              "file_citation": {"file_id": "file-2"}}
    assert played.deltas("thread.message.delta") == [
        {"content": [{"index": 0, "type": "text", "text": {"value": "Read the", "annotations": []}}]},
        {"content": [{"index": 0, "type": "text", "text": {"value": "【1†guide.pdf】",
                                                           "annotations": [{"index": 0, **first}]}}]},
        {"content": [{"index": 0, "type": "text", "text": {"value": " guide."}}]},
        {"content": [{"index": 0, "type": "text", "text": {"value": " Then the notes."}}]},
        {"content": [{"index": 0, "type": "text", "text": {"value": "【2†notes.md】",
                                                           "annotations": [{"index": 1, **second}]}}]},
    ]
    [part] = _message(played.turn).content
    value = part["text"]["value"]
    assert value == "Read the【1†guide.pdf】 guide. Then the notes.【2†notes.md】"
    assert part["text"]["annotations"] == [first, second]
    for annotation in part["text"]["annotations"]:  # the classic value.replace(annotation.text, ...) loop works
        assert value[annotation["start_index"]:annotation["end_index"]] == annotation["text"]


# -- function calls --------------------------------------------------------------------------------------------------


def test_one_function_call() -> None:
    reply = _replies.reply_function_calls([("get_weather", '{"city":"Paris"}', "call_1")])
    played = play(_events(reply))
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", TOOL_STEP_OPENS),
        ("response.function_call_arguments.delta", ["thread.run.step.delta"]),
        ("response.function_call_arguments.delta", ["thread.run.step.delta"]),
        ("response.function_call_arguments.delta", ["thread.run.step.delta"]),
        # response.output_item.done and response.completed: nothing to show
    ]
    step = turn.tool_step
    assert step is not None and _steps(turn) == [step] and played.stores == [Store((step,))]
    deltas = played.deltas("thread.run.step.delta")
    assert deltas[0] == {"step_details": {"type": "tool_calls", "tool_calls": [
        {"index": 0, "id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "", "output": None}}]}}
    assert [delta["step_details"]["tool_calls"] for delta in deltas[1:]] == [
        [{"index": 0, "type": "function", "function": {"arguments": chunk}}] for chunk in reply.chunks[(0, 0)]]
    assert all(payload["id"] == step.id and payload["object"] == "thread.run.step.delta"
               for payload in played.payloads("thread.run.step.delta"))

    assert turn.function_calls == [ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}')]
    assert step.step_details == {"type": "tool_calls", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city":"Paris"}', "output": None}}]}
    assert turn.terminal_event == "response.completed" and turn.output_items == reply.output

    assert turn.finish("requires_action", NOW + 5) == []
    assert step.status == "in_progress" and step.completed_at is None and step.usage is None  # open until outputs


def test_two_function_calls_share_one_tool_step() -> None:
    reply = _replies.reply_function_calls([("lookup", '{"q":"a"}', "call_1"), ("lookup", '{"q":"b"}', "call_2")])
    played = play(_events(reply))
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", TOOL_STEP_OPENS),
        *[("response.function_call_arguments.delta", ["thread.run.step.delta"])] * 3,
        ("response.output_item.added", ["thread.run.step.delta"]),  # the second call: no second step
        *[("response.function_call_arguments.delta", ["thread.run.step.delta"])] * 3,
    ]
    step = turn.tool_step
    assert step is not None and _steps(turn) == [step]
    announced = [delta["step_details"]["tool_calls"][0] for delta in played.deltas("thread.run.step.delta")
                 if "id" in delta["step_details"]["tool_calls"][0]]
    assert [(call["index"], call["id"]) for call in announced] == [(0, "call_1"), (1, "call_2")]
    assert turn.function_calls == [ToolCall(id="call_1", name="lookup", arguments='{"q":"a"}'),
                                   ToolCall(id="call_2", name="lookup", arguments='{"q":"b"}')]
    assert [call["function"]["arguments"] for call in step.step_details["tool_calls"]] == ['{"q":"a"}', '{"q":"b"}']

    assert turn.finish("requires_action", NOW + 5) == []
    assert step.status == "in_progress"


def test_text_before_a_function_call_completes_its_step_before_the_tool_step_opens() -> None:
    reply = _replies.reply_function_calls([("lookup", '{"q":"a"}', "call_1")], text="Let me check.")
    played = play(_events(reply))
    turn = played.turn

    assert [effect_names for upstream, effect_names in played.trace if upstream == "response.output_item.added"] == [
        MESSAGE_OPENS,
        ["thread.run.step.completed", *TOOL_STEP_OPENS],  # completed before the tool step, so handlers see order
    ]
    message_step, tool_step = _steps(turn)
    assert tool_step is turn.tool_step
    [completed] = played.payloads("thread.run.step.completed")
    assert completed.id == message_step.id and completed.usage is None  # the usage is not known yet (§5.5)

    assert turn.finish("requires_action", NOW + 5) == []
    assert message_step.status == "completed" and message_step.usage == ZERO  # the call's usage goes to its last step
    assert tool_step.status == "in_progress" and tool_step.usage is None  # ...given when its outputs arrive
    assert _message(turn).status == "completed"


# -- built-in tools --------------------------------------------------------------------------------------------------


def test_code_interpreter_call_then_answer() -> None:
    events = _code_interpreter_then_text(["print(1", " + 1)"], "2\n", ["It is", " 2."])
    played = play(events)
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", TOOL_STEP_OPENS),
        ("response.code_interpreter_call_code.delta", ["thread.run.step.delta"]),
        ("response.code_interpreter_call_code.delta", ["thread.run.step.delta"]),
        ("response.output_item.done", ["thread.run.step.completed"]),
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_item.done", ["thread.message.completed"]),
        ("response.completed", ["thread.run.step.completed"]),
    ]
    assert played.deltas("thread.run.step.delta") == [
        {"step_details": {"type": "tool_calls", "tool_calls": [
            {"index": 0, "id": "ci_1", "type": "code_interpreter", "code_interpreter": {"input": "", "outputs": []}}]}},
        {"step_details": {"type": "tool_calls", "tool_calls": [
            {"index": 0, "type": "code_interpreter", "code_interpreter": {"input": "print(1"}}]}},
        {"step_details": {"type": "tool_calls", "tool_calls": [
            {"index": 0, "type": "code_interpreter", "code_interpreter": {"input": " + 1)"}}]}},
    ]
    code_step, message_step = _steps(turn)
    assert turn.tool_step is None and turn.function_calls == []  # a built-in tool never asks for outputs
    assert code_step.status == "completed" and code_step.completed_at == NOW
    assert code_step.step_details == {"type": "tool_calls", "tool_calls": [
        {"id": "ci_1", "type": "code_interpreter",
         "code_interpreter": {"input": "print(1 + 1)", "outputs": [{"type": "logs", "logs": "2\n"}]}}]}
    assert _message(turn).text() == "It is 2."

    assert turn.finish("completed", NOW + 1) == []
    assert (code_step.usage, message_step.usage) == (ZERO, USAGE)  # §4.11: the last step carries the call's usage


def test_a_builtin_tool_step_is_announced_empty() -> None:
    played = play(_code_interpreter_then_text(["print(1)"], "1\n", ["One."]))
    created = played.payloads("thread.run.step.created")[0]
    assert created.type == "tool_calls"
    assert created.step_details["tool_calls"] == []


# -- payloads are snapshots ------------------------------------------------------------------------------------------


def test_event_payloads_are_snapshots_of_the_objects() -> None:
    turn = Turn(_run(), FakeClock())
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": "",
            "status": "in_progress"}
    effects = turn.handle({"type": "response.output_item.added", "output_index": 0, "item": item})
    assert names(effects) == TOOL_STEP_OPENS

    step = turn.tool_step
    assert step is not None and len(step.step_details["tool_calls"]) == 1  # the call was added in the same handle()
    store, created = effects[0], effects[1]
    assert isinstance(store, Store) and store.objects[0] is step  # stored: the live object
    assert isinstance(created, Event) and created.payload is not step  # announced: a copy as it was then
    assert created.payload.step_details == {"type": "tool_calls", "tool_calls": []}

    played = play(text_events("Hi"))
    [message_created] = played.payloads("thread.message.created")
    [message_completed] = played.payloads("thread.message.completed")
    assert message_created.content == [] and message_created.status == "in_progress"
    assert message_completed.text() == "Hi" and _message(played.turn).text() == "Hi"


def test_returned_effects_are_not_changed_later() -> None:
    turn = Turn(_run(), FakeClock())
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": "",
            "status": "in_progress"}
    events = [effect for effect in turn.handle({"type": "response.output_item.added", "output_index": 0, "item": item})
              if isinstance(effect, Event)]  # a Store holds the live objects, which do change: that is its job
    as_returned = copy.deepcopy(events)
    turn.handle({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"q":"a"}'})
    assert events == as_returned


# -- endings ---------------------------------------------------------------------------------------------------------


def test_incomplete_response() -> None:
    reply = _replies.reply_incomplete("Cut off mid", reason="max_output_tokens")
    reply.chunks = {(0, 0): ["Cut off", " mid"]}
    played = play(_events(reply))
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.delta", ["thread.message.delta"]),
        # the incomplete item and response.incomplete leave the message and step to finish()
    ]
    assert turn.terminal_event == "response.incomplete"
    message, [step] = _message(turn), _steps(turn)
    assert message.status == "in_progress" and step.status == "in_progress"

    events = turn.finish("incomplete", NOW + 1, message_reason="max_tokens")
    assert names(events) == ["thread.message.incomplete", "thread.run.step.completed"]  # §4.10: the step completes
    assert message.model_dump(include={"status", "incomplete_details", "incomplete_at", "completed_at"}) == {
        "status": "incomplete", "incomplete_details": {"reason": "max_tokens"}, "incomplete_at": NOW + 1,
        "completed_at": None}
    assert message.text() == "Cut off mid"
    assert step.status == "completed" and step.completed_at == NOW + 1
    assert events[0].payload.incomplete_details == {"reason": "max_tokens"}
    assert events[1].payload.status == "completed"


def test_incomplete_response_gives_its_usage_to_the_last_step() -> None:
    turn = play(_events(_replies.reply_incomplete("Cut off mid"))).turn
    turn.finish("incomplete", NOW + 1, message_reason="max_tokens")
    [step] = _steps(turn)
    assert step.usage == USAGE


def test_failed_response_fails_the_open_steps_with_the_step_error() -> None:
    reply = _replies.reply_failed("server_error", "The model failed.", text="Partial")
    reply.chunks = {(0, 0): ["Part", "ial"]}
    played = play(_events(reply))
    turn = played.turn

    assert played.trace == [
        ("response.output_item.added", MESSAGE_OPENS),
        ("response.output_text.delta", ["thread.message.delta"]),
        ("response.output_text.delta", ["thread.message.delta"]),
    ]
    assert turn.terminal_event == "response.failed"

    step_error = {"code": "server_error", "message": "The model failed."}
    events = turn.finish("failed", NOW + 2, step_error=step_error)
    assert names(events) == ["thread.message.incomplete", "thread.run.step.failed"]
    message, [step] = _message(turn), _steps(turn)
    assert message.status == "incomplete" and message.incomplete_details == {"reason": "run_failed"}
    assert message.incomplete_at == NOW + 2 and message.text() == "Partial"
    assert step.model_dump(include={"status", "failed_at", "completed_at", "last_error", "usage"}) == {
        "status": "failed", "failed_at": NOW + 2, "completed_at": None, "last_error": step_error, "usage": None}
    assert events[1].payload.last_error == step_error


def test_failed_call_fails_an_open_tool_step_too() -> None:
    events = _events(_replies.reply_function_calls([("lookup", "{}", "call_1")]))
    turn = play(events[:-1]).turn  # the stream broke before the terminal event
    step_error = {"code": "server_error", "message": "The model stream ended before the response was complete."}
    assert names(turn.finish("failed", NOW + 2, step_error=step_error)) == ["thread.run.step.failed"]
    assert turn.tool_step is not None and turn.tool_step.status == "failed"
    assert turn.tool_step.last_error == step_error


def test_cancel_mid_answer() -> None:
    events = text_events("Hello there")
    cut = next(i for i, event in enumerate(events) if event["type"] == "response.output_text.delta") + 1
    played = play(events[:cut])  # the cancel arrived after the first delta
    turn = played.turn
    assert played.trace[-1] == ("response.output_text.delta", ["thread.message.delta"])
    assert turn.terminal is None and turn.terminal_event is None

    events_out = turn.finish("cancelled", NOW + 3)
    assert names(events_out) == ["thread.message.incomplete", "thread.run.step.cancelled"]
    message, [step] = _message(turn), _steps(turn)
    assert message.status == "incomplete" and message.incomplete_details == {"reason": "run_cancelled"}
    assert message.incomplete_at == NOW + 3 and message.text() == "Hello"
    assert step.status == "cancelled" and step.cancelled_at == NOW + 3 and step.usage is None


def test_cancel_after_requires_action_cancels_the_tool_step() -> None:
    """``finish`` may run again with another outcome: a cancel that won the race against requires_action."""
    turn = play(_events(_replies.reply_function_calls([("lookup", "{}", "call_1")]))).turn
    assert turn.finish("requires_action", NOW + 1) == []
    assert names(turn.finish("cancelled", NOW + 2)) == ["thread.run.step.cancelled"]
    assert turn.tool_step is not None and turn.tool_step.status == "cancelled"
    assert turn.tool_step.cancelled_at == NOW + 2


def test_reasoning_items_are_kept_for_replay_but_not_shown() -> None:
    reply = text_reply("Done.", chunks=["Done."], reasoning=True)
    played = play(_events(reply))
    assert [item["type"] for item in played.turn.output_items] == ["reasoning", "message"]
    assert played.turn.output_items == reply.output
    assert [type(obj).__name__ for obj in played.turn.objects()] == ["Message", "RunStep"]
