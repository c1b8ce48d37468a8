"""Use cases of files: uploaded to the upstream as they arrive, owned by the uploading tenant.

Code interpreter outputs (container files, ``cfile_…``) are files too for a client: a ``file_path`` annotation names
one, and ``files.content`` must serve it. They are read through the upstream's container-file API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.domain.errors import NotFoundError, RelayedError
from core.domain.pagination import ListQuery, Page
from core.ports.upstream_api import JSON, Download, UpstreamApi

from ._owned import Ownership

__all__ = ["FileService"]


class FileService:
    def __init__(self, ownership: Ownership, upstream: UpstreamApi) -> None:
        self._ownership = ownership
        self._upstream = upstream

    async def upload(self, tenant_id: str, content_type: str, body: AsyncIterator[bytes], length: int | None) -> JSON:
        """Forward a multipart upload (``file`` and ``purpose``) and record the new file as the tenant's."""
        created = await self._upstream.upload("files", content_type, body, length)
        purpose = str(created.get("purpose") or "")
        await self._ownership.adopt(tenant_id, "file", created, self._upstream, f"files/{created['id']}",
                                    ["files", f"files:{purpose}"])
        return created

    async def list(self, tenant_id: str, query: ListQuery, purpose: str | None = None) -> Page[JSON]:
        index = f"files:{purpose}" if purpose else "files"
        return await self._ownership.page(tenant_id, "file", index, query)

    async def retrieve(self, tenant_id: str, file_id: str) -> JSON:
        owner = await self._owner(tenant_id, file_id)
        if owner["doc_type"] == "container_file":
            return _as_file(await self._read(tenant_id, owner, _container_path(owner)))
        found = await self._read(tenant_id, owner, f"files/{file_id}")
        await self._ownership.refresh(tenant_id, owner, found)
        return found

    async def delete(self, tenant_id: str, file_id: str) -> JSON:
        return await self._ownership.delete(tenant_id, "file", file_id, self._upstream, f"files/{file_id}",
                                            {"id": file_id, "object": "file", "deleted": True})

    async def content(self, tenant_id: str, file_id: str) -> Download:
        owner = await self._owner(tenant_id, file_id)
        path = _container_path(owner) if owner["doc_type"] == "container_file" else f"files/{file_id}"
        try:
            return await self._upstream.download(f"{path}/content")
        except RelayedError as error:
            if error.status == 404:
                raise NotFoundError("file", file_id) from None
            raise

    async def _owner(self, tenant_id: str, file_id: str) -> JSON:
        owner = await self._ownership.find(tenant_id, ("file", "container_file"), file_id)
        if owner is None:
            raise NotFoundError("file", file_id)
        return owner

    async def _read(self, tenant_id: str, owner: JSON, path: str) -> JSON:
        """The upstream's object; one that expired or was deleted upstream is forgotten here and is a 404."""
        try:
            return await self._upstream.call("GET", path)
        except RelayedError as error:
            if error.status != 404:
                raise
            await self._ownership.forget(tenant_id, owner)
            raise NotFoundError("file", owner["id"]) from None


def _container_path(owner: JSON) -> str:
    return f"containers/{owner['container_id']}/files/{owner['id']}"


def _as_file(container_file: JSON) -> JSON:
    """A container file as the File object clients expect of the ids in ``file_path`` annotations."""
    return {
        "id": container_file["id"],
        "object": "file",
        "bytes": container_file.get("bytes") or 0,
        "created_at": container_file.get("created_at") or 0,
        "filename": str(container_file.get("path") or "").rsplit("/", 1)[-1] or container_file["id"],
        "purpose": "assistants_output",
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
