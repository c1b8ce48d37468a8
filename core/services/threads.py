"""Use cases of the thread aggregate: a thread and everything in its partition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.ids import new_id
from core.domain.models import JSON, Thread
from core.ports.clock import Clock

from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict
from .messages import new_message

__all__ = ["ThreadService"]


class ThreadService:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    def new_thread(
        self, tenant_id: str, metadata: dict[str, str] | None, tool_resources: JSON | None, messages: Sequence[Any]
    ) -> tuple[Thread, list[Any]]:
        """A thread and its initial messages, not yet stored (create-and-run stores them with the run)."""
        now = self._clock.now()
        thread = Thread(
            id=new_id("thread"),
            created_at=now,
            tenant_id=tenant_id,
            metadata=metadata or {},
            tool_resources=tool_resources or {},
        )
        return thread, [new_message(tenant_id, thread.id, now, fields) for fields in messages]

    async def create(
        self,
        tenant_id: str,
        metadata: dict[str, str] | None = None,
        tool_resources: JSON | None = None,
        messages: Sequence[Mapping[str, Any]] = (),
    ) -> Thread:
        thread, initial = self.new_thread(tenant_id, metadata, tool_resources, messages)
        await self._repository.save(thread_partition(thread.id), create=[thread, *initial])
        return thread

    async def retrieve(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def update(self, tenant_id: str, thread_id: str, changes: Mapping[str, Any]) -> Thread:
        async def attempt() -> Thread:
            thread = await self.retrieve(tenant_id, thread_id)
            if "metadata" in changes:
                thread.metadata = changes["metadata"] or {}
            if "tool_resources" in changes:
                thread.tool_resources = changes["tool_resources"] or {}
            await self._repository.save(thread_partition(thread_id), replace=[thread])
            return thread

        return await retry_on_conflict(attempt)

    async def delete(self, tenant_id: str, thread_id: str) -> None:
        """Delete the thread with its messages, runs and steps; refused while a run is active on it."""
        thread = await self.retrieve(tenant_id, thread_id)
        run = await self._repository.blocking_run(thread, self._clock.now())
        if run is not None:
            raise InvalidRequestError(f"Thread {thread_id} has an active run {run.id}; cancel it before deleting it.")
        await self._repository.store.drop_partition(thread_partition(thread_id))
