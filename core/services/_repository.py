"""Typed access to the document store: which partition and indexes each object lives in, tenant checks, cursors.

Every read goes through :meth:`Repository.load`, which answers 404 for objects of another tenant, so tenant
isolation is enforced in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from core.domain.errors import InvalidRequestError, NotFoundError
from core.domain.ids import is_well_formed
from core.domain.models import Assistant, Message, Run, RunStep, Thread, _Stored
from core.domain.pagination import ListQuery, Page
from core.ports.store import INDEXES_FIELD, Check, Create, Delete, Document, DocumentStore, Partition, Replace, Write

__all__ = ["Body", "FusedReads", "Repository", "as_model", "assistants_of", "thread_partition"]

M = TypeVar("M", bound=_Stored)
Body = dict[str, Any]  # a stored document's body, as the store returned it
# The document's kind. Not "type": run steps have a `type` field of their own (message_creation | tool_calls).
DOC_TYPE_FIELD = "doc_type"

_LABELS: dict[type[_Stored], tuple[str, str]] = {  # model -> (document type, wording in a 404)
    Assistant: ("assistant", "assistant"),
    Thread: ("thread", "thread"),
    Message: ("message", "message"),
    Run: ("run", "run"),
    RunStep: ("step", "run step"),
}
_PREFIXES: dict[type[_Stored], str] = {Assistant: "asst", Thread: "thread", Message: "msg", Run: "run", RunStep: "step"}


def assistants_of(tenant_id: str) -> Partition:
    return Partition("assistants", tenant_id)


def thread_partition(thread_id: str) -> Partition:
    return Partition("threads", thread_id)


def _indexes(obj: _Stored) -> list[str]:
    if isinstance(obj, Assistant):
        return ["assistants"]
    if isinstance(obj, Message):
        return ["messages"] + ([f"messages:{obj.run_id}"] if obj.run_id else [])
    if isinstance(obj, Run):
        return ["runs"]
    if isinstance(obj, RunStep):
        # "tool_steps" lets a later run replay this thread's earlier function calls in one scan.
        return [f"steps:{obj.run_id}"] + (["tool_steps"] if obj.type == "tool_calls" else [])
    return []


def _body(obj: _Stored) -> dict[str, object]:
    body = obj.model_dump(mode="json")
    body[DOC_TYPE_FIELD] = _LABELS[type(obj)][0]
    body[INDEXES_FIELD] = _indexes(obj)
    return body


#: Models whose fields are all JSON values: documents this service wrote are trusted as they are, which makes a read
#: several times cheaper than validating them again (runs and steps hold nested models, so they are validated).
_FLAT = frozenset({Assistant, Thread, Message})


def _typed(model: type[M], doc: Document) -> M:
    obj = model.model_construct(**doc.body) if model in _FLAT else model.model_validate(doc.body)
    obj._etag = doc.etag
    return cast(M, obj)


def as_model(model: type[M], doc: Document) -> M:
    """A document read by :meth:`Repository.load_documents` as its model, at the version it was read."""
    return _typed(model, doc)


@runtime_checkable
class FusedReads(Protocol):
    """What a store may offer beyond the port: several point reads, with or without a scan, or several scans, in one
    round trip (Redis: one ``HMGET``, one script or one pipeline; Cosmos DB: requests sent concurrently). Stores without
    it are read with ``get`` and ``scan`` one after another."""

    async def get_many(self, partition: Partition, doc_ids: Sequence[str]) -> list[Document | None]: ...

    async def get_and_scan(self, partition: Partition, doc_ids: Sequence[str], index: str,
                           query: ListQuery) -> tuple[list[Document | None], Page[Document]]: ...

    async def scan_many(self, partition: Partition, scans: Sequence[tuple[str, ListQuery]]) -> list[Page[Document]]: ...


def _fused(store: DocumentStore) -> FusedReads | None:
    # Not isinstance(): a runtime protocol check costs microseconds on every read.
    return cast(FusedReads, store) if hasattr(store, "get_and_scan") else None


def _kept(model: type[_Stored], doc: Document | None, tenant_id: str) -> Document | None:
    """``doc`` if it is a ``model`` document of ``tenant_id``."""
    if doc is None or doc.body.get(DOC_TYPE_FIELD) != _LABELS[model][0] or doc.body.get("tenant_id") != tenant_id:
        return None
    return doc


def _check_cursors(index: str, query: ListQuery, docs: dict[str, Document | None], only: str | None = None) -> None:
    """400 naming the cursor unless each cursor (or ``only`` that one) is a member of ``index`` (``docs``: the cursors
    as read; a cursor absent from it is missing)."""
    for param, cursor in (("after", query.after), ("before", query.before)):
        if cursor is None or (only is not None and cursor != only):
            continue
        doc = docs.get(cursor)
        if doc is None or index not in (doc.body.get(INDEXES_FIELD) or []):
            shown = "".join(char for char in cursor[:64] if char.isprintable())
            raise InvalidRequestError(f"Invalid '{param}': no such object '{shown}' in this list.", param=param)


class Repository:
    """The store, seen as typed objects (or, on the read paths that only present them, as stored bodies)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    async def _get_many(self, partition: Partition, doc_ids: Sequence[str]) -> list[Document | None]:
        # Looked up on each call: tests replace a store's methods on the instance.
        if not doc_ids:
            return []
        fused = _fused(self.store)
        if fused is not None and len(doc_ids) > 1:
            return await fused.get_many(partition, doc_ids)
        return [await self.store.get(partition, doc_id) for doc_id in doc_ids]

    def _well_formed(self, partition: Partition, wanted: Sequence[tuple[type[_Stored], str]]) -> int:
        """How many of ``wanted`` (in order) could exist; the first that cannot is missing without a store read."""
        if partition.container == "threads" and not is_well_formed(partition.key, "thread"):
            return 0
        for position, (model, object_id) in enumerate(wanted):
            if not is_well_formed(object_id, _PREFIXES[model]):
                return position
        return len(wanted)

    @staticmethod
    def _owned(wanted: Sequence[tuple[type[_Stored], str]], found: Sequence[Document | None],
               tenant_id: str) -> list[Document]:
        """The documents of ``wanted``, or :class:`NotFoundError` for the first one missing (in order)."""
        docs: list[Document] = []
        for position, (model, object_id) in enumerate(wanted):
            doc = _kept(model, found[position], tenant_id) if position < len(found) else None
            if doc is None:
                raise NotFoundError(_LABELS[model][1], object_id)
            docs.append(doc)
        return docs

    async def load_documents(self, partition: Partition, tenant_id: str,
                             *wanted: tuple[type[_Stored], str]) -> list[Document]:
        """Several objects of one partition read together (one round trip where the store can), as stored documents;
        :class:`NotFoundError` for the first one, in order, that is missing, of another type or of another tenant,
        exactly as loading them one after another would answer."""
        usable = self._well_formed(partition, wanted)
        found = await self._get_many(partition, [object_id for _, object_id in wanted[:usable]])
        return self._owned(wanted, found, tenant_id)

    async def load_many(self, partition: Partition, tenant_id: str, *wanted: tuple[type[_Stored], str]) -> list[Any]:
        """:meth:`load_documents` as typed objects (each of its ``wanted`` type)."""
        docs = await self.load_documents(partition, tenant_id, *wanted)
        return [_typed(model, doc) for (model, _), doc in zip(wanted, docs, strict=True)]

    async def page_documents(self, partition: Partition, tenant_id: str, owners: Sequence[tuple[type[_Stored], str]],
                             index: str, query: ListQuery) -> tuple[list[Document], Page[Body]]:
        """The ``owners`` (as :meth:`load_documents`: 404 first), then one page of ``index`` as stored bodies (cursors
        checked as :meth:`page` does). One round trip where the store can read and scan together."""
        usable = self._well_formed(partition, owners)
        owner_ids = [object_id for _, object_id in owners[:usable]]
        cursors = [cursor for cursor in (query.after, query.before) if cursor is not None]
        scanned: Page[Document]
        fused = _fused(self.store)
        if fused is not None and usable == len(owners) and all(map(is_well_formed, cursors)):
            ids = owner_ids + cursors
            found, scanned = await fused.get_and_scan(partition, ids, index, query)
            docs = self._owned(owners, found, tenant_id)
            _check_cursors(index, query, dict(zip(ids, found, strict=True)))
        else:
            docs = self._owned(owners, await self._get_many(partition, owner_ids), tenant_id)
            _check_cursors(index, query, {cursor: await self.store.get(partition, cursor) if is_well_formed(cursor)
                                          else None for cursor in cursors})
            scanned = await self.store.scan(partition, index, query)
        return docs, Page([doc.body for doc in scanned.data], scanned.has_more)

    async def find_many(self, partition: Partition, tenant_id: str,
                        *wanted: tuple[type[_Stored], str]) -> list[Any]:
        """Each of ``wanted`` as its typed object, or ``None`` where it is missing; one round trip where the store
        can read several documents at once."""
        usable = self._well_formed(partition, wanted)
        found = await self._get_many(partition, [object_id for _, object_id in wanted[:usable]])
        found += [None] * (len(wanted) - usable)  # ids that cannot exist were not read
        docs = [_kept(model, doc, tenant_id) for (model, _), doc in zip(wanted, found, strict=True)]
        return [None if doc is None else _typed(model, doc) for (model, _), doc in zip(wanted, docs, strict=True)]

    async def pages(self, partition: Partition, *scans: tuple[type[_Stored], str, ListQuery]) -> list[Page[Any]]:
        """Pages of several indexes (no cursors), in one round trip where the store can scan several at once."""
        fused = _fused(self.store)
        found = (await fused.scan_many(partition, [(index, query) for _, index, query in scans]) if fused is not None
                 else [await self.store.scan(partition, index, query) for _, index, query in scans])
        return [Page([_typed(model, doc) for doc in page.data], page.has_more)
                for (model, _, _), page in zip(scans, found, strict=True)]

    async def find(self, model: type[M], partition: Partition, object_id: str, tenant_id: str) -> M | None:
        if not is_well_formed(object_id, _PREFIXES[model]) or (
                partition.container == "threads" and not is_well_formed(partition.key, "thread")):
            return None  # no such id can exist: the store never sees it
        doc = _kept(model, await self.store.get(partition, object_id), tenant_id)
        return None if doc is None else _typed(model, doc)

    async def load(self, model: type[M], partition: Partition, object_id: str, tenant_id: str) -> M:
        """The object, or :class:`NotFoundError` when it is missing, of another type or of another tenant."""
        obj = await self.find(model, partition, object_id, tenant_id)
        if obj is None:
            raise NotFoundError(_LABELS[model][1], object_id)
        return obj

    async def page(self, model: type[M], partition: Partition, index: str, query: ListQuery) -> Page[M]:
        """One page of an index; cursors must name members of that index (else 400 naming the cursor)."""
        for cursor in (query.after, query.before):
            if cursor is not None:
                _check_cursors(index, query, {cursor: await self.store.get(partition, cursor)
                                              if is_well_formed(cursor) else None}, only=cursor)
        found = await self.store.scan(partition, index, query)
        return Page([_typed(model, doc) for doc in found.data], found.has_more)

    async def save(
        self,
        partition: Partition,
        *,
        create: Sequence[_Stored] = (),
        replace: Sequence[_Stored] = (),
        delete: Sequence[_Stored] = (),
        unchanged: Sequence[_Stored] = (),
    ) -> None:
        """Write all of these atomically. Replaces are conditional on the version each object was read at, and so is
        the whole commit on each ``unchanged`` object (read, not written): a concurrent change makes this raise
        ``ConcurrencyError`` and nothing is written. Etags are refreshed."""
        writes: list[Write] = [Create(_body(obj)) for obj in create]
        writes += [Replace(_body(obj), obj._etag) for obj in replace]
        writes += [Check(_body(obj), obj._etag or "") for obj in unchanged]
        writes += [Delete(obj.id) for obj in delete]
        etags = await self.store.commit(partition, writes)
        for obj, etag in zip([*create, *replace, *unchanged], etags, strict=False):
            obj._etag = etag
