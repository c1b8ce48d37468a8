"""Executing a run: one Responses call per turn, mapped by a :class:`~._turn.Turn`, outcome persisted
conditionally (§4, §5).

The same code serves streamed runs (``emit`` writes SSE frames) and background runs (``emit`` discards). A cancel
is noticed at once in this process (:class:`~.run_control.CancelSignals`) and within ``status_poll_seconds``
from any other, through the stored status. Outcomes are written with the run's etag: when a cancel (or expiry)
won the race, that status stands and no second outcome is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from core.domain.errors import ConcurrencyError, UpstreamError
from core.domain.ids import creation_key
from core.domain.models import JSON, Message, Run, RunStep, _Stored
from core.domain.pagination import ListQuery
from core.logs import get_logger
from core.ports.clock import Clock
from core.ports.responses import ResponsesGateway

from ._repository import Repository, thread_partition
from ._run_state import move, settle_message, settle_step
from ._turn import Emit, Turn
from .run_control import CancelSignals
from .runs import RunService
from .translation import (
    MAX_HISTORY_MESSAGES,
    MIN_OUTPUT_TOKENS,
    build_request,
    run_error_code,
    step_error_code,
    usage_of,
)

__all__ = ["RunExecutor", "discard"]

_log = get_logger("runs")


async def discard(event: str, payload: _Stored | JSON) -> None:
    """The ``emit`` of runs nobody is streaming."""


class RunExecutor:
    def __init__(self, repository: Repository, runs: RunService, gateway: ResponsesGateway, clock: Clock,
                 signals: CancelSignals, status_poll_seconds: float = 1.0) -> None:
        self._repository = repository
        self._runs = runs
        self._gateway = gateway
        self._clock = clock
        self._signals = signals
        self._poll = status_poll_seconds

    async def execute(self, tenant_id: str, thread_id: str, run_id: str, emit: Emit = discard) -> Run | None:
        """Take a queued run through one Responses call to its next resting status; ``None`` if it was not queued."""
        signal = self._signals.watch(run_id)  # before the run is ours, so no cancel can slip in between
        try:
            run = await self._start(tenant_id, thread_id, run_id)
            if run is None:
                return None
            await emit("thread.run.in_progress", run)
            try:
                return await self._turn(run, emit, signal)
            except Exception:  # a bug must not leave the run in_progress until it expires
                _log.exception("run execution failed", extra={"run_id": run_id})
                failure = UpstreamError("The server had an error while processing the run.")
                return await self._conclude(run, None, emit, "failed", error=failure)
        finally:
            self._signals.forget(run_id)

    async def _start(self, tenant_id: str, thread_id: str, run_id: str) -> Run | None:
        for _ in range(8):
            run = await self._runs.retrieve(tenant_id, thread_id, run_id, check_thread=False)
            if run.status != "queued":
                return None
            move(run, "in_progress", self._clock.now())
            try:
                await self._repository.save(thread_partition(thread_id), replace=[run])
                return run
            except ConcurrencyError:
                continue
        return None

    async def _turn(self, run: Run, emit: Emit, signal: asyncio.Event) -> Run | None:
        budget = run.max_completion_tokens
        if budget is not None and budget - run.accrued_usage.completion_tokens < MIN_OUTPUT_TOKENS:
            return await self._conclude(run, None, emit, "incomplete", reason="max_completion_tokens")
        if run.max_prompt_tokens is not None and run.accrued_usage.prompt_tokens >= run.max_prompt_tokens:
            return await self._conclude(run, None, emit, "incomplete", reason="max_prompt_tokens")
        history = await self._history(run)
        request = build_request(run, history, first_call=run.upstream_calls == 0)
        if run.max_prompt_tokens is not None:
            while len(history) > 1 and _estimated_tokens(request) > run.max_prompt_tokens:  # keep the latest turn
                history = history[1:]
                request = build_request(run, history, first_call=run.upstream_calls == 0)
            if _estimated_tokens(request) > run.max_prompt_tokens:
                return await self._conclude(run, None, emit, "incomplete", reason="max_prompt_tokens")
        turn = Turn(run, self._repository, self._clock, emit)
        outcome, error = await self._call(turn, request, signal)
        return await self._conclude(run, turn, emit, outcome, error=error)

    async def _history(self, run: Run) -> list[Message | RunStep]:
        """The thread before this run: recent messages and earlier tool steps, oldest first (§4.3)."""
        partition = thread_partition(run.thread_id)
        limit = MAX_HISTORY_MESSAGES
        if run.truncation_strategy.get("type") == "last_messages" and run.truncation_strategy.get("last_messages"):
            limit = min(limit, int(run.truncation_strategy["last_messages"]))
        messages = (await self._repository.page(Message, partition, "messages", ListQuery(limit, "desc"))).data
        messages = [message for message in messages if message.run_id != run.id]
        oldest = creation_key(messages[-1].id if messages else run.id)
        steps = (await self._repository.page(RunStep, partition, "tool_steps", ListQuery(100, "desc"))).data
        steps = [step for step in steps if step.run_id != run.id and creation_key(step.id) > oldest]
        merged: list[Message | RunStep] = [*messages, *steps]
        return sorted(merged, key=lambda entry: creation_key(entry.id))

    async def _call(self, turn: Turn, request: JSON, signal: asyncio.Event) -> tuple[str, UpstreamError | None]:
        """Stream the call into ``turn`` unless a cancel arrives first; returns (outcome, error)."""

        async def consume() -> None:
            stream = self._gateway.stream(request)
            try:
                async for event in stream:
                    await turn.handle(event)
            finally:
                await stream.aclose()

        consumer = asyncio.create_task(consume())
        watcher = asyncio.create_task(self._watch_for_cancel(turn.run, signal))
        try:
            done, _ = await asyncio.wait({consumer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (consumer, watcher):
                task.cancel()
            await asyncio.gather(consumer, watcher, return_exceptions=True)
        if consumer not in done:
            return "cancelled", None
        failure = consumer.exception()
        if isinstance(failure, UpstreamError):
            return "failed", failure
        if failure is not None:
            raise failure
        kinds = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}
        outcome = kinds.get(turn.terminal_event or "")
        if outcome is None:
            return "failed", UpstreamError("The model stream ended before the response was complete.")
        if outcome == "completed" and turn.function_calls:
            return "requires_action", None
        return outcome, None

    async def _watch_for_cancel(self, run: Run, signal: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), self._poll)
                return
            stored = await self._repository.find(Run, thread_partition(run.thread_id), run.id, run.tenant_id)
            if stored is None or stored.status != "in_progress":
                return

    async def _conclude(self, run: Run, turn: Turn | None, emit: Emit, outcome: str, *,
                        error: UpstreamError | None = None, reason: str | None = None) -> Run | None:
        """Settle what the turn opened, write the outcome conditionally, then announce it."""
        if turn is not None:
            run.accrued_usage = run.accrued_usage + usage_of(turn.terminal or {})
            run.upstream_calls += 1
            run.output_items = [*run.output_items, *turn.output_items]
        for _ in range(8):
            try:
                return await self._write_outcome(run, turn, emit, outcome, error=error, reason=reason)
            except ConcurrencyError:
                stored = await self._runs.retrieve(run.tenant_id, run.thread_id, run.id, check_thread=False)
                if stored.status != "cancelling":
                    await emit(f"thread.run.{stored.status}", stored)
                    return stored  # a cancel or expiry already settled it: that outcome stands
                # A cancel arrived meanwhile: a terminal outcome the call already reached still lands (§3.4),
                # but a run that wants tool outputs is cancelled instead.
                stored.accrued_usage, stored.output_items = run.accrued_usage, run.output_items
                run = stored
                if outcome == "requires_action":
                    outcome = "cancelled"
        _log.error("run outcome not written after repeated conflicts", extra={"run_id": run.id})
        return None

    async def _write_outcome(self, run: Run, turn: Turn | None, emit: Emit, outcome: str, *,
                             error: UpstreamError | None, reason: str | None) -> Run:
        now = self._clock.now()
        terminal: JSON = (turn.terminal or {}) if turn is not None else {}
        details: dict[str, Any] = {}
        message_reason: str | None = None
        if outcome == "cancelled" and run.status == "in_progress":
            move(run, "cancelling", now)
            await emit("thread.run.cancelling", run)
        if outcome == "incomplete":
            message_reason, details["incomplete_details"] = _incomplete(terminal, reason)
        step_error: JSON | None = None
        if outcome == "failed":
            upstream_error = terminal.get("error") or {}
            code = run_error_code(error.code if error else upstream_error.get("code"), error.status if error else None)
            message = error.message if error else upstream_error.get("message") or "The model failed to respond."
            details["last_error"] = {"code": code, "message": message}
            step_error = {"code": step_error_code(code), "message": message}
        new: list[_Stored] = []
        stored: list[_Stored] = []
        if turn is not None:
            await turn.settle_writes()
            for message in turn.open_messages():
                settle_message(message, outcome, now, message_reason)
                await emit(f"thread.message.{message.status}", message)
            if outcome != "requires_action":
                await turn.close_message_step()
                for step in turn.steps:
                    if step.status == "in_progress":
                        settle_step(step, outcome, now, last_error=step_error)
                        await emit(f"thread.run.step.{step.status}", step)
            turn.usage_for_steps()
            for obj in turn.all_objects():
                (stored if obj.id in turn.stored else new).append(obj)
        if outcome == "requires_action" and turn is not None and turn.tool_step is not None:
            await turn.close_message_step()
            turn.usage_for_steps()
            run.pending_tool_calls = list(turn.function_calls)
            run.pending_step_id = turn.tool_step.id
            run.pending_usage = usage_of(terminal)
            run.required_action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in turn.function_calls
            ]}}
        move(run, outcome, now, **details)
        await self._repository.save(thread_partition(run.thread_id), create=new, replace=[run, *stored])
        if run.status not in ("requires_action",):
            await self._runs.release_thread(run)
        await emit(f"thread.run.{run.status}", run)
        return run


def _incomplete(terminal: JSON, own_reason: str | None) -> tuple[str, JSON]:
    """(message ``incomplete_details.reason``, run ``incomplete_details``) for an incomplete outcome (§4.10)."""
    if own_reason is not None:  # our own token budget stopped the run before calling
        return "max_tokens", {"reason": own_reason}
    upstream = (terminal.get("incomplete_details") or {}).get("reason")
    if upstream == "content_filter":
        return "content_filter", {}
    if upstream == "max_output_tokens":
        return "max_tokens", {"reason": "max_completion_tokens"}
    return "max_tokens", {}


def _estimated_tokens(request: JSON) -> int:
    """A cheap upper-bound-ish estimate (4 characters a token) used to honour ``max_prompt_tokens``."""
    return (len(json.dumps(request.get("input", []))) + len(request.get("instructions") or "")) // 4
