"""The storage port: JSON documents grouped in partitions, written atomically per partition.

A partition is everything one aggregate touches: a tenant's assistants, or one thread with its messages, runs and
steps (Cosmos DB: one logical partition; Redis: one hash slot). Documents are dicts with a string ``id`` that sorts in
creation order (`core.domain.ids`). Each document names the ordered indexes it belongs to (``INDEXES_FIELD``), such as
``"messages"`` or ``"steps:run_…"``; :meth:`DocumentStore.scan` pages through one index in O(limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from core.domain.pagination import ListQuery, Page

__all__ = [
    "INDEXES_FIELD",
    "Check",
    "Create",
    "Delete",
    "Document",
    "DocumentStore",
    "Partition",
    "Replace",
    "Write",
]

INDEXES_FIELD = "_indexes"


@dataclass(frozen=True)
class Partition:
    """``container`` is ``"assistants"`` (key: tenant id) or ``"threads"`` (key: thread id)."""

    container: Literal["assistants", "threads"]
    key: str


@dataclass(frozen=True)
class Document:
    """A stored document and the opaque concurrency token of this version of it."""

    body: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class Create:
    """Insert ``body``; the commit fails with ``ConcurrencyError`` if its id exists."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Replace:
    """Overwrite the document with ``body``'s id, which must exist at version ``etag`` (``None``: any version)."""

    body: dict[str, Any]
    etag: str | None = None


@dataclass(frozen=True)
class Delete:
    """Remove a document, and take it out of its indexes; missing documents are ignored."""

    doc_id: str
    etag: str | None = field(default=None)


@dataclass(frozen=True)
class Check:
    """Commit only if the document ``body`` names is still at version ``etag``, as a read the other writes depend on.

    Adapters that can compare a version without writing (memory, Redis) leave the document untouched, so concurrent
    commits that check the same document do not conflict with each other; Cosmos DB's transactional batch conditions
    writes only, so it rewrites ``body`` unchanged (same outcome, a new etag).
    """

    body: dict[str, Any]
    etag: str


Write = Create | Replace | Delete | Check


@runtime_checkable
class DocumentStore(Protocol):
    """What the services need from a database. Bodies are plain JSON values; adapters copy them in and out."""

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        """Point read; ``None`` when absent."""
        ...

    async def scan(self, partition: Partition, index: str, query: ListQuery) -> Page[Document]:
        """One page of the index, ids strictly between the query's cursors, in the query's order."""
        ...

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        """Apply all writes atomically, or none (raising ``ConcurrencyError`` when a condition fails).

        Returns the etag of each document after the commit, in order (``""`` for deletes).
        """
        ...

    async def drop_partition(self, partition: Partition) -> None:
        """Delete every document of the partition."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...

    async def close(self) -> None: ...
