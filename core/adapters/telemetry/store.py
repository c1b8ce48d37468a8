"""A `DocumentStore` that records a ``store.<operation>`` client span per call made inside a run execution.

Attributes: the database (``db.system.name``), the operation, the partition's container and key (a tenant or thread
id) and, per operation, a document id, an index name or a count. Never a document body: bodies hold message content.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.util.types import AttributeValue

from core.domain.pagination import ListQuery, Page
from core.ports.store import Document, DocumentStore, Partition, Write

from ._instruments import Instruments

__all__ = ["TracedStore"]


class TracedStore:
    def __init__(self, store: DocumentStore, instruments: Instruments, system: str) -> None:
        self._store = store
        self._instruments = instruments
        self._system = system

    def _attributes(self, operation: str, partition: Partition | None,
                    extra: dict[str, AttributeValue] | None = None) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {"db.system.name": self._system, "db.operation.name": operation}
        if partition is not None:
            attributes["db.collection.name"] = partition.container
            attributes["assistants.store.partition"] = partition.key  # a tenant or thread id
        return {**attributes, **(extra or {})}

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        attributes = self._attributes("get", partition, {"assistants.store.document_id": doc_id})
        with self._instruments.span("store.get", attributes) as span:
            document = await self._store.get(partition, doc_id)
            span.set_attribute("assistants.store.found", document is not None)
            return document

    async def scan(self, partition: Partition, index: str, query: ListQuery) -> Page[Document]:
        attributes = self._attributes("scan", partition, {"assistants.store.index": index,
                                                          "assistants.store.limit": query.limit})
        with self._instruments.span("store.scan", attributes) as span:
            page = await self._store.scan(partition, index, query)
            span.set_attribute("assistants.store.returned", len(page.data))
            return page

    # The fused reads of core.services._repository.FusedReads: offered whatever the store is, so tracing never costs
    # a store its single round trip; a store without them is read one call after another, as the repository would.

    async def get_many(self, partition: Partition, doc_ids: Sequence[str]) -> list[Document | None]:
        attributes = self._attributes("get_many", partition, {"assistants.store.documents": len(doc_ids)})
        with self._instruments.span("store.get_many", attributes):
            fused = getattr(self._store, "get_many", None)
            if fused is not None:
                found: list[Document | None] = await fused(partition, doc_ids)
                return found
            return [await self._store.get(partition, doc_id) for doc_id in doc_ids]

    async def get_and_scan(self, partition: Partition, doc_ids: Sequence[str], index: str,
                           query: ListQuery) -> tuple[list[Document | None], Page[Document]]:
        attributes = self._attributes("get_and_scan", partition, {"assistants.store.documents": len(doc_ids),
                                                                  "assistants.store.index": index,
                                                                  "assistants.store.limit": query.limit})
        with self._instruments.span("store.get_and_scan", attributes):
            fused = getattr(self._store, "get_and_scan", None)
            if fused is not None:
                both: tuple[list[Document | None], Page[Document]] = await fused(partition, doc_ids, index, query)
                return both
            found = [await self._store.get(partition, doc_id) for doc_id in doc_ids]
            return found, await self._store.scan(partition, index, query)

    async def scan_many(self, partition: Partition, scans: Sequence[tuple[str, ListQuery]]) -> list[Page[Document]]:
        attributes = self._attributes("scan_many", partition, {"assistants.store.scans": len(scans)})
        with self._instruments.span("store.scan_many", attributes):
            fused = getattr(self._store, "scan_many", None)
            if fused is not None:
                pages: list[Page[Document]] = await fused(partition, scans)
                return pages
            return [await self._store.scan(partition, index, query) for index, query in scans]

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        attributes = self._attributes("commit", partition, {"assistants.store.writes": len(writes)})
        with self._instruments.span("store.commit", attributes):
            return await self._store.commit(partition, writes)

    async def drop_partition(self, partition: Partition) -> None:
        with self._instruments.span("store.drop_partition", self._attributes("drop_partition", partition)):
            await self._store.drop_partition(partition)

    async def ping(self) -> None:
        with self._instruments.span("store.ping", self._attributes("ping", None)):
            await self._store.ping()

    async def close(self) -> None:
        await self._store.close()
