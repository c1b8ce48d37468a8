"""The clock port: services ask it for the time so tests can move time (run expiry) without sleeping."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> int:
        """Current time in unix seconds."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())
