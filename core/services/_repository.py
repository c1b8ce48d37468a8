"""Typed access to the document store: which partition and indexes each object lives in, tenant checks, cursors.

Every read goes through :meth:`Repository.load`, which answers 404 for objects of another tenant, so tenant
isolation is enforced in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, cast

from core.domain.errors import InvalidRequestError, NotFoundError
from core.domain.ids import is_well_formed
from core.domain.models import Assistant, Message, Run, RunStep, Thread, _Stored
from core.domain.pagination import ListQuery, Page
from core.ports.store import INDEXES_FIELD, Create, Delete, Document, DocumentStore, Partition, Replace, Write

__all__ = ["Repository", "assistants_of", "thread_partition"]

M = TypeVar("M", bound=_Stored)
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


class Repository:
    """The store, seen as typed objects."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    async def find(self, model: type[M], partition: Partition, object_id: str, tenant_id: str) -> M | None:
        if not is_well_formed(object_id, _PREFIXES[model]) or (
                partition.container == "threads" and not is_well_formed(partition.key, "thread")):
            return None  # no such id can exist: the store never sees it
        doc = await self.store.get(partition, object_id)
        if doc is None or doc.body.get(DOC_TYPE_FIELD) != _LABELS[model][0] or doc.body.get("tenant_id") != tenant_id:
            return None
        return _typed(model, doc)

    async def load(self, model: type[M], partition: Partition, object_id: str, tenant_id: str) -> M:
        """The object, or :class:`NotFoundError` when it is missing, of another type or of another tenant."""
        obj = await self.find(model, partition, object_id, tenant_id)
        if obj is None:
            raise NotFoundError(_LABELS[model][1], object_id)
        return obj

    async def page(self, model: type[M], partition: Partition, index: str, query: ListQuery) -> Page[M]:
        """One page of an index; cursors must name members of that index (else 400 naming the cursor)."""
        for param, cursor in (("after", query.after), ("before", query.before)):
            if cursor is None:
                continue
            doc = await self.store.get(partition, cursor) if is_well_formed(cursor) else None
            if doc is None or index not in (doc.body.get(INDEXES_FIELD) or []):
                shown = "".join(char for char in cursor[:64] if char.isprintable())
                raise InvalidRequestError(f"Invalid '{param}': no such object '{shown}' in this list.", param=param)
        found = await self.store.scan(partition, index, query)
        return Page([_typed(model, doc) for doc in found.data], found.has_more)

    async def save(
        self,
        partition: Partition,
        *,
        create: Sequence[_Stored] = (),
        replace: Sequence[_Stored] = (),
        delete: Sequence[_Stored] = (),
    ) -> None:
        """Write all of these atomically. Replaces are conditional on the version each object was read at, so a
        concurrent change makes this raise ``ConcurrencyError`` and nothing is written. Etags are refreshed."""
        writes: list[Write] = [Create(_body(obj)) for obj in create]
        writes += [Replace(_body(obj), obj._etag) for obj in replace]
        writes += [Delete(obj.id) for obj in delete]
        etags = await self.store.commit(partition, writes)
        for obj, etag in zip([*create, *replace], etags, strict=False):
            obj._etag = etag
