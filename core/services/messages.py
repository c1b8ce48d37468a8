"""Use cases of messages, which live in their thread's partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.ids import new_id
from core.domain.models import JSON, Message, Thread
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict

__all__ = ["MessageService", "content_parts", "new_message"]


def content_parts(content: str | list[JSON]) -> list[JSON]:
    """Request content (a string or request parts) as stored parts: text becomes ``{"value", "annotations"}``."""
    if isinstance(content, str):
        return [{"type": "text", "text": {"value": content, "annotations": []}}]
    parts: list[JSON] = []
    for part in content:
        if part["type"] == "text":
            parts.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
        else:
            parts.append(dict(part))
    return parts


def new_message(tenant_id: str, thread_id: str, created_at: int, fields: Mapping[str, Any]) -> Message:
    """A client-written message (``role``, ``content``, optional ``attachments``/``metadata``), already complete."""
    return Message(
        id=new_id("msg"),
        created_at=created_at,
        tenant_id=tenant_id,
        thread_id=thread_id,
        status="completed",
        completed_at=created_at,
        role=fields["role"],
        content=content_parts(fields["content"]),
        attachments=list(fields.get("attachments") or []),
        metadata=dict(fields.get("metadata") or {}),
    )


class MessageService:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    async def _thread(self, tenant_id: str, thread_id: str) -> Thread:
        return await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)

    async def create(self, tenant_id: str, thread_id: str, fields: Mapping[str, Any]) -> Message:
        """Append a message; refused while a run is active on the thread (that run would not see it)."""

        async def attempt() -> Message:
            thread = await self._thread(tenant_id, thread_id)
            run = await self._repository.blocking_run(thread, self._clock.now())
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
            message.metadata = metadata or {}
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
