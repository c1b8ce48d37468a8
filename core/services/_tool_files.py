"""Files and vector stores as assistants, threads, messages and runs use them (assistants-on-responses.md §2, §4.3).

- Every id they reference must be the caller's own (400 naming the field otherwise): the upstream would serve
  anyone's, since all are made with the service's credentials.
- The ``vector_stores`` helper of ``tool_resources.file_search`` creates the store and keeps only its id.
- A message attachment tagged ``file_search`` goes into the thread's vector store, created on first need, as the
  Assistants API did; the run waits for the files to be ingested before the model searches them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.domain.errors import ApiError, InvalidRequestError
from core.domain.ids import is_upstream_id
from core.domain.models import JSON, Thread
from core.logs import get_logger
from core.ports.upstream_api import UpstreamApi

from ._owned import Ownership, Reference

__all__ = ["ToolFiles", "refuse_vector_store_helper", "search_attachments",
           "with_search_store"]

_log = get_logger("runs")
INGESTION_WAIT_SECONDS = 60.0  # a run searches what is ingested by then
_MAX_VECTOR_STORES = 1  # per assistant or thread, as in the Assistants API
# Stores made by a thread's helpers expire 7 days after last use, as in the Assistants API (a run on a thread whose
# store expired fails there too; attach a new store to go on).
THREAD_STORE_EXPIRY: JSON = {"anchor": "last_active_at", "days": 7}


def _references(resources: Mapping[str, Any] | None, where: str) -> list[Reference]:
    found: list[Reference] = []
    resources = resources or {}
    files = (resources.get("code_interpreter") or {}).get("file_ids") or []
    found += [("file", file_id, f"{where}.code_interpreter.file_ids") for file_id in files]
    search = resources.get("file_search") or {}
    found += [("vector_store", store_id, f"{where}.file_search.vector_store_ids")
              for store_id in search.get("vector_store_ids") or []]
    for index, helper in enumerate(search.get("vector_stores") or []):
        found += [("file", file_id, f"{where}.file_search.vector_stores[{index}].file_ids")
                  for file_id in helper.get("file_ids") or []]
    return found


def _message_references(messages: Sequence[Mapping[str, Any]], where: str) -> list[Reference]:
    found: list[Reference] = []
    for number, message in enumerate(messages):
        at = f"{where}[{number}]." if where else ""
        for index, attachment in enumerate(message.get("attachments") or []):
            found.append(("file", attachment["file_id"], f"{at}attachments[{index}].file_id"))
        content = message.get("content")
        for index, part in enumerate(content if isinstance(content, list) else []):
            if part.get("type") == "image_file":
                found.append(("file", part["image_file"]["file_id"], f"{at}content[{index}].image_file.file_id"))
    return found


def search_attachments(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of the files attached for ``file_search``, in order, once each."""
    return list(dict.fromkeys(
        attachment["file_id"]
        for message in messages for attachment in message.get("attachments") or []
        if any(tool.get("type") == "file_search" for tool in attachment.get("tools") or [])
    ))


def refuse_vector_store_helper(resources: Mapping[str, Any], where: str = "tool_resources") -> None:
    """The ``vector_stores`` helper creates stores at creation only; an update names stores by id."""
    if (resources.get("file_search") or {}).get("vector_stores"):
        raise InvalidRequestError(f"Invalid '{where}.file_search.vector_stores': vector stores can be created "
                                  "inline only when creating; pass vector_store_ids.",
                                  param=f"{where}.file_search.vector_stores")


def with_search_store(resources: JSON, store_id: str | None) -> JSON:
    """``resources`` searching ``store_id`` when they name no vector store yet."""
    search = resources.get("file_search") or {}
    if store_id is None or search.get("vector_store_ids"):
        return resources
    return {**resources, "file_search": {**search, "vector_store_ids": [store_id]}}


