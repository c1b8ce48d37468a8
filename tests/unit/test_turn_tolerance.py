"""Golden tests of the Turn on the stream shapes of other Responses implementations (issue 13): items never announced,
no ``content_index``, every item numbered 0, finished items only in the terminal event's ``output``. Nothing may be
lost, and no response that holds a call, text or an error may end the run ``completed`` without it."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain.models import Run
from core.services._turn import Event, Store, Turn
from tests.fakes import FakeClock

Json = dict[str, Any]


def _run() -> Run:
    return Run(id="run_1", created_at=1, tenant_id="t", thread_id="thread_1", assistant_id="asst_1", model="m")


def _play(events: list[Json]) -> tuple[Turn, list[str], list[Event]]:
    turn = Turn(_run(), FakeClock())
    names: list[str] = []
    shown: list[Event] = []
    for event in events:
        for effect in turn.handle(event):
            names.append("store" if isinstance(effect, Store) else effect.name)
            if isinstance(effect, Event):
                shown.append(effect)
    return turn, names, shown


def _completed(*output: Json, status: str = "completed", **extra: Any) -> Json:
    return {"type": "response.completed", "response": {"id": "resp_1", "status": status, "output": list(output),
                                                        "usage": {"input_tokens": 3, "output_tokens": 2}, **extra}}


def _message_item(text: str, item_id: str = "msg_up") -> Json:
    return {"id": item_id, "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def _call_item(name: str = "get_weather", arguments: str = '{"city":"Paris"}', call_id: str = "call_1") -> Json:
    return {"id": call_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def _text_deltas(*pieces: str, item_id: str = "msg_up") -> list[Json]:
    """open-responses-server's text: deltas with an item id and output_index 0, nothing else."""
    return [{"type": "response.output_text.delta", "item_id": item_id, "output_index": 0, "delta": piece}
            for piece in pieces]


def _texts(shown: list[Event]) -> str:
    return "".join(part["text"]["value"] for event in shown if event.name == "thread.message.delta"
                   for part in event.payload["delta"]["content"] if part["type"] == "text")  # type: ignore[index]


def test_text_deltas_of_an_unannounced_item_open_the_message() -> None:
    turn, names, shown = _play([*_text_deltas("Hel", "lo"), _completed(_message_item("Hello"))])
    assert names == ["store", "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
                     "thread.message.in_progress", "thread.message.delta", "thread.message.delta",
                     "thread.message.completed", "thread.run.step.completed"]
    assert _texts(shown) == "Hello"
    [message] = [entry.message for entry in turn.messages.values()]
    assert message.text() == "Hello" and message.status == "completed"
    assert turn.outcome() == ("completed", None)
    assert turn.output_items == [_message_item("Hello")]  # replayed in the run's next call


def test_text_only_in_the_terminal_output_is_not_lost() -> None:
    turn, names, shown = _play([_completed(_message_item("All at once"))])
    assert names.count("store") == 1 and "thread.message.completed" in names
    assert _texts(shown) == "All at once"
    assert turn.outcome() == ("completed", None)


def test_text_the_deltas_cut_short_is_completed_from_the_output() -> None:
    turn, _, shown = _play([*_text_deltas("The begin"), _completed(_message_item("The beginning and the end"))])
    assert _texts(shown) == "The beginning and the end"
    [message] = [entry.message for entry in turn.messages.values()]
    assert message.text() == "The beginning and the end"


def test_a_call_only_in_the_terminal_output_requires_action() -> None:
    """The false success of issue 13: a response holding a function call must not end the run completed."""
    arguments_delta = {"type": "response.function_call_arguments.delta", "item_id": "call_1", "output_index": 0,
                       "delta": '{"city":"Paris"}'}
    turn, names, shown = _play([arguments_delta, _completed(_call_item())])
    assert names == ["store", "thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta",
                     "thread.run.step.delta"]
    arguments = [event.payload["delta"]["step_details"]["tool_calls"][0]  # type: ignore[index]
                 for event in shown if event.name == "thread.run.step.delta"]
    assert arguments[0]["id"] == "call_1" and arguments[1]["function"]["arguments"] == '{"city":"Paris"}'
    assert [(call.id, call.name, call.arguments) for call in turn.function_calls] == [
        ("call_1", "get_weather", '{"city":"Paris"}')]
    assert turn.outcome() == ("requires_action", None)


def test_text_and_a_call_both_numbered_zero_keep_both() -> None:
    turn, _, shown = _play([*_text_deltas("Let me check."),
                            _completed(_message_item("Let me check."), _call_item())])
    assert _texts(shown) == "Let me check."
    assert len(turn.messages) == 1 and [call.id for call in turn.function_calls] == ["call_1"]
    assert turn.tool_step is not None and turn.tool_step.step_details["tool_calls"][0]["id"] == "call_1"
    assert turn.outcome() == ("requires_action", None)


def test_items_announced_and_finished_are_not_processed_twice_by_the_terminal_output() -> None:
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": {"id": "msg_up", "type": "message", "role": "assistant", "content": []}}
    done = {"type": "response.output_item.done", "output_index": 0, "item": _message_item("Hi")}
    turn, names, _ = _play([added, *_text_deltas("Hi"), done, _completed(_message_item("Hi"))])
    assert names.count("store") == 1 and names.count("thread.message.completed") == 1
    assert turn.output_items == [_message_item("Hi")]


def test_a_refusal_only_in_the_output_is_kept() -> None:
    refusal = {"id": "msg_up", "type": "message", "role": "assistant",
               "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    turn, _, _ = _play([_completed(refusal)])
    [message] = [entry.message for entry in turn.messages.values()]
    assert message.content == [{"type": "refusal", "refusal": "I can't help with that."}]


@pytest.mark.parametrize(("terminal", "expected"), [
    (_completed(_message_item("x"), status="failed"), "failed"),
    (_completed(_message_item("x"), status="incomplete"), "incomplete"),
    (_completed(error={"code": "server_error", "message": "boom"}), "failed"),
])
def test_a_completed_event_that_says_otherwise_is_not_a_success(terminal: Json, expected: str) -> None:
    turn, _, _ = _play([terminal])
    assert turn.outcome()[0] == expected


def test_a_call_without_a_name_fails_the_run_clearly() -> None:
    turn, _, _ = _play([_completed(_call_item(name=""))])
    outcome, reason = turn.outcome()
    assert outcome == "failed" and reason is not None and "function call" in reason


def test_a_stream_that_ends_without_a_terminal_event_fails() -> None:
    turn, _, _ = _play(_text_deltas("Half"))
    assert turn.outcome() == ("failed", "The model stream ended before the response was complete.")
