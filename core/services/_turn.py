"""One Responses call of a run, mapped event by event onto Assistants objects and stream events (§5.5).

The :class:`Turn` does no I/O (the h11 idea): :meth:`Turn.handle` takes one Responses stream event and returns
what follows from it, as effects in order: :class:`Store` (objects that just appeared, to be stored at once so
pollers see them) and :class:`Event` (an Assistants stream event). :meth:`Turn.finish` settles what the call left
open for the run's outcome and returns the events announcing it. The run executor applies the effects and writes
the outcome.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.domain.ids import new_id
from core.domain.models import JSON, Message, Run, RunStep, ToolCall, _Stored
from core.ports.clock import Clock

from ._open_message import OpenMessage
from ._run_state import settle_message, settle_step
from .translation import builtin_call_details, usage_of

__all__ = ["Effect", "Emit", "Event", "Store", "Turn"]

Emit = Callable[[str, "_Stored | JSON"], Awaitable[None]]


@dataclass(frozen=True)
class Store:
    """Objects the call just opened: store them now (before the events that announce them)."""

    objects: tuple[_Stored, ...]


@dataclass(frozen=True)
class Event:
    """An Assistants stream event."""

    name: str
    payload: _Stored | JSON


Effect = Store | Event
_TERMINAL_EVENTS = {"response.completed": "completed", "response.incomplete": "incomplete",
                    "response.failed": "failed"}


class Turn:
    def __init__(self, run: Run, clock: Clock) -> None:
        self.run = run
        self._clock = clock
        self._effects: list[Effect] = []
        self.messages: dict[int, OpenMessage] = {}  # by output_index
        self.steps: list[RunStep] = []  # every step this call created, in order
        self.tool_step: RunStep | None = None  # the step gathering this call's function calls
        self._tool_index: dict[int, int] = {}  # output_index -> position in its step's tool_calls
        self._builtin: dict[int, RunStep] = {}  # output_index -> step of a built-in tool call
        self._message_step: RunStep | None = None  # completed message whose step is still open
        self.function_calls: list[ToolCall] = []
        self.output_items: list[JSON] = []
        self.terminal: JSON | None = None  # the final Response object
        self.terminal_event: str | None = None
        self.failure: str | None = None  # why the response cannot be mapped, when it cannot
        self._finished: set[str] = set()  # keys of the upstream items processed as done

    def handle(self, event: JSON) -> list[Effect]:
        """What one Responses stream event means for the run, in order."""
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            handler(self, event)
        effects, self._effects = self._effects, []
        return effects

    def _emit(self, name: str, payload: _Stored | JSON) -> None:
        # Objects change as the call goes on; the event shows them as they are now.
        shown = payload.model_copy(deep=True) if isinstance(payload, _Stored) else payload
        self._effects.append(Event(name, shown))

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _new_step(self, kind: str, details: JSON) -> RunStep:
        step = RunStep(id=new_id("step"), created_at=self._clock.now(), tenant_id=self.run.tenant_id,
                       run_id=self.run.id, assistant_id=self.run.assistant_id, thread_id=self.run.thread_id,
                       type=kind, step_details=details)
        self.steps.append(step)
        return step

    def _announce(self, step: RunStep, message: Message | None = None) -> None:
        self._effects.append(Store((step,) if message is None else (step, message)))
        self._emit("thread.run.step.created", step)
        self._emit("thread.run.step.in_progress", step)
        if message is not None:
            self._emit("thread.message.created", message)
            self._emit("thread.message.in_progress", message)

    def close_message_step(self) -> None:
        """Complete the step of the last finished message (before another item opens, or at the end)."""
        step, self._message_step = self._message_step, None
        if step is not None and step.status == "in_progress":
            step.status, step.completed_at = "completed", self._clock.now()
            self._emit("thread.run.step.completed", step)

    def _message_delta(self, open_message: OpenMessage, part_delta: JSON | None) -> None:
        if part_delta is not None:
            self._emit("thread.message.delta", open_message.delta(part_delta))

    def _step_delta(self, step: RunStep, call_delta: JSON) -> None:
        delta = {"id": step.id, "object": "thread.run.step.delta",
                 "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}}}
        self._emit("thread.run.step.delta", delta)

    def _part(self, event: JSON, kind: str = "text") -> tuple[OpenMessage, int]:
        """The message and part a delta is for. Some Responses implementations send deltas without announcing their
        item or part (or without a ``content_index``): those open on their first delta."""
        position = event.get("output_index", 0)
        open_message = self.messages.get(position)
        if open_message is None:
            open_message = self._open_message(position, event.get("item_id"))
        return open_message, open_message.part(event.get("content_index", 0), kind)

    def _open_message(self, position: int, item_id: str | None) -> OpenMessage:
        self.close_message_step()
        message = Message(id=new_id("msg"), created_at=self._clock.now(), tenant_id=self.run.tenant_id,
                          thread_id=self.run.thread_id, status="in_progress", role="assistant",
                          assistant_id=self.run.assistant_id, run_id=self.run.id)
        step = self._new_step("message_creation",
                              {"type": "message_creation", "message_creation": {"message_id": message.id}})
        self.messages[position] = OpenMessage(message, step, item_id)
        self._announce(step, message)
        return self.messages[position]

    def _free_position(self, position: int) -> int:
        """``position``, or an unused one when an item already holds it (servers that number every item 0)."""
        used = {*self.messages, *self._tool_index, *self._builtin}
        return position if position not in used else min(*used, 0) - 1

    # -- upstream events -------------------------------------------------------------------------------------------

    def _item_added(self, event: JSON) -> None:
        item, position = event["item"], event["output_index"]
        kind = item.get("type")
        if kind not in ("message", "function_call", "file_search_call", "code_interpreter_call"):
            return
        if kind == "message":
            self._open_message(position, item.get("id"))
            return
        self.close_message_step()
        if kind == "function_call":
            if self.tool_step is None:
                self.tool_step = self._new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
                self._announce(self.tool_step)
            calls = self.tool_step.step_details["tool_calls"]
            self._tool_index[position] = len(calls)
            call = {"id": item.get("call_id") or "", "type": "function",
                    "function": {"name": item.get("name") or "", "arguments": "", "output": None}}
            calls.append(call)
            self._step_delta(self.tool_step, {"index": len(calls) - 1, **copy.deepcopy(call)})
        else:
            builtin = "file_search" if kind == "file_search_call" else "code_interpreter"
            body: JSON = {} if builtin == "file_search" else {"input": "", "outputs": []}
            step = self._new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
            self._builtin[position] = step
            self._announce(step)  # announced empty, like a function step: the first delta brings the call
            step.step_details["tool_calls"].append({"id": item["id"], "type": builtin, builtin: body})
            self._step_delta(step, {"index": 0, "id": item["id"], "type": builtin, builtin: copy.deepcopy(body)})

    def _part_added(self, event: JSON) -> None:
        open_message = self.messages.get(event["output_index"])
        if open_message is None:
            return
        open_message.part(event.get("content_index", 0), (event.get("part") or {}).get("type", "text"))

    def _text_delta(self, event: JSON) -> None:
        open_message, index = self._part(event)
        self._message_delta(open_message, open_message.append_text(index, event["delta"]))

    def _annotation_added(self, event: JSON) -> None:
        open_message, index = self._part(event)
        self._message_delta(open_message, open_message.annotate(index, event["annotation"]))

    def _refusal_delta(self, event: JSON) -> None:
        open_message, index = self._part(event, "refusal")
        self._message_delta(open_message, open_message.append_refusal(index, event["delta"]))

    def _arguments_delta(self, event: JSON) -> None:
        position = event["output_index"]
        if self.tool_step is None or position not in self._tool_index:
            return
        index = self._tool_index[position]
        self.tool_step.step_details["tool_calls"][index]["function"]["arguments"] += event["delta"]
        self._step_delta(self.tool_step, {"index": index, "type": "function",
                                                "function": {"arguments": event["delta"]}})

    def _code_delta(self, event: JSON) -> None:
        step = self._builtin.get(event["output_index"])
        if step is None:
            return
        step.step_details["tool_calls"][0]["code_interpreter"]["input"] += event["delta"]
        self._step_delta(step, {"index": 0, "type": "code_interpreter",
                                      "code_interpreter": {"input": event["delta"]}})

    def _item_done(self, event: JSON) -> None:
        item, position = event["item"], event.get("output_index", 0)
        key = str(item.get("id") or item.get("call_id") or f"#{position}")
        if key in self._finished:
            return
        self._finished.add(key)
        self.output_items.append(item)  # replayed verbatim in this run's later calls (§4.3)
        kind = item.get("type")
        if kind == "message":
            self._message_done(self._message_for(item, position), item)
        elif kind == "function_call":
            self._call_done(item, position)
        elif kind in ("file_search_call", "code_interpreter_call"):
            if position not in self._builtin:  # never announced
                position = self._free_position(position)
                self._item_added({"item": item, "output_index": position})
            self._builtin_done(self._builtin[position], item)

    def _message_for(self, item: JSON, position: int) -> OpenMessage:
        """The open message a finished message item is, opening it if the stream never did."""
        item_id = item.get("id")
        for entry in self.messages.values():
            if item_id and entry.item_id == item_id:
                return entry
        at_position = self.messages.get(position)
        if at_position is not None and not at_position.done and at_position.item_id in (None, item_id):
            return at_position
        return self._open_message(self._free_position(position), item_id)

    def _message_done(self, open_message: OpenMessage, item: JSON) -> None:
        open_message.done = True
        for upstream_index, final in enumerate(item.get("content") or []):
            self._message_delta(open_message, open_message.catch_up(upstream_index, final))
        for empty in open_message.unannounced():
            self._message_delta(open_message, empty)
        if item.get("status") != "incomplete":
            message = open_message.message
            message.status, message.completed_at = "completed", self._clock.now()
            self._emit("thread.message.completed", message)
            self._message_step = open_message.step

    def _call_done(self, item: JSON, position: int) -> None:
        calls = self.tool_step.step_details["tool_calls"] if self.tool_step is not None else []
        if position not in self._tool_index or calls[self._tool_index[position]]["id"] != item.get("call_id"):
            position = self._free_position(position)  # a call the stream never announced
            self._item_added({"item": item, "output_index": position})
        assert self.tool_step is not None
        index = self._tool_index[position]
        call = self.tool_step.step_details["tool_calls"][index]
        if not item.get("call_id") or not item.get("name"):
            self.failure = "The model asked for a function call without a name or call id."
            return
        final, sent = str(item.get("arguments") or ""), call["function"]["arguments"]
        if len(final) > len(sent) and final.startswith(sent):
            self._step_delta(self.tool_step, {"index": index, "type": "function",
                                              "function": {"arguments": final[len(sent):]}})
        call["function"]["arguments"] = final or sent
        self.function_calls.append(ToolCall(id=item["call_id"], name=item["name"],
                                            arguments=call["function"]["arguments"]))

    def _builtin_done(self, step: RunStep, item: JSON) -> None:
        call = step.step_details["tool_calls"][0]
        call[call["type"]] = builtin_call_details(call["type"], item, call[call["type"]])
        step.status, step.completed_at = "completed", self._clock.now()
        self._emit("thread.run.step.completed", step)

    def _terminal(self, event: JSON) -> None:
        self.terminal, self.terminal_event = event.get("response") or {}, event["type"]
        # Items the stream never finished (some servers only list them here) are processed now: nothing is lost.
        for position, item in enumerate(self.terminal.get("output") or []):
            if isinstance(item, dict):
                self._item_done({"item": item, "output_index": position})
        if event["type"] == "response.completed":
            last = self._message_step
            if last is not None and last is self.steps[-1]:
                last.usage = usage_of(self.terminal)  # before the event announcing the step, which carries it
            self.close_message_step()

    def outcome(self) -> tuple[str, str | None]:
        """(the run's next status, why it failed) from the terminal event, never a false ``completed``: a response
        whose output holds function calls wants their outputs, and one that says it failed, or that we could not
        map, fails."""
        terminal = self.terminal or {}
        outcome = _TERMINAL_EVENTS.get(self.terminal_event or "")
        if outcome is None:
            return "failed", "The model stream ended before the response was complete."
        if self.failure is not None:
            return "failed", self.failure
        if outcome == "completed" and terminal.get("status") in ("failed", "incomplete"):
            outcome = terminal["status"]
        if outcome == "completed" and terminal.get("error"):
            outcome = "failed"
        if outcome == "completed" and self.function_calls:
            return "requires_action", None
        return outcome, None

    def finish(self, outcome: str, now: int, *, message_reason: str | None = None,
               step_error: JSON | None = None) -> list[Event]:
        """Settle what the call left open for the run's ``outcome``; returns the events announcing it, to be sent
        once the outcome is stored. Safe to call again with another outcome (a cancel that won a race)."""
        for entry in self.messages.values():
            if entry.message.status == "in_progress":
                settle_message(entry.message, outcome, now, message_reason)
                self._emit(f"thread.message.{entry.message.status}", entry.message)
        self.close_message_step()
        usage = usage_of(self.terminal or {})
        if outcome != "requires_action":  # the tool step stays open until its outputs arrive
            for step in self.steps:
                if step.status == "in_progress":
                    last = step is self.steps[-1]
                    settle_step(step, outcome, now, last_error=step_error, usage=usage if last else None)
                    self._emit(f"thread.run.step.{step.status}", step)
        for step in self.steps:  # the call's usage goes to its last step, zeros to the others (§4.11)
            if step.status == "completed" and step.usage is None:
                step.usage = usage if step is self.steps[-1] else type(usage)()
        events, self._effects = [effect for effect in self._effects if isinstance(effect, Event)], []
        return events

    def objects(self) -> list[_Stored]:
        """Every object this call opened."""
        return [*(entry.message for entry in self.messages.values()), *self.steps]

_HANDLERS: dict[str, Callable[[Turn, JSON], None]] = {
    "response.output_item.added": Turn._item_added,
    "response.content_part.added": Turn._part_added,
    "response.output_text.delta": Turn._text_delta,
    "response.output_text.annotation.added": Turn._annotation_added,
    "response.refusal.delta": Turn._refusal_delta,
    "response.function_call_arguments.delta": Turn._arguments_delta,
    "response.code_interpreter_call_code.delta": Turn._code_delta,
    "response.output_item.done": Turn._item_done,
    "response.completed": Turn._terminal,
    "response.incomplete": Turn._terminal,
    "response.failed": Turn._terminal,
}
