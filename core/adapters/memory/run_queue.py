"""The in-process run queue: executes each queued run as an asyncio task of this process.

Used locally and as the embedded default. Tasks are kept referenced until they finish (the event loop holds only
weak references), and their failures are logged rather than lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.logs import get_logger

__all__ = ["InProcessRunQueue"]

_log = get_logger("run_queue")


class InProcessRunQueue:
    def __init__(self, execute: Callable[[str, str, str], Awaitable[object]]) -> None:
        self._execute = execute
        self._tasks: set[asyncio.Task[None]] = set()

    async def enqueue(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        task = asyncio.create_task(self._run(tenant_id, thread_id, run_id), name=f"run {run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        try:
            await self._execute(tenant_id, thread_id, run_id)
        except Exception:
            _log.exception("background run failed", extra={"run_id": run_id})

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
