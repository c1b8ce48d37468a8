"""Per-process cancel signals: a cancel wakes a run executing in this process at once, instead of at its next look
at the stored status (runs executing in another process notice within a second through the store)."""

from __future__ import annotations

import asyncio

__all__ = ["CancelSignals"]


class CancelSignals:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def watch(self, run_id: str) -> asyncio.Event:
        return self._events.setdefault(run_id, asyncio.Event())

    def forget(self, run_id: str) -> None:
        self._events.pop(run_id, None)

    def fire(self, run_id: str) -> None:
        event = self._events.get(run_id)
        if event is not None:
            event.set()
