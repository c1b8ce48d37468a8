"""Use cases of the thread aggregate: a thread and everything in its partition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import JSON, Thread
from core.ports.clock import Clock

from ._objects import merge_metadata, new_thread
from ._repository import Body, Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle
from ._tool_files import ToolFiles, refuse_vector_store_helper, with_search_store

__all__ = ["ThreadService"]


class ThreadService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle, tool_files: ToolFiles) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle
        self._tool_files = tool_files

    async def create(
        self,
        tenant_id: str,
        metadata: dict[str, str] | None = None,
        tool_resources: JSON | None = None,
        messages: Sequence[Mapping[str, Any]] = (),
    ) -> Thread:
        await self._tool_files.check(tenant_id, resources=tool_resources, messages=messages, messages_at="messages")
        tool_resources = await self._tool_files.stored(tenant_id, tool_resources, for_thread=True)
        thread, initial = new_thread(tenant_id, self._clock.now(), metadata, tool_resources, messages)
        store_id = await self._tool_files.index_attachments(tenant_id, thread, messages)
        thread.tool_resources = with_search_store(thread.tool_resources, store_id)
        await self._repository.save(thread_partition(thread.id), create=[thread, *initial])
        return thread

    async def retrieve(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def retrieve_stored(self, tenant_id: str, thread_id: str) -> Body:
        """:meth:`retrieve`, as the stored document (for presenting: no model is built)."""
        [thread] = await self._repository.load_documents(thread_partition(thread_id), tenant_id, (Thread, thread_id))
        return thread.body

    async def update(self, tenant_id: str, thread_id: str, changes: Mapping[str, Any]) -> Thread:
        if changes.get("tool_resources"):
            refuse_vector_store_helper(changes["tool_resources"])
            await self._tool_files.check(tenant_id, resources=changes["tool_resources"])

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
