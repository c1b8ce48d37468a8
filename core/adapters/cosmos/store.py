"""The Azure Cosmos DB for NoSQL store (``azure.cosmos.aio``).

Data model (docs/cosmos.md): container ``assistants`` partitioned by ``/tenant_id`` and container ``threads``
partitioned by ``/thread_id``, which holds a thread's own document (id == thread id) and its messages, runs and steps.
A :class:`Partition` is one logical partition, so:

- ``get`` is a point read by id and partition key (1 RU per KB); ``get_many`` and ``get_and_scan`` (the read
  endpoints' owner checks and page) send their reads and query concurrently;
- ``scan`` is one single-partition query, ``TOP limit+1`` ordered by id between the cursors, so a page costs O(limit);
- ``commit`` is one plain write, or a transactional batch (all or nothing) for several, each replace and conditional
  delete guarded by the document's ``_etag``;
- ``drop_partition`` deletes the partition's documents in batches, the partition's own document (a thread) last.

Documents are stored as given plus the partition-key field (added, and removed again on read, when the body lacks it)
and Cosmos's system properties (stripped on read; ``_etag`` becomes :attr:`Document.etag`).

Connections open lazily, inside the running event loop, on first use: :meth:`CosmosStore.from_settings` does no I/O.
Managed identity (``DefaultAzureCredential``) in Azure; a key only for an emulator, where TLS verification is off for
loopback endpoints (emulators serve self-signed certificates) and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.credentials_async import AsyncTokenCredential
from azure.cosmos import PartitionKey
from azure.cosmos.aio import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosHttpResponseError

from core.config import Settings
from core.domain.errors import ConcurrencyError, ServiceUnavailableError
from core.domain.pagination import ListQuery, Page, page_from_scan
from core.domain.urls import is_loopback
from core.ports.store import INDEXES_FIELD, Check, Create, Delete, Document, Partition, Replace, Write

from ._errors import CONFLICT_STATUSES, is_missing_document, status_of, translated

__all__ = ["KEY_FIELDS", "MAX_BATCH_OPERATIONS", "CosmosStore", "indexing_policy"]

#: container -> the document field its partition key path names.
KEY_FIELDS: Final[dict[str, str]] = {"assistants": "tenant_id", "threads": "thread_id"}
#: Cosmos DB's limit on the operations of one transactional batch.
MAX_BATCH_OPERATIONS: Final = 100
_SYSTEM_FIELDS: Final = ("_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")
_IMPLICIT_KEY: Final = "_implicit_key"  # marks a partition-key field this adapter added to a body that lacked it
_DROP_PASSES: Final = 8


def indexing_policy(container: str) -> dict[str, Any]:
    """Index only what the queries read (docs/cosmos.md, "Indexing"): the partition key, ``id`` (ranges and ORDER BY)
    and the members of ``_indexes`` (``ARRAY_CONTAINS``). Bodies (content, instructions, tools, output items) are not
    indexed, which makes writes of large documents cheaper. infra/modules/cosmos.bicep declares the same policy."""
    paths = [f"/{KEY_FIELDS[container]}/?", "/id/?", f"/{INDEXES_FIELD}/[]/?"]
    return {
        "indexingMode": "consistent",
        "automatic": True,
        "includedPaths": [{"path": path} for path in paths],
        "excludedPaths": [{"path": "/*"}, {"path": '/"_etag"/?'}],
    }


def _to_item(partition: Partition, body: dict[str, Any]) -> dict[str, Any]:
    """The stored form of ``body``: a copy carrying the partition key in its key field."""
    item = dict(body)
    field = KEY_FIELDS[partition.container]
    if field not in item:
        item[field] = partition.key
        item[_IMPLICIT_KEY] = True
    elif item[field] != partition.key:
        raise ValueError(f"document {item.get('id')!r} has {field} {item[field]!r}, not its partition's key")
    return item


def _from_item(partition: Partition, item: dict[str, Any]) -> Document:
    """The stored item as the body that was written, and its etag."""
    etag = str(item.get("_etag", ""))
    for name in _SYSTEM_FIELDS:
        item.pop(name, None)
    if item.pop(_IMPLICIT_KEY, False):
        item.pop(KEY_FIELDS[partition.container], None)
    return Document(item, etag)


def _write_id(write: Write) -> str:
    return write.doc_id if isinstance(write, Delete) else str(write.body["id"])


class CosmosStore:
    """A :class:`core.ports.store.DocumentStore` on Azure Cosmos DB. One instance per process and event loop."""

    def __init__(
        self,
        endpoint: str,
        database_id: str,
        *,
        key: str | None = None,
        managed_identity_client_id: str | None = None,
        create_containers: bool = False,
    ) -> None:
        self._endpoint = endpoint
        self._database_id = database_id
        self._key = key
        self._client_id = managed_identity_client_id
        self._create_containers = create_containers
        self._client: CosmosClient | None = None
        self._credential: AsyncTokenCredential | None = None
        self._containers: dict[str, ContainerProxy] = {}
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CosmosStore:
        """A store for the configured account; no I/O until first use."""
        if not settings.cosmos_endpoint:
            raise ValueError("COSMOS_ENDPOINT is not set")
        return cls(
            settings.cosmos_endpoint,
            settings.cosmos_database_id,
            key=settings.cosmos_key,
            managed_identity_client_id=settings.azure_client_id,
            create_containers=settings.cosmos_create_containers,
        )

    async def _container(self, name: str) -> ContainerProxy:
        container = self._containers.get(name)
        if container is not None:
            return container
        async with self._lock:
            if not self._containers:
                with translated("connect"):
                    self._containers = await self._connect()
        return self._containers[name]

    async def _connect(self) -> dict[str, ContainerProxy]:
        if self._client is None:
            if self._key:
                # An emulator on loopback: one endpoint (not the addresses it advertises), self-signed certificate.
                local = is_loopback(self._endpoint)
                client = CosmosClient(
                    self._endpoint, self._key, connection_verify=not local, enable_endpoint_discovery=not local
                )
            else:
                if self._credential is None:
                    from azure.identity.aio import DefaultAzureCredential

                    self._credential = DefaultAzureCredential(managed_identity_client_id=self._client_id)
                client = CosmosClient(self._endpoint, self._credential)
            try:
                await client.__aenter__()  # reads the account's regions
            except BaseException:
                await client.close()
                raise
            self._client = client
        if not self._create_containers:
            database = self._client.get_database_client(self._database_id)
            return {name: database.get_container_client(name) for name in KEY_FIELDS}
        database = await self._client.create_database_if_not_exists(self._database_id)
        return {
            name: await database.create_container_if_not_exists(name, PartitionKey(path=f"/{field}"),
                                                                indexing_policy=indexing_policy(name))
            for name, field in KEY_FIELDS.items()
        }

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        container = await self._container(partition.container)
        with translated("read"):
            try:
                item = await container.read_item(doc_id, partition_key=partition.key)
            except CosmosHttpResponseError as error:
                if is_missing_document(error):
                    return None
                raise
        return _from_item(partition, dict(item))

    async def get_many(self, partition: Partition, doc_ids: Sequence[str]) -> list[Document | None]:
        """Point reads sent together (one request each, concurrently): a retrieve waits for one round trip, not two
        or three in a row. Same RU as reading them one after another."""
        return list(await asyncio.gather(*(self.get(partition, doc_id) for doc_id in doc_ids)))

    async def get_and_scan(self, partition: Partition, doc_ids: Sequence[str], index: str,
                           query: ListQuery) -> tuple[list[Document | None], Page[Document]]:
        """:meth:`get_many` and :meth:`scan` sent together. Unlike Redis the query runs even when an id turns out to be
        absent (a 404 or 400 then costs its RU for nothing): waiting for the reads first would cost a round trip on
        every list."""
        found, page = await asyncio.gather(self.get_many(partition, doc_ids), self.scan(partition, index, query))
        return found, page

    async def scan_many(self, partition: Partition, scans: Sequence[tuple[str, ListQuery]]) -> list[Page[Document]]:
        """Several queries of one partition sent together."""
        return list(await asyncio.gather(*(self.scan(partition, index, query) for index, query in scans)))

    async def scan(self, partition: Partition, index: str, query: ListQuery) -> Page[Document]:
        container = await self._container(partition.container)
        wanted = query.limit + 1
        low, high = query.id_bounds()
        conditions = [f"c.{KEY_FIELDS[partition.container]} = @key", f"ARRAY_CONTAINS(c.{INDEXES_FIELD}, @index)"]
        parameters: list[dict[str, object]] = [
            {"name": "@key", "value": partition.key},
            {"name": "@index", "value": index},
        ]
        if low is not None:
            conditions.append("c.id > @low")
            parameters.append({"name": "@low", "value": low})
        if high is not None:
            conditions.append("c.id < @high")
            parameters.append({"name": "@high", "value": high})
        direction = "ASC" if query.scan_ascending() else "DESC"
        # Only constants and an int are interpolated; every value is a query parameter.
        sql = f"SELECT TOP {wanted:d} * FROM c WHERE {' AND '.join(conditions)} ORDER BY c.id {direction}"  # noqa: S608
        items: list[dict[str, Any]] = []
        with translated("query"):
            pages = container.query_items(
                sql, parameters=parameters, partition_key=partition.key, max_item_count=wanted
            ).by_page()
            async for page in pages:  # usually one page; the service may split a page, never exceed TOP
                items += [dict(item) async for item in page]
                if len(items) >= wanted:
                    break
        return page_from_scan([_from_item(partition, item) for item in items[:wanted]], query)

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        if not writes:
            return []
        if len(writes) > MAX_BATCH_OPERATIONS:
            raise ValueError(f"one commit writes at most {MAX_BATCH_OPERATIONS} documents, not {len(writes)}")
        # A batch conditions writes only: a version check is a conditional rewrite of the unchanged document here.
        writes = [Replace(write.body, write.etag) if isinstance(write, Check) else write for write in writes]
        container = await self._container(partition.container)
        items = [None if isinstance(write, Delete) else _to_item(partition, write.body) for write in writes]
        with translated("write"):
            if len(writes) == 1:
                return [await self._write_one(container, partition, writes[0], items[0])]
            return await self._write_batch(container, partition, writes, items)

    async def _write_one(
        self, container: ContainerProxy, partition: Partition, write: Write, item: dict[str, Any] | None
    ) -> str:
        etag = None if isinstance(write, Create) else write.etag
        match = None if etag is None else MatchConditions.IfNotModified
        try:
            if isinstance(write, Create):
                assert item is not None
                return str((await container.create_item(item))["_etag"])
            if isinstance(write, Replace):
                assert item is not None
                return str((await container.replace_item(item["id"], item, etag=etag, match_condition=match))["_etag"])
            assert isinstance(write, Delete)  # checks became replaces in commit()
            await container.delete_item(write.doc_id, partition_key=partition.key, etag=etag, match_condition=match)
            return ""
        except CosmosHttpResponseError as error:
            status = status_of(error)
            if status == 404 and not is_missing_document(error):
                raise  # no such container
            if isinstance(write, Delete) and etag is None and status == 404:
                return ""  # deleting a missing document is a no-op
            if status in CONFLICT_STATUSES:
                raise ConcurrencyError(f"document {_write_id(write)} changed (status {status})") from error
            raise

    async def _write_batch(
        self, container: ContainerProxy, partition: Partition, writes: Sequence[Write], items: list[Any]
    ) -> list[str]:
        pending = list(range(len(writes)))  # indexes of the writes still in the batch
        while pending:
            operations: list[Any] = []
            for i in pending:
                write = writes[i]
                if isinstance(write, Create):
                    operations.append(("create", (items[i],)))
                    continue
                condition = {} if write.etag is None else {"if_match_etag": write.etag}
                if isinstance(write, Replace):
                    operations.append(("replace", (items[i]["id"], items[i]), condition))
                else:
                    assert isinstance(write, Delete)  # checks became replaces in commit()
                    operations.append(("delete", (write.doc_id,), condition))
            try:
                results = await container.execute_item_batch(operations, partition_key=partition.key)
            except CosmosBatchOperationError as error:
                failed = writes[pending[error.error_index]]
                status = status_of(error)
                if isinstance(failed, Delete) and failed.etag is None and status == 404:
                    del pending[error.error_index]  # deleting a missing document is a no-op: retry without it
                    continue
                if status in CONFLICT_STATUSES:
                    raise ConcurrencyError(f"document {_write_id(failed)} changed (status {status})") from error
                raise  # translated by the caller: 429/5xx become 503
            etags = [""] * len(writes)
            for i, result in zip(pending, results, strict=True):
                if not isinstance(writes[i], Delete):
                    etags[i] = str(result.get("eTag") or (result.get("resourceBody") or {}).get("_etag", ""))
            return etags
        return [""] * len(writes)

    async def drop_partition(self, partition: Partition) -> None:
        """Delete in batches of 100, the partition's own document last, until a query finds nothing left.

        Not atomic across batches, but safe to repeat; a thread's document goes last, so an interrupted drop leaves
        the thread in place to be deleted again. Writers into a thread replace its document conditionally, so once it
        is gone nothing new appears, and the final query sees the partition empty.
        """
        container = await self._container(partition.container)
        sql = f"SELECT VALUE c.id FROM c WHERE c.{KEY_FIELDS[partition.container]} = @key"  # noqa: S608 (a constant)
        for _ in range(_DROP_PASSES):
            with translated("query"):
                ids = [
                    str(doc_id)
                    async for doc_id in container.query_items(
                        sql, parameters=[{"name": "@key", "value": partition.key}], partition_key=partition.key
                    )
                ]
            if not ids:
                return
            ids.sort(key=lambda doc_id: doc_id == partition.key)
            for start in range(0, len(ids), MAX_BATCH_OPERATIONS):
                await self.commit(partition, [Delete(doc_id) for doc_id in ids[start : start + MAX_BATCH_OPERATIONS]])
        raise ServiceUnavailableError("The thread is being written concurrently; retry the request.")

    async def ping(self) -> None:
        container = await self._container("threads")
        with translated("ping"):
            await container.read()

    async def close(self) -> None:
        client, credential = self._client, self._credential
        self._client, self._credential, self._containers = None, None, {}
        if client is not None:
            await client.close()
        if credential is not None:
            await credential.close()
