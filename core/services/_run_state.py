"""Pure state changes of a run and the objects it has open (status machine applied, §3.4, §4.10, §4.12)."""

from __future__ import annotations

from core.domain.models import JSON, Message, Run, RunStep, Usage
from core.domain.run_status import TERMINAL, check_transition

__all__ = ["RUN_EXPIRY_SECONDS", "move", "settle_message", "settle_step"]

RUN_EXPIRY_SECONDS = 600

_MESSAGE_REASON = {"cancelled": "run_cancelled", "expired": "run_expired", "failed": "run_failed"}
_RUN_TIMESTAMP = {"cancelled": "cancelled_at", "failed": "failed_at", "completed": "completed_at",
                  "incomplete": "completed_at"}
_STEP_STATUS = {"cancelled": "cancelled", "expired": "expired", "failed": "failed", "completed": "completed",
                "incomplete": "completed"}


def move(run: Run, status: str, now: int, *, last_error: JSON | None = None,
         incomplete_details: JSON | None = None) -> None:
    """Change the run's status and the timestamps that go with it; raises ``ValueError`` if illegal."""
    check_transition(run.status, status)
    run.status = status  # type: ignore[assignment]
    if status == "in_progress":
        run.started_at = now
    if status != "requires_action":
        run.required_action = None
    if status in TERMINAL:
        run.expires_at = None
        run.usage = run.accrued_usage
        run.pending_tool_calls = []
        if status in _RUN_TIMESTAMP:
            setattr(run, _RUN_TIMESTAMP[status], now)
    if last_error is not None:
        run.last_error = last_error
    if incomplete_details is not None:
        run.incomplete_details = incomplete_details


def settle_message(message: Message, run_status: str, now: int, reason: str | None = None) -> None:
    """Close an in-progress message when its run ends: completed, or incomplete with the matching reason."""
    if message.status != "in_progress":
        return
    if run_status == "completed" and reason is None:
        message.status = "completed"
        message.completed_at = now
        return
    message.status = "incomplete"
    message.incomplete_at = now
    message.incomplete_details = {"reason": reason or _MESSAGE_REASON.get(run_status, "run_failed")}


def settle_step(step: RunStep, run_status: str, now: int, *, usage: Usage | None = None,
                last_error: JSON | None = None) -> None:
    """Close an in-progress step with the status its run's outcome implies."""
    if step.status != "in_progress":
        return
    status = _STEP_STATUS.get(run_status, "completed")
    step.status = status  # type: ignore[assignment]
    setattr(step, f"{status}_at", now)
    if status == "completed":
        step.usage = usage or Usage()
    if status == "failed" and last_error is not None:
        step.last_error = last_error