class ToolFiles:
    def __init__(self, ownership: Ownership, upstream: UpstreamApi) -> None:
        self._ownership = ownership
        self._upstream = upstream

    async def check(self, tenant_id: str, *, resources: Mapping[str, Any] | None = None, where: str = "tool_resources",
                    messages: Sequence[Mapping[str, Any]] = (), messages_at: str = "") -> None:
        """Refuse ids the tenant does not own, and more than one vector store."""
        search = (resources or {}).get("file_search") or {}
        if len(search.get("vector_store_ids") or []) + len(search.get("vector_stores") or []) > _MAX_VECTOR_STORES:
            raise InvalidRequestError(f"Invalid '{where}.file_search': at most {_MAX_VECTOR_STORES} vector store may "
                                      "be attached.", param=f"{where}.file_search")
        await self._ownership.check_references(
            tenant_id, _references(resources, where) + _message_references(messages, messages_at))

    async def stored(self, tenant_id: str, resources: Mapping[str, Any] | None, *,
                     for_thread: bool = False) -> JSON | None:
        """``tool_resources`` as stored: a ``vector_stores`` helper becomes a new store's id (expiring after a week
        of disuse ``for_thread``)."""
        if resources is None:
            return None
        search = dict(resources.get("file_search") or {})
        helpers = search.pop("vector_stores", None) or []
        if not helpers:
            return dict(resources)
        ids = list(search.get("vector_store_ids") or [])
        for helper in helpers:
            fields = {key: value for key, value in helper.items() if value is not None}
            if for_thread:
                fields["expires_after"] = THREAD_STORE_EXPIRY
            ids.append(await self._new_store(tenant_id, fields))
        return {**resources, "file_search": {**search, "vector_store_ids": ids}}

    async def index_attachments(self, tenant_id: str, thread: Thread,
                                messages: Sequence[Mapping[str, Any]]) -> str | None:
        """Put the messages' ``file_search`` attachments in the thread's vector store, created on first need;
        the store's id, for :func:`with_search_store` (``None`` without such attachments)."""
        file_ids = search_attachments(messages)
        if not file_ids:
            return None
        store_ids = (thread.tool_resources.get("file_search") or {}).get("vector_store_ids") or []
        if store_ids:
            await self._upstream.call("POST", f"vector_stores/{store_ids[0]}/file_batches",
                                      body={"file_ids": file_ids})
            return str(store_ids[0])
        return await self._new_store(tenant_id, {"name": f"{thread.id} files", "file_ids": file_ids,
                                                 "expires_after": THREAD_STORE_EXPIRY})

    async def _new_store(self, tenant_id: str, fields: JSON) -> str:
        created = await self._upstream.call("POST", "vector_stores", body=fields)
        await self._ownership.adopt(tenant_id, "vector_store", created, self._upstream,
                                    f"vector_stores/{created['id']}", ["vector_stores"])
        return str(created["id"])

    async def wait_ingested(self, request: Mapping[str, Any]) -> None:
        """Wait until the request's file_search stores have no file in progress, up to INGESTION_WAIT_SECONDS."""
        store_ids = [store_id for tool in request.get("tools") or [] if tool.get("type") == "file_search"
                     for store_id in tool.get("vector_store_ids") or []]
        if not store_ids:
            return
        deadline, pause = time.monotonic() + INGESTION_WAIT_SECONDS, 0.1
        while True:
            stores = await asyncio.gather(*(self._upstream.call("GET", f"vector_stores/{store_id}")
                                            for store_id in store_ids), return_exceptions=True)
            busy = [store for store in stores
                    if isinstance(store, dict) and ((store.get("file_counts") or {}).get("in_progress") or 0) > 0]
            if not busy:
                return
            if time.monotonic() + pause > deadline:
                _log.warning("vector stores still ingesting; the run searches what is ready",
                             extra={"vector_store_ids": [store.get("id") for store in busy]})
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def own_outputs(self, tenant_id: str, event: Mapping[str, Any], recorded: set[str]) -> None:
        """Record the code interpreter files a reply cites as the tenant's, so ``files.content`` serves them; a file
        already in ``recorded`` (the call's own: a citation streams, then comes again with its finished item) is not
        written twice."""
        annotations: list[Any] = []
        if event.get("type") == "response.output_text.annotation.added":
            annotations.append(event.get("annotation"))
        elif event.get("type") == "response.output_item.done" and (event.get("item") or {}).get("type") == "message":
            annotations += [annotation for part in event["item"].get("content") or [] if isinstance(part, dict)
                            for annotation in part.get("annotations") or []]
        for annotation in annotations:
            if not isinstance(annotation, dict) or annotation.get("type") != "container_file_citation":
                continue
            file_id, container_id = annotation.get("file_id"), annotation.get("container_id")
            if not (isinstance(file_id, str) and is_upstream_id(file_id) and isinstance(container_id, str)
                    and is_upstream_id(container_id)) or file_id in recorded:
                continue
            recorded.add(file_id)
            try:
                await self._ownership.record(tenant_id, "container_file", {"id": file_id}, container_id=container_id)
            except ApiError:  # the reply stands; only this file's content will not be served
                _log.warning("could not record a code interpreter file", extra={"file_id": file_id})
