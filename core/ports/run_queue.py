"""The run queue port: hands a queued run to whatever executes runs in the background."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RunQueue"]


class RunQueue(Protocol):
    async def enqueue(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        """Arrange for the run to be executed soon; must not wait for the execution."""
        ...

    async def drain(self) -> None:
        """Wait for runs this process started (shutdown and tests)."""
        ...

    async def close(self) -> None: ...
