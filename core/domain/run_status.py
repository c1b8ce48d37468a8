"""The run status machine (assistants-on-responses.md §3.4). Illegal transitions raise."""

from __future__ import annotations

from typing import Literal

__all__ = ["ACTIVE", "TERMINAL", "RunStatus", "can_transition", "check_transition"]

RunStatus = Literal[
    "queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed", "incomplete",
    "expired",
]

TERMINAL: frozenset[str] = frozenset({"cancelled", "failed", "completed", "incomplete", "expired"})
ACTIVE: frozenset[str] = frozenset({"queued", "in_progress", "requires_action", "cancelling"})

_ALLOWED: dict[str, frozenset[str]] = {
    "queued": frozenset({"in_progress", "cancelling", "expired", "failed"}),  # failed: its job was undeliverable
    "in_progress": frozenset({"requires_action", "completed", "incomplete", "failed", "cancelling", "expired"}),
    "requires_action": frozenset({"queued", "cancelling", "expired"}),
    # A cancel may race the upstream call; whichever terminal status that call reaches first may still land.
    "cancelling": frozenset({"cancelled", "completed", "incomplete", "failed", "expired"}),
}


def can_transition(current: str, new: str) -> bool:
    return new in _ALLOWED.get(current, frozenset())


def check_transition(current: str, new: str) -> None:
    """Raise ``ValueError`` unless a run may move from ``current`` to ``new``."""
    if not can_transition(current, new):
        raise ValueError(f"illegal run transition {current} -> {new}")
