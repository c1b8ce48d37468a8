"""`/v1/vector_stores`: stores, their files and file batches (what `upload_and_poll` and `create_and_poll` call)."""

from __future__ import annotations

from typing import Any

from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import present_objects
from core.http.schemas import parse
from core.http.schemas.vector_stores import (
    BatchCreate,
    FileAttributes,
    StoreFileCreate,
    VectorStoreCreate,
    VectorStoreSearch,
    VectorStoreUpdate,
)

routes = Routes()
bp = routes.blueprint

_FILE_LIST_PARAMS = ("limit", "order", "after", "before", "filter")


@routes("vector_stores", "POST")
async def vector_stores_create(call: Call) -> dict[str, Any]:
    body = parse(VectorStoreCreate, await call.body())
    return await call.container.vector_stores.create(call.tenant_id, body.fields())


@routes("vector_stores", "GET")
async def vector_stores_list(call: Call) -> dict[str, Any]:
    query, _ = call.list_query()
    return present_objects(await call.container.vector_stores.list(call.tenant_id, query))


@routes("vector_stores/{vector_store_id}", "GET")
async def vector_stores_retrieve(call: Call) -> dict[str, Any]:
    return await call.container.vector_stores.retrieve(call.tenant_id, call.path("vector_store_id"))


@routes("vector_stores/{vector_store_id}", "POST")
async def vector_stores_update(call: Call) -> dict[str, Any]:
    body = parse(VectorStoreUpdate, await call.body())
    return await call.container.vector_stores.update(call.tenant_id, call.path("vector_store_id"), body.fields())


@routes("vector_stores/{vector_store_id}", "DELETE")
async def vector_stores_delete(call: Call) -> dict[str, Any]:
    return await call.container.vector_stores.delete(call.tenant_id, call.path("vector_store_id"))


@routes("vector_stores/{vector_store_id}/search", "POST")
async def vector_stores_search(call: Call) -> dict[str, Any]:
    body = parse(VectorStoreSearch, await call.body())
    return await call.container.vector_stores.search(call.tenant_id, call.path("vector_store_id"),
                                                     body.model_dump(exclude_unset=True))


@routes("vector_stores/{vector_store_id}/files", "POST")
async def vector_store_files_create(call: Call) -> dict[str, Any]:
    body = parse(StoreFileCreate, await call.body())
    return await call.container.vector_stores.add_file(call.tenant_id, call.path("vector_store_id"),
                                                       body.model_dump(exclude_unset=True))


@routes("vector_stores/{vector_store_id}/files", "GET")
async def vector_store_files_list(call: Call) -> dict[str, Any]:
    return await _forward(call, "GET", "files", query=_list_params(call))


@routes("vector_stores/{vector_store_id}/files/{file_id}", "GET")
async def vector_store_files_retrieve(call: Call) -> dict[str, Any]:
    return await _forward(call, "GET", f"files/{call.path('file_id')}")


@routes("vector_stores/{vector_store_id}/files/{file_id}/content", "GET")
async def vector_store_files_content(call: Call) -> dict[str, Any]:
    call.query()
    return await _forward(call, "GET", f"files/{call.path('file_id')}/content")


@routes("vector_stores/{vector_store_id}/files/{file_id}", "POST")
async def vector_store_files_update(call: Call) -> dict[str, Any]:
    body = parse(FileAttributes, await call.body())
    return await _forward(call, "POST", f"files/{call.path('file_id')}", body=body.model_dump())


@routes("vector_stores/{vector_store_id}/files/{file_id}", "DELETE")
async def vector_store_files_delete(call: Call) -> dict[str, Any]:
    return await _forward(call, "DELETE", f"files/{call.path('file_id')}")


@routes("vector_stores/{vector_store_id}/file_batches", "POST")
async def vector_store_file_batches_create(call: Call) -> dict[str, Any]:
    body = parse(BatchCreate, await call.body())
    return await call.container.vector_stores.add_batch(call.tenant_id, call.path("vector_store_id"),
                                                        body.model_dump(exclude_unset=True))


@routes("vector_stores/{vector_store_id}/file_batches/{batch_id}", "GET")
async def vector_store_file_batches_retrieve(call: Call) -> dict[str, Any]:
    return await _forward(call, "GET", f"file_batches/{call.path('batch_id')}")


@routes("vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel", "POST")
async def vector_store_file_batches_cancel(call: Call) -> dict[str, Any]:
    return await _forward(call, "POST", f"file_batches/{call.path('batch_id')}/cancel")


@routes("vector_stores/{vector_store_id}/file_batches/{batch_id}/files", "GET")
async def vector_store_file_batches_files(call: Call) -> dict[str, Any]:
    return await _forward(call, "GET", f"file_batches/{call.path('batch_id')}/files", query=_list_params(call))


async def _forward(call: Call, method: str, subpath: str, *, query: dict[str, str] | None = None,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A call on one of the caller's stores (``files/{id}``, ``file_batches/{id}/cancel``, …), relayed as is."""
    return await call.container.vector_stores.forward(call.tenant_id, call.path("vector_store_id"), method, subpath,
                                                      query=query, body=body)


def _list_params(call: Call) -> dict[str, str]:
    """The list parameters, checked as for every list, passed on as the upstream takes them."""
    call.list_query(extra=["filter"])
    return {name: values[-1] for name, values in call.query(_FILE_LIST_PARAMS).items() if name in _FILE_LIST_PARAMS}
