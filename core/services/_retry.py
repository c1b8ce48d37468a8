"""Optimistic concurrency: re-run a read-modify-write when a conditional write lost a race."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.domain.errors import ConcurrencyError, ServiceUnavailableError

__all__ = ["retry_on_conflict"]

T = TypeVar("T")


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], *, attempts: int = 8) -> T:
    """Run ``attempt`` (which must re-read what it writes) until its conditional writes succeed."""
    for _ in range(attempts):
        try:
            return await attempt()
        except ConcurrencyError:
            continue
    raise ServiceUnavailableError("The object is being changed concurrently; retry the request.")
