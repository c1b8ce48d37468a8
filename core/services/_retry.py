"""Optimistic concurrency: re-run a read-modify-write when a conditional write lost a race."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.domain.errors import ConcurrencyError, ServiceUnavailableError

__all__ = ["retry_on_conflict"]

T = TypeVar("T")


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], *, attempts: int = 16) -> T:
    """Run ``attempt`` (which must re-read what it writes) until its conditional writes succeed.

    Each lost race waits a random, growing pause (full jitter, capped at 0.25 s), so many writers of one document
    spread out instead of colliding again in lockstep: 25 concurrent message creates on one thread all land.
    """
    for tries in range(attempts):
        try:
            return await attempt()
        except ConcurrencyError:
            await asyncio.sleep(random.uniform(0, min(0.25, 0.004 * 2**tries)))
    raise ServiceUnavailableError("The object is being changed concurrently; retry the request.")
