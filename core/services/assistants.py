"""Use cases of the assistant aggregate: a tenant's assistants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.ids import new_id
from core.domain.models import Assistant
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._model_catalog import ModelCatalog
from ._objects import merge_metadata
from ._repository import Body, Repository, assistants_of
from ._retry import retry_on_conflict
from ._tool_files import ToolFiles, refuse_vector_store_helper

__all__ = ["AssistantService"]


class AssistantService:
    def __init__(self, repository: Repository, clock: Clock, models: ModelCatalog, tool_files: ToolFiles) -> None:
        self._repository = repository
        self._clock = clock
        self._models = models
        self._tool_files = tool_files

    async def create(self, tenant_id: str, fields: Mapping[str, Any]) -> Assistant:
        """``fields`` are validated create parameters; absent or null ones take the Assistants defaults."""
        values = {key: value for key, value in fields.items() if value is not None}
        await self._models.check(values["model"])
        await self._tool_files.check(tenant_id, resources=values.get("tool_resources"))
        if "tool_resources" in values:
            values["tool_resources"] = await self._tool_files.stored(tenant_id, values["tool_resources"])
        assistant = Assistant(id=new_id("asst"), created_at=self._clock.now(), tenant_id=tenant_id, **values)
        await self._repository.save(assistants_of(tenant_id), create=[assistant])
        return assistant

    async def retrieve(self, tenant_id: str, assistant_id: str) -> Assistant:
        return await self._repository.load(Assistant, assistants_of(tenant_id), assistant_id, tenant_id)

    async def retrieve_stored(self, tenant_id: str, assistant_id: str) -> Body:
        """:meth:`retrieve`, as the stored document (for presenting: no model is built)."""
        [assistant] = await self._repository.load_documents(assistants_of(tenant_id), tenant_id,
                                                            (Assistant, assistant_id))
        return assistant.body

    async def update(self, tenant_id: str, assistant_id: str, changes: Mapping[str, Any]) -> Assistant:
        """Apply the supplied fields only; an explicit null resets a field to its default."""
        defaults = Assistant.model_fields
        if changes.get("model") is not None:
            await self._models.check(changes["model"])
        if changes.get("tool_resources") is not None:
            refuse_vector_store_helper(changes["tool_resources"])
            await self._tool_files.check(tenant_id, resources=changes["tool_resources"])

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

    async def list_stored(self, tenant_id: str, query: ListQuery) -> Page[Body]:
        """:meth:`list`, as stored documents."""
        _, page = await self._repository.page_documents(assistants_of(tenant_id), tenant_id, [], "assistants", query)
        return page
