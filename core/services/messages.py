"""Use cases of messages, which live in their thread's partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import Message, Thread
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._objects import merge_metadata, new_message
from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle

__all__ = ["MessageService"]


class MessageService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle

    async def _thread(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def create(self, tenant_id: str, thread_id: str, fields: Mapping[str, Any]) -> Message:
        """Append a message; refused while a run is active on the thread (that run would not see it)."""

        async def attempt() -> Message:
            thread = await self._thread(tenant_id, thread_id)
            run = await self._lifecycle.blocking_run(thread)
            if run is not None:
                raise InvalidRequestError(f"Can't add messages to {thread_id} while a run {run.id} is active.")
            message = new_message(tenant_id, thread_id, self._clock.now(), fields)
            # Rewriting the thread unchanged makes the insert conditional on no run having started meanwhile.
            await self._repository.save(thread_partition(thread_id), create=[message], replace=[thread])
            return message

        return await retry_on_conflict(attempt)

    async def retrieve(self, tenant_id: str, thread_id: str, message_id: str) -> Message:
        await self._thread(tenant_id, thread_id)
        return await self._repository.load(Message, thread_partition(thread_id), message_id, tenant_id)

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
