"""Use cases of messages, which live in their thread's partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import Message, Thread
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._objects import merge_metadata, new_message
from ._repository import Body, Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle
from ._tool_files import ToolFiles, search_attachments, with_search_store

__all__ = ["MessageService"]


class MessageService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle, tool_files: ToolFiles) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle
        self._tool_files = tool_files

    async def _thread(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def create(self, tenant_id: str, thread_id: str, fields: Mapping[str, Any]) -> Message:
        """Append a message; refused while a run is active on the thread (that run would not see it). Files it
        attaches for ``file_search`` go into the thread's vector store first."""
        await self._tool_files.check(tenant_id, messages=[fields])
        store_id: str | None = None
        if search_attachments([fields]):  # otherwise the message costs no read more than it did
            thread = await self._thread(tenant_id, thread_id)
            await self._refuse_if_busy(thread)
            store_id = await self._tool_files.index_attachments(tenant_id, thread, [fields])

        async def attempt() -> Message:
            thread = await self._thread(tenant_id, thread_id)
            await self._refuse_if_busy(thread)
            before = thread.tool_resources
            thread.tool_resources = with_search_store(thread.tool_resources, store_id)
            message = new_message(tenant_id, thread_id, self._clock.now(), fields)
            # Conditional on the thread as read: no run started meanwhile (a run's start changes the thread). Only a
            # thread given a vector store just now is written; concurrent inserts do not conflict with each other.
            changed = thread.tool_resources != before
            await self._repository.save(thread_partition(thread_id), create=[message],
                                        replace=[thread] if changed else [], unchanged=[] if changed else [thread])
            return message

        return await retry_on_conflict(attempt)

    async def _refuse_if_busy(self, thread: Thread) -> None:
        run = await self._lifecycle.blocking_run(thread)
        if run is not None:
            raise InvalidRequestError(f"Can't add messages to {thread.id} while a run {run.id} is active.")

    async def retrieve(self, tenant_id: str, thread_id: str, message_id: str) -> Message:
        _, message = await self._repository.load_many(thread_partition(thread_id), tenant_id, (Thread, thread_id),
                                                      (Message, message_id))  # one read (404: thread, then message)
        return message  # type: ignore[no-any-return]

    async def retrieve_stored(self, tenant_id: str, thread_id: str, message_id: str) -> Body:
        """:meth:`retrieve`, as the stored document (for presenting: no model is built)."""
        _, message = await self._repository.load_documents(thread_partition(thread_id), tenant_id,
                                                           (Thread, thread_id), (Message, message_id))
        return message.body

    async def update(self, tenant_id: str, thread_id: str, message_id: str, metadata: dict[str, str] | None) -> Message:
        async def attempt() -> Message:
            message = await self.retrieve(tenant_id, thread_id, message_id)
            message.metadata = merge_metadata(message.metadata, metadata or {})
            await self._repository.save(thread_partition(thread_id), replace=[message])
            return message

        return await retry_on_conflict(attempt)

    async def delete(self, tenant_id: str, thread_id: str, message_id: str) -> None:
        message = await self.retrieve(tenant_id, thread_id, message_id)
        await self._repository.save(thread_partition(thread_id), delete=[message])

    async def list(self, tenant_id: str, thread_id: str, query: ListQuery, run_id: str | None = None) -> Page[Message]:
        await self._thread(tenant_id, thread_id)
        index = f"messages:{run_id}" if run_id else "messages"
        return await self._repository.page(Message, thread_partition(thread_id), index, query)

    async def list_stored(self, tenant_id: str, thread_id: str, query: ListQuery,
                          run_id: str | None = None) -> Page[Body]:
        """:meth:`list`, as stored documents; the thread check and the page are one read where the store can."""
        index = f"messages:{run_id}" if run_id else "messages"
        _, page = await self._repository.page_documents(thread_partition(thread_id), tenant_id, [(Thread, thread_id)],
                                                        index, query)
        return page
