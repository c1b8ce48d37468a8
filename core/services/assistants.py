"""Use cases of the assistant aggregate: a tenant's assistants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.ids import new_id
from core.domain.models import Assistant
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._objects import merge_metadata
from ._repository import Repository, assistants_of
from ._retry import retry_on_conflict

__all__ = ["AssistantService"]


class AssistantService:
    def __init__(self, repository: Repository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    async def create(self, tenant_id: str, fields: Mapping[str, Any]) -> Assistant:
        """``fields`` are validated create parameters; absent or null ones take the Assistants defaults."""
        values = {key: value for key, value in fields.items() if value is not None}
        assistant = Assistant(id=new_id("asst"), created_at=self._clock.now(), tenant_id=tenant_id, **values)
        await self._repository.save(assistants_of(tenant_id), create=[assistant])
        return assistant

    async def retrieve(self, tenant_id: str, assistant_id: str) -> Assistant:
        return await self._repository.load(Assistant, assistants_of(tenant_id), assistant_id, tenant_id)

    async def update(self, tenant_id: str, assistant_id: str, changes: Mapping[str, Any]) -> Assistant:
        """Apply the supplied fields only; an explicit null resets a field to its default."""
        defaults = Assistant.model_fields

        async def attempt() -> Assistant:
            assistant = await self.retrieve(tenant_id, assistant_id)
            for key, value in changes.items():
                if key == "metadata" and value is not None:
                    value = merge_metadata(assistant.metadata, value)
                default = defaults[key].get_default(call_default_factory=True)
                setattr(assistant, key, default if value is None else value)
            await self._repository.save(assistants_of(tenant_id), replace=[assistant])
            return assistant

        return await retry_on_conflict(attempt)

    async def delete(self, tenant_id: str, assistant_id: str) -> None:
        assistant = await self.retrieve(tenant_id, assistant_id)
        await self._repository.save(assistants_of(tenant_id), delete=[assistant])

    async def list(self, tenant_id: str, query: ListQuery) -> Page[Assistant]:
        return await self._repository.page(Assistant, assistants_of(tenant_id), "assistants", query)
