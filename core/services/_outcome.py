"""Applying a turn's outcome to its run: statuses, errors, incompleteness and pending tool calls (§4.10, §5).

Pure: the executor reads the run afresh, calls :func:`settle_outcome` and writes what it changed.
"""

from __future__ import annotations

from typing import Any

from core.domain.errors import UpstreamError
from core.domain.models import JSON, Run

from ._run_state import move
from ._turn import Event, Turn
from .translation import run_error_code, step_error_code, usage_of

__all__ = ["settle_outcome"]


def settle_outcome(run: Run, turn: Turn | None, outcome: str, now: int, *, error: UpstreamError | None,
               reason: str | None) -> list[Event]:
    """Apply ``outcome`` to ``run`` (and the turn's objects); the events to announce before the run's own."""
    events: list[Event] = []
    terminal: JSON = (turn.terminal or {}) if turn is not None else {}
    details: dict[str, Any] = {}
    message_reason: str | None = None
    step_error: JSON | None = None
    if outcome == "cancelled":  # the stream shows the cancel taking effect, whoever asked for it
        if run.status == "in_progress":
            move(run, "cancelling", now)
        events.append(Event("thread.run.cancelling", run.model_copy()))
    if outcome == "incomplete":
        message_reason, details["incomplete_details"] = _incomplete(terminal, reason)
    if outcome == "failed":
        upstream_error = terminal.get("error") or {}
        code = run_error_code(error.code if error else upstream_error.get("code"), error.status if error else None)
        message = error.message if error else upstream_error.get("message") or "The model failed to respond."
        details["last_error"] = {"code": code, "message": message}
        step_error = {"code": step_error_code(code), "message": message}
    if turn is not None:
        events += turn.finish(outcome, now, message_reason=message_reason, step_error=step_error)
    if outcome == "requires_action" and turn is not None and turn.tool_step is not None:
        run.pending_tool_calls = list(turn.function_calls)
        run.pending_step_id = turn.tool_step.id
        run.pending_usage = usage_of(terminal)
        run.required_action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.function_calls
        ]}}
    move(run, outcome, now, **details)
    run.lease_owner = run.lease_expires_at = None
    run.attempts = 0
    return events


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
