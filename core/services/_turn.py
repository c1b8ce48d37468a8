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
from dataclasses import dataclass, field

from core.domain.ids import new_id
from core.domain.models import JSON, Message, Run, RunStep, ToolCall, _Stored
from core.ports.clock import Clock

from ._run_state import settle_message, settle_step
from .translation import map_annotation, usage_of

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


@dataclass
class _OpenMessage:
    message: Message
    step: RunStep
    parts: dict[int, int] = field(default_factory=dict)  # upstream content_index -> our content index
    announced: set[int] = field(default_factory=set)  # our content indexes that have had a delta
    citations: int = 0
    markers: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # part -> (upstream offset, length)

    def shifted(self, index: int, upstream_offset: int) -> int:
        """An upstream text offset in our text, which has citation markers inserted."""
        return upstream_offset + sum(length for at, length in self.markers.get(index, []) if at <= upstream_offset)


class Turn:
    def __init__(self, run: Run, clock: Clock) -> None:
        self.run = run
        self._clock = clock
        self._effects: list[Effect] = []
        self.messages: dict[int, _OpenMessage] = {}  # by output_index
        self.steps: list[RunStep] = []  # every step this call created, in order
        self.tool_step: RunStep | None = None  # the step gathering this call's function calls
        self._tool_index: dict[int, int] = {}  # output_index -> position in its step's tool_calls
        self._builtin: dict[int, RunStep] = {}  # output_index -> step of a built-in tool call
        self._message_step: RunStep | None = None  # completed message whose step is still open
        self.function_calls: list[ToolCall] = []
        self.output_items: list[JSON] = []
        self.terminal: JSON | None = None  # the final Response object
        self.terminal_event: str | None = None

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

    def _message_delta(self, open_message: _OpenMessage, index: int, part_delta: JSON) -> None:
        open_message.announced.add(index)
        delta = {"id": open_message.message.id, "object": "thread.message.delta", "delta": {"content": [part_delta]}}
        self._emit("thread.message.delta", delta)

    def _step_delta(self, step: RunStep, call_delta: JSON) -> None:
        delta = {"id": step.id, "object": "thread.run.step.delta",
                 "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}}}
        self._emit("thread.run.step.delta", delta)

    def _part(self, event: JSON) -> tuple[_OpenMessage, int, JSON]:
        open_message = self.messages[event["output_index"]]
        index = open_message.parts[event["content_index"]]
        return open_message, index, open_message.message.content[index]

    # -- upstream events -------------------------------------------------------------------------------------------

    def _item_added(self, event: JSON) -> None:
        item, position = event["item"], event["output_index"]
        kind = item.get("type")
        if kind not in ("message", "function_call", "file_search_call", "code_interpreter_call"):
            return
        self.close_message_step()
        now = self._clock.now()
        if kind == "message":
            message = Message(id=new_id("msg"), created_at=now, tenant_id=self.run.tenant_id,
                              thread_id=self.run.thread_id, status="in_progress", role="assistant",
                              assistant_id=self.run.assistant_id, run_id=self.run.id)
            step = self._new_step("message_creation",
                                  {"type": "message_creation", "message_creation": {"message_id": message.id}})
            self.messages[position] = _OpenMessage(message, step)
            self._announce(step, message)
        elif kind == "function_call":
            if self.tool_step is None:
                self.tool_step = self._new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
                self._announce(self.tool_step)
            calls = self.tool_step.step_details["tool_calls"]
            self._tool_index[position] = len(calls)
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": "", "output": None}}
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
        content = open_message.message.content
        open_message.parts[event["content_index"]] = len(content)
        if event["part"].get("type") == "refusal":
            content.append({"type": "refusal", "refusal": ""})
        else:
            content.append({"type": "text", "text": {"value": "", "annotations": []}})

    def _text_delta(self, event: JSON) -> None:
        open_message, index, part = self._part(event)
        part["text"]["value"] += event["delta"]
        text: JSON = {"value": event["delta"]}
        if index not in open_message.announced:
            text["annotations"] = []
        self._message_delta(open_message, index, {"index": index, "type": "text", "text": text})

    def _annotation_added(self, event: JSON) -> None:
        open_message, index, part = self._part(event)
        upstream = dict(event["annotation"])
        for key in ("start_index", "end_index"):
            if isinstance(upstream.get(key), int):
                upstream[key] = open_message.shifted(index, upstream[key])
        marker, annotation = map_annotation(upstream, part["text"]["value"], open_message.citations + 1)
        if annotation is None:
            return
        open_message.citations += 1
        if marker:
            inserted = open_message.markers.setdefault(index, [])
            inserted.append((len(part["text"]["value"]) - sum(length for _, length in inserted), len(marker)))
        part["text"]["value"] += marker
        annotations = part["text"]["annotations"]
        annotations.append(annotation)
        text = {"value": marker, "annotations": [{"index": len(annotations) - 1, **annotation}]}
        self._message_delta(open_message, index, {"index": index, "type": "text", "text": text})

    def _refusal_delta(self, event: JSON) -> None:
        open_message, index, part = self._part(event)
        part["refusal"] += event["delta"]
        self._message_delta(open_message, index, {"index": index, "type": "refusal", "refusal": event["delta"]})

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
        item, position = event["item"], event["output_index"]
        self.output_items.append(item)  # replayed verbatim in this run's later calls (§4.3)
        kind = item.get("type")
        if kind == "message" and position in self.messages:
            open_message = self.messages[position]
            for index, part in enumerate(open_message.message.content):
                if index not in open_message.announced:  # every part needs a delta, or handlers never see it
                    empty: JSON = ({"index": index, "type": "refusal", "refusal": ""} if part["type"] == "refusal"
                                   else {"index": index, "type": "text", "text": {"value": "", "annotations": []}})
                    self._message_delta(open_message, index, empty)
            if item.get("status") != "incomplete":
                message = open_message.message
                message.status, message.completed_at = "completed", self._clock.now()
                self._emit("thread.message.completed", message)
                self._message_step = open_message.step
        elif kind == "function_call" and self.tool_step is not None and position in self._tool_index:
            call = self.tool_step.step_details["tool_calls"][self._tool_index[position]]
            call["function"]["arguments"] = item.get("arguments", call["function"]["arguments"])
            self.function_calls.append(ToolCall(id=item["call_id"], name=item["name"],
                                                arguments=call["function"]["arguments"]))
        elif position in self._builtin:
            self._builtin_done(self._builtin[position], item)

    def _builtin_done(self, step: RunStep, item: JSON) -> None:
        call = step.step_details["tool_calls"][0]
        if call["type"] == "file_search":
            results = [
                {"file_id": found.get("file_id"), "file_name": found.get("filename"), "score": found.get("score"),
                 **({"content": [{"type": "text", "text": found["text"]}]} if found.get("text") else {})}
                for found in item.get("results") or []
            ]
            call["file_search"] = {"ranking_options": {"ranker": "auto", "score_threshold": 0.0}, "results": results}
        else:
            call["code_interpreter"] = {
                "input": item.get("code") or call["code_interpreter"]["input"],
                "outputs": [{"type": "logs", "logs": output.get("logs", "")}
                            for output in item.get("outputs") or [] if output.get("type") == "logs"],
            }
        step.status, step.completed_at = "completed", self._clock.now()
        self._emit("thread.run.step.completed", step)

    def _terminal(self, event: JSON) -> None:
        self.terminal, self.terminal_event = event.get("response") or {}, event["type"]
        if event["type"] == "response.completed":
            last = self._message_step
            if last is not None and last is self.steps[-1]:
                last.usage = usage_of(self.terminal)  # before the event announcing the step, which carries it
            self.close_message_step()

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
