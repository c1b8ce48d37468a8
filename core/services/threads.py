"""Use cases of the thread aggregate: a thread and everything in its partition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import JSON, Thread
from core.ports.clock import Clock

from ._objects import merge_metadata, new_thread
from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle

__all__ = ["ThreadService"]


class ThreadService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle

    async def create(
        self,
        tenant_id: str,
        metadata: dict[str, str] | None = None,
        tool_resources: JSON | None = None,
        messages: Sequence[Mapping[str, Any]] = (),
    ) -> Thread:
        thread, initial = new_thread(tenant_id, self._clock.now(), metadata, tool_resources, messages)
        await self._repository.save(thread_partition(thread.id), create=[thread, *initial])
        return thread

    async def retrieve(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def update(self, tenant_id: str, thread_id: str, changes: Mapping[str, Any]) -> Thread:
        async def attempt() -> Thread:
            thread = await self.retrieve(tenant_id, thread_id)
            if "metadata" in changes:  # an explicit null clears it
                update = changes["metadata"]
                thread.metadata = {} if update is None else merge_metadata(thread.metadata, update)
            if "tool_resources" in changes:
                thread.tool_resources = changes["tool_resources"] or {}
            await self._repository.save(thread_partition(thread_id), replace=[thread])
            return thread

        return await retry_on_conflict(attempt)

    async def delete(self, tenant_id: str, thread_id: str) -> None:
        """Delete the thread with its messages, runs and steps; refused while a run is active on it."""
        thread = await self.retrieve(tenant_id, thread_id)
        run = await self._lifecycle.blocking_run(thread)
        if run is not None:
            raise InvalidRequestError(f"Thread {thread_id} has an active run {run.id}; cancel it before deleting it.")
        await self._repository.store.drop_partition(thread_partition(thread_id))
