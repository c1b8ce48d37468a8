"""Which tenant owns each upstream object (file, vector store, code interpreter output) made through the service.

The objects live upstream, under the service's own credentials, so the upstream cannot tell tenants apart: these
records do. Each is kept in the tenant's partition (the one that holds its assistants) as two documents written
together: an *owner* document whose id is the upstream id (one point read answers "is this yours?") and an *entry*
whose id sorts in creation order and is listed in an index (upstream ids are random, and lists page in id order).
Container files (code interpreter outputs) have an owner document only: they are never listed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from core.domain.errors import (
    ConcurrencyError,
    InvalidRequestError,
    NotFoundError,
    RelayedError,
    ServiceUnavailableError,
)
from core.domain.ids import is_upstream_id, new_id
from core.domain.pagination import ListQuery, Page
from core.logs import get_logger
from core.ports.store import INDEXES_FIELD, Create, Delete, Document, DocumentStore, Partition, Replace
from core.ports.upstream_api import UpstreamApi

__all__ = ["Kind", "Ownership", "Reference"]

Kind = Literal["file", "vector_store", "container_file"]
Reference = tuple[Kind, str, str]  # (kind, upstream id, the request field that names it)
JSON = dict[str, Any]

_log = get_logger("files")
_DOC_TYPE = "doc_type"
_WORDING: dict[Kind, str] = {"file": "file", "vector_store": "vector store", "container_file": "file"}
def _partition(tenant_id: str) -> Partition:
    return Partition("assistants", tenant_id)


class Ownership:
    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def find(self, tenant_id: str, kind: Kind | tuple[Kind, ...], object_id: str) -> JSON | None:
        """The owner document of ``object_id`` if ``tenant_id`` owns it as a ``kind`` (or one of them)."""
        if not is_upstream_id(object_id):
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        doc = await self._store.get(_partition(tenant_id), object_id)
        if doc is None or doc.body.get(_DOC_TYPE) not in kinds or doc.body.get("tenant_id") != tenant_id:
            return None
        return doc.body

    async def require(self, tenant_id: str, kind: Kind, object_id: str) -> JSON:
        """The owner document, or a 404 worded like any unknown id (another tenant's objects do not exist)."""
        owner = await self.find(tenant_id, kind, object_id)
        if owner is None:
            raise NotFoundError(_WORDING[kind], object_id)
        return owner

    async def check_references(self, tenant_id: str, references: Iterable[Reference]) -> None:
        """400 naming the first field whose id the tenant does not own."""
        unique = list(dict.fromkeys(references))
        if not unique:
            return
        owners = await asyncio.gather(*(self.find(tenant_id, kind, object_id) for kind, object_id, _ in unique))
        for (kind, object_id, param), owner in zip(unique, owners, strict=True):
            if owner is None:
                shown = "".join(char for char in object_id[:64] if char.isprintable())
                raise InvalidRequestError(f"Invalid '{param}': no {_WORDING[kind]} found with id '{shown}'.",
                                          param=param, code="invalid_value")

    async def record(self, tenant_id: str, kind: Kind, obj: JSON, indexes: Sequence[str] = (), **extra: Any) -> None:
        """Record ``obj`` (the upstream's object) as the tenant's; listed under ``indexes`` with a snapshot of it."""
        if not isinstance(obj.get("id"), str) or not is_upstream_id(obj["id"]):
            raise ServiceUnavailableError("The model service answered with an unexpected object id.")
        owner: JSON = {"id": obj["id"], _DOC_TYPE: kind, "tenant_id": tenant_id, **extra}
        writes: list[Create] = []
        if indexes:
            entry_id = new_id("owned")
            owner["entry_id"] = entry_id
            writes.append(Create({"id": entry_id, _DOC_TYPE: f"{kind}_entry", "tenant_id": tenant_id,
                                  "object": obj, INDEXES_FIELD: list(indexes)}))
        with contextlib.suppress(ConcurrencyError):  # recorded already (a code interpreter file cited twice)
            await self._store.commit(_partition(tenant_id), [Create(owner), *writes])

    async def adopt(self, tenant_id: str, kind: Kind, created: JSON, upstream: UpstreamApi, path: str,
                    indexes: Sequence[str]) -> None:
        """Record an object just created upstream; if that fails (the store is down), delete it upstream again, so
        no object exists that nobody owns and nobody can delete."""
        try:
            await self.record(tenant_id, kind, created, indexes)
        except BaseException:
            try:
                await upstream.call("DELETE", path)
            except Exception:
                _log.warning("an upstream object was left unowned", extra={"kind": kind, "id": created.get("id")})
            raise

    async def delete(self, tenant_id: str, kind: Kind, object_id: str, upstream: UpstreamApi, path: str,
                     deleted: JSON) -> JSON:
        """Delete the tenant's object upstream, then its record; one already gone upstream (expired) is forgotten
        too, and answered with ``deleted``."""
        owner = await self.require(tenant_id, kind, object_id)
        try:
            answer = await upstream.call("DELETE", path)
        except RelayedError as error:
            if error.status != 404:
                raise
            answer = deleted
        await self.forget(tenant_id, owner)
        return answer

    async def refresh(self, tenant_id: str, owner: JSON, obj: JSON) -> None:
        """Replace the listed snapshot with the upstream's current object."""
        entry_id = owner.get("entry_id")
        if not entry_id:
            return
        partition = _partition(tenant_id)
        entry = await self._store.get(partition, entry_id)
        if entry is None or entry.body.get("object") == obj:
            return
        with contextlib.suppress(ConcurrencyError):  # a newer snapshot landed meanwhile
            await self._store.commit(partition, [Replace({**entry.body, "object": obj}, entry.etag)])

    async def forget(self, tenant_id: str, owner: JSON) -> None:
        writes = [Delete(owner["id"])] + ([Delete(owner["entry_id"])] if owner.get("entry_id") else [])
        await self._store.commit(_partition(tenant_id), writes)

    async def page(self, tenant_id: str, kind: Kind, index: str, query: ListQuery) -> Page[JSON]:
        """A page of the tenant's snapshots, in creation order; cursors are upstream ids the tenant owns."""
        found = await self.entries(tenant_id, kind, index, query)
        return Page([entry.body["object"] for entry in found.data], found.has_more)

    async def entries(self, tenant_id: str, kind: Kind, index: str, query: ListQuery) -> Page[Document]:
        """:meth:`page` as the entry documents (each with its snapshot under ``object``), for :meth:`renew`."""
        bounds: dict[str, str | None] = {"after": None, "before": None}
        for param in bounds:
            cursor = getattr(query, param)
            if cursor is None:
                continue
            owner = await self.find(tenant_id, kind, cursor)
            if owner is None or not owner.get("entry_id"):
                shown = "".join(char for char in cursor[:64] if char.isprintable())
                raise InvalidRequestError(f"Invalid '{param}': no such object '{shown}' in this list.", param=param)
            bounds[param] = owner["entry_id"]
        scan = ListQuery(limit=query.limit, order=query.order, after=bounds["after"], before=bounds["before"])
        return await self._store.scan(_partition(tenant_id), index, scan)

    async def renew(self, tenant_id: str, entry: Document, obj: JSON) -> None:
        """Replace a listed snapshot read by :meth:`entries` with the upstream's current object, if it changed."""
        if entry.body.get("object") == obj:
            return
        with contextlib.suppress(ConcurrencyError):  # a newer snapshot landed meanwhile
            await self._store.commit(_partition(tenant_id), [Replace({**entry.body, "object": obj}, entry.etag)])
