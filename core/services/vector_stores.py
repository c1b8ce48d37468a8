"""Use cases of vector stores, their files and file batches: forwarded to the upstream, owned by a tenant.

Only the tenant's own vector stores are reachable, and only its own files can be added to them; since every file
of a store was added through the service by its owner, the upstream's lists of a store's files are shown as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from core.domain.errors import NotFoundError, RelayedError
from core.domain.pagination import ListQuery, Page
from core.ports.store import Document
from core.ports.upstream_api import JSON, UpstreamApi

from ._owned import Ownership, Reference

__all__ = ["VectorStoreService"]

_REFRESH_CONCURRENCY = 8  # upstream reads at once when a listed page is brought up to date


class VectorStoreService:
    def __init__(self, ownership: Ownership, upstream: UpstreamApi) -> None:
        self._ownership = ownership
        self._upstream = upstream
        self._refreshing = asyncio.Semaphore(_REFRESH_CONCURRENCY)

    async def create(self, tenant_id: str, fields: Mapping[str, Any]) -> JSON:
        await self._ownership.check_references(
            tenant_id, [("file", file_id, "file_ids") for file_id in fields.get("file_ids") or []])
        created = await self._upstream.call("POST", "vector_stores", body=dict(fields))
        await self._ownership.adopt(tenant_id, "vector_store", created, self._upstream,
                                    f"vector_stores/{created['id']}", ["vector_stores"])
        return created

    async def list(self, tenant_id: str, query: ListQuery) -> Page[JSON]:
        """The tenant's stores, each as the upstream shows it now (ingestion moves ``status`` and ``file_counts``);
        a store the upstream no longer has (expired) is shown as last seen."""
        entries = await self._ownership.entries(tenant_id, "vector_store", "vector_stores", query)
        current = await asyncio.gather(*(self._current(tenant_id, entry) for entry in entries.data))
        return Page(list(current), entries.has_more)

    async def retrieve(self, tenant_id: str, store_id: str) -> JSON:
        owner = await self._ownership.require(tenant_id, "vector_store", store_id)
        found = await self._relayed(self._upstream.call("GET", f"vector_stores/{store_id}"), store_id)
        await self._ownership.refresh(tenant_id, owner, found)
        return found

    async def update(self, tenant_id: str, store_id: str, fields: Mapping[str, Any]) -> JSON:
        owner = await self._ownership.require(tenant_id, "vector_store", store_id)
        updated = await self._relayed(self._upstream.call("POST", f"vector_stores/{store_id}", body=dict(fields)),
                                      store_id)
        await self._ownership.refresh(tenant_id, owner, updated)
        return updated

    async def delete(self, tenant_id: str, store_id: str) -> JSON:
        return await self._ownership.delete(tenant_id, "vector_store", store_id, self._upstream,
                                            f"vector_stores/{store_id}",
                                            {"id": store_id, "object": "vector_store.deleted", "deleted": True})

    async def search(self, tenant_id: str, store_id: str, fields: Mapping[str, Any]) -> JSON:
        await self._ownership.require(tenant_id, "vector_store", store_id)
        return await self._relayed(self._upstream.call("POST", f"vector_stores/{store_id}/search", body=dict(fields)),
                                   store_id)

    # -- files and file batches of a store --------------------------------------------------------------------------

    async def add_file(self, tenant_id: str, store_id: str, fields: Mapping[str, Any]) -> JSON:
        await self._owned(tenant_id, store_id, [("file", str(fields.get("file_id") or ""), "file_id")])
        return await self._relayed(self._upstream.call("POST", f"vector_stores/{store_id}/files", body=dict(fields)),
                                   store_id)

    async def add_batch(self, tenant_id: str, store_id: str, fields: Mapping[str, Any]) -> JSON:
        await self._owned(tenant_id, store_id, _batch_references(fields))
        return await self._relayed(
            self._upstream.call("POST", f"vector_stores/{store_id}/file_batches", body=dict(fields)), store_id)

    async def forward(self, tenant_id: str, store_id: str, method: str, subpath: str,
                      query: Mapping[str, str] | None = None, body: JSON | None = None) -> JSON:
        """Any other call on one of the tenant's stores (``files/{id}``, ``file_batches/{id}/cancel``, lists)."""
        await self._ownership.require(tenant_id, "vector_store", store_id)
        return await self._relayed(
            self._upstream.call(method, f"vector_stores/{store_id}/{subpath}", query=query, body=body), store_id)

    async def _owned(self, tenant_id: str, store_id: str, references: Sequence[Reference]) -> None:
        await self._ownership.require(tenant_id, "vector_store", store_id)
        await self._ownership.check_references(tenant_id, references)

    async def _current(self, tenant_id: str, entry: Document) -> JSON:
        snapshot: JSON = entry.body["object"]
        async with self._refreshing:
            try:
                found = await self._upstream.call("GET", f"vector_stores/{snapshot['id']}")
            except Exception:  # a list must not fail for one store the upstream cannot show now
                return snapshot
            await self._ownership.renew(tenant_id, entry, found)
            return found

    @staticmethod
    async def _relayed(call: Any, store_id: str) -> JSON:
        """The upstream's answer; its 404 for a store the tenant owns (expired upstream) reads as ours."""
        try:
            answer: JSON = await call
        except RelayedError as error:
            if error.status == 404 and error.message and "vector store" in error.message.lower():
                raise NotFoundError("vector store", store_id) from None
            raise
        return answer



def _batch_references(fields: Mapping[str, Any]) -> list[Reference]:
    references: list[Reference] = [("file", file_id, "file_ids") for file_id in fields.get("file_ids") or []]
    references += [("file", str(entry.get("file_id") or ""), f"files[{index}].file_id")
                   for index, entry in enumerate(fields.get("files") or [])]
    return references
