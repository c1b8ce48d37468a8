"""The run queue port: hands a queued run to whatever executes runs in the background."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RunJob", "RunQueue"]


@dataclass(frozen=True)
class RunJob:
    """A queued run, as a queue message carries it: ids only, so executing it twice is harmless."""

    tenant_id: str
    thread_id: str
    run_id: str

    def to_json(self) -> str:
        return json.dumps({"tenant_id": self.tenant_id, "thread_id": self.thread_id, "run_id": self.run_id})

    @classmethod
    def from_json(cls, body: str | bytes) -> RunJob:
        job = json.loads(body)
        return cls(str(job["tenant_id"]), str(job["thread_id"]), str(job["run_id"]))


class RunQueue(Protocol):
    async def enqueue(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        """Arrange for the run to be executed soon; must not wait for the execution."""
        ...

    async def drain(self) -> None:
        """Wait for runs this process started (shutdown and tests)."""
        ...

    async def close(self) -> None: ...
