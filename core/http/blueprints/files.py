"""`/v1/files`: upload, list, retrieve, delete, content. Bodies stream both ways, never held whole."""

from __future__ import annotations

from typing import Any

from azurefunctions.extensions.http.fastapi import Response, StreamingResponse

from core.domain.errors import InvalidRequestError
from core.http._body import declared_length, within
from core.http._endpoint import Call
from core.http._routes import Routes
from core.http.presenters import present_objects

routes = Routes()
bp = routes.blueprint

MAX_LIST_LIMIT = 10_000  # OpenAI's bounds for the files list, whose default is its maximum


@routes("files", "POST")
async def files_create(call: Call) -> dict[str, Any]:
    content_type = call.request.headers.get("content-type") or ""
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data" or "boundary=" not in content_type:
        raise InvalidRequestError("Send the file as multipart/form-data with the fields 'file' and 'purpose'.",
                                  code="invalid_content_type")
    limit = call.container.settings.max_upload_bytes
    length = declared_length(call.request.headers.get("content-length"), limit)
    return await call.container.files.upload(call.tenant_id, content_type, within(call.request.stream(), limit),
                                             length)


@routes("files", "GET")
async def files_list(call: Call) -> dict[str, Any]:
    query, values = call.list_query(extra=["purpose"], default_limit=MAX_LIST_LIMIT, max_limit=MAX_LIST_LIMIT)
    purpose = values.get("purpose", [None])[-1] or None
    return present_objects(await call.container.files.list(call.tenant_id, query, purpose))


@routes("files/{file_id}", "GET")
async def files_retrieve(call: Call) -> dict[str, Any]:
    return await call.container.files.retrieve(call.tenant_id, call.path("file_id"))


@routes("files/{file_id}", "DELETE")
async def files_delete(call: Call) -> dict[str, Any]:
    return await call.container.files.delete(call.tenant_id, call.path("file_id"))


@routes("files/{file_id}/content", "GET")
async def files_content(call: Call) -> Response:
    download = await call.container.files.content(call.tenant_id, call.path("file_id"))
    headers = {"Content-Length": str(download.length)} if download.length is not None else {}
    return StreamingResponse(download.chunks, media_type=download.content_type, headers=headers)
