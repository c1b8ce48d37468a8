"""The embedded default store: documents in process memory, lost on restart.

It honours the same contract as the Redis and Cosmos DB adapters (the contract suite in `tests/integration` runs
against all three): copies in and out, atomic commits, etag conditions, ordered indexes paged in O(log n + limit).
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.domain.errors import ConcurrencyError
from core.domain.pagination import ListQuery, Page, page_from_scan
from core.ports.store import INDEXES_FIELD, Check, Create, Delete, Document, Partition, Replace, Write

__all__ = ["MemoryStore"]


@dataclass
class _Partition:
    docs: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # id -> (JSON bytes, etag)
    indexes: dict[str, list[str]] = field(default_factory=dict)  # index name -> sorted ids


class MemoryStore:
    """A :class:`core.ports.store.DocumentStore` in a dict. Safe to share between threads."""

    def __init__(self) -> None:
        self._partitions: dict[Partition, _Partition] = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    async def get(self, partition: Partition, doc_id: str) -> Document | None:
        with self._lock:
            found = self._partitions.get(partition, _Partition()).docs.get(doc_id)
        return None if found is None else Document(orjson.loads(found[0]), found[1])

    async def scan(self, partition: Partition, index: str, query: ListQuery) -> Page[Document]:
        low, high = query.id_bounds()
        with self._lock:
            part = self._partitions.get(partition, _Partition())
            ids = part.indexes.get(index, [])
            start = 0 if low is None else bisect.bisect_right(ids, low)
            stop = len(ids) if high is None else bisect.bisect_left(ids, high)
            window = ids[start:stop]
            chosen = window[: query.limit + 1] if query.scan_ascending() else window[::-1][: query.limit + 1]
            found = [part.docs[doc_id] for doc_id in chosen]
        return page_from_scan([Document(orjson.loads(text), etag) for text, etag in found], query)

    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        with self._lock:
            part = self._partitions.get(partition, _Partition())
            staged: dict[str, tuple[bytes, str] | None] = {}  # overlay on part.docs; None marks a delete
            etags = [self._stage(part.docs, staged, write) for write in writes]
            self._partitions[partition] = part  # only now: a failed commit must not leave an empty partition behind
            for doc_id, new in staged.items():
                old = part.docs.get(doc_id)
                self._reindex(part, doc_id, old, new)
                if new is None:
                    part.docs.pop(doc_id, None)
                else:
                    part.docs[doc_id] = new
        return etags

    def _stage(
        self, docs: dict[str, tuple[bytes, str]], staged: dict[str, tuple[bytes, str] | None], write: Write
    ) -> str:
        doc_id = write.doc_id if isinstance(write, Delete) else write.body["id"]
        current = staged[doc_id] if doc_id in staged else docs.get(doc_id)
        expected = None if isinstance(write, Create) else write.etag
        if isinstance(write, Create) and current is not None:
            raise ConcurrencyError(f"document {doc_id} exists")
        if isinstance(write, Replace | Check) and current is None:
            raise ConcurrencyError(f"document {doc_id} does not exist")
        if expected is not None and (current is None or current[1] != expected):
            raise ConcurrencyError(f"document {doc_id} changed")
        if isinstance(write, Delete):
            staged[doc_id] = None
            return ""
        if isinstance(write, Check):
            return write.etag
        etag = str(next(self._versions))
        staged[doc_id] = (orjson.dumps(write.body), etag)
        return etag

    @staticmethod
    def _reindex(part: _Partition, doc_id: str, old: tuple[bytes, str] | None, new: tuple[bytes, str] | None) -> None:
        def indexes_of(entry: tuple[bytes, str] | None) -> set[str]:
            value: Any = orjson.loads(entry[0]).get(INDEXES_FIELD) if entry else None
            return set(value or [])

        old_names, new_names = indexes_of(old), indexes_of(new)
        for name in old_names - new_names:
            ids = part.indexes.get(name, [])
            position = bisect.bisect_left(ids, doc_id)
            if position < len(ids) and ids[position] == doc_id:
                ids.pop(position)
        for name in new_names - old_names:
            bisect.insort(part.indexes.setdefault(name, []), doc_id)

    async def drop_partition(self, partition: Partition) -> None:
        with self._lock:
            self._partitions.pop(partition, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
