"""Vector stores of the fake upstream (`tests/fake_responses.py`), in the OpenAI wire format, with ingestion.

Routes (under `/v1`): `/vector_stores` POST/GET, `/vector_stores/{id}` GET/POST/DELETE, `/vector_stores/{id}/files`
POST/GET (`filter`), `/vector_stores/{id}/files/{file_id}` GET/POST/DELETE, `/vector_stores/{id}/file_batches` POST,
`/file_batches/{batch_id}` GET, `/file_batches/{batch_id}/cancel` POST, `/file_batches/{batch_id}/files` GET.

Ingestion: a file added to a store is `in_progress` and turns `completed` on the `ingestion_reads`-th read of it (a
GET of the store, of the file, of a batch holding it, or of a list of files showing it); `ingestion_reads = 0`
completes it at once. A file id the Files API does not know is `failed` at once with `last_error`; `fail(file_id)`
makes a known file end `failed`. Store and batch `status` and `file_counts` follow their files; every answer
carries `openai-poll-after-ms: poll_after_ms` (5) so the SDK's poll helpers are fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fake_upstream_files import FakeFiles
from tests.fake_upstream_http import Json, Recorder, api_error, bad_list_params, json_body, list_page, new_object_id, ok

DEFAULT_CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
STATUSES = ("in_progress", "completed", "failed", "cancelled")


@dataclass
class _File:
    file_id: str
    created_at: int
    size: int
    reads_left: int
    status: str = "in_progress"
    attributes: dict[str, Any] | None = None
    chunking_strategy: Json = field(default_factory=lambda: dict(DEFAULT_CHUNKING))
    last_error: Json | None = None
    batch_id: str | None = None

    def to_json(self, vector_store_id: str) -> Json:
        return {
            "id": self.file_id,
            "object": "vector_store.file",
            "created_at": self.created_at,
            "last_error": self.last_error,
            "status": self.status,
            "usage_bytes": self.size if self.status == "completed" else 0,
            "vector_store_id": vector_store_id,
            "attributes": self.attributes or {},
            "chunking_strategy": self.chunking_strategy,
        }


@dataclass
class _Batch:
    id: str
    created_at: int
    file_ids: list[str]
    cancelled: bool = False


@dataclass
class _Store:
    id: str
    name: str
    created_at: int
    metadata: dict[str, str]
    expires_after: Json | None
    files: dict[str, _File] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)

    def to_json(self) -> Json:
        files = list(self.files.values())
        return {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "file_counts": _counts(files),
            "last_active_at": self.created_at,
            "metadata": self.metadata,
            "name": self.name,
            "status": "in_progress" if any(f.status == "in_progress" for f in files) else "completed",
            "usage_bytes": sum(f.size for f in files if f.status == "completed"),
            "expires_after": self.expires_after,
            "expires_at": self.created_at + self.expires_after["days"] * 86400 if self.expires_after else None,
        }

    def batch_files(self, batch: _Batch) -> list[_File]:
        return [self.files[i] for i in batch.file_ids if i in self.files and self.files[i].batch_id == batch.id]

    def batch_json(self, batch: _Batch) -> Json:
        files = self.batch_files(batch)
        running = any(f.status == "in_progress" for f in files)
        return {
            "id": batch.id,
            "object": "vector_store.files_batch",
            "created_at": batch.created_at,
            "file_counts": _counts(files),
            "status": "cancelled" if batch.cancelled else "in_progress" if running else "completed",
            "vector_store_id": self.id,
        }


def _bad_expiry(body: Json) -> Response | None:
    """The real API's 400 for an `expires_after` that is not `{"anchor": "last_active_at", "days": 1..365}`."""
    expiry = body.get("expires_after")
    if expiry is None:
        return None
    days = expiry.get("days") if isinstance(expiry, dict) else None
    if isinstance(expiry, dict) and expiry.get("anchor") == "last_active_at" and type(days) is int and 1 <= days <= 365:
        return None
    message = f"Invalid value for 'expires_after': {expiry!r}."
    return api_error(400, message, code="invalid_value", param="expires_after")


def _counts(files: list[_File]) -> Json:
    counts = {status: sum(f.status == status for f in files) for status in STATUSES}
    return {**counts, "total": len(files)}


class FakeVectorStores:
    def __init__(self, files: FakeFiles, record: Recorder) -> None:
        self._files = files
        self._record = record
        self._lock = threading.RLock()
        self._stores: dict[str, _Store] = {}
        self._failing: dict[str, Json] = {}
        self.ingestion_reads = 1
        self.poll_after_ms = 5

    def reset(self) -> None:
        with self._lock:
            self._stores.clear()
            self._failing.clear()
        self.ingestion_reads = 1
        self.poll_after_ms = 5

    def fail(self, file_id: str, code: str = "unsupported_file", message: str = "The file cannot be parsed.") -> None:
        """Make ingestion of `file_id` (in any store, from now on) end `failed` with this `last_error`."""
        with self._lock:
            self._failing[file_id] = {"code": code, "message": message}

    def get(self, vector_store_id: str) -> Json | None:
        """The store as the API would show it, without counting as a read."""
        with self._lock:
            store = self._stores.get(vector_store_id)
            return None if store is None else store.to_json()

    def file_ids(self, vector_store_id: str) -> list[str]:
        with self._lock:
            store = self._stores.get(vector_store_id)
            return [] if store is None else list(store.files)

    def search(self, vector_store_ids: Iterable[str], max_results: int = 5) -> list[Json]:
        """`file_search_call` results for the completed files of these stores: one per file, its text's start."""
        results: list[Json] = []
        with self._lock:
            for store_id in vector_store_ids:
                store = self._stores.get(store_id)
                for entry in store.files.values() if store else ():
                    stored = self._files.get(entry.file_id)
                    if entry.status == "completed" and stored is not None:
                        text = stored.data[:400].decode("utf-8", "replace")
                        score = round(0.9 - 0.05 * len(results), 4)
                        results.append({"file_id": stored.id, "filename": stored.filename, "score": score,
                                        "text": text, "attributes": entry.attributes or {}})
        return results[:max_results]

    def routes(self) -> list[Route]:
        base = "/v1/vector_stores/{vector_store_id}"
        return [
            self._route("/v1/vector_stores", self._create, "POST"),
            self._route("/v1/vector_stores", self._list, "GET"),
            self._route(base, self._store, "GET", "POST", "DELETE"),
            self._route(f"{base}/files", self._add_file, "POST"),
            self._route(f"{base}/files", self._list_files, "GET"),
            self._route(f"{base}/files/{{file_id}}", self._file, "GET", "POST", "DELETE"),
            self._route(f"{base}/files/{{file_id}}/content", self._file_content, "GET"),
            self._route(f"{base}/file_batches", self._create_batch, "POST"),
            self._route(f"{base}/file_batches/{{batch_id}}", self._batch, "GET"),
            self._route(f"{base}/file_batches/{{batch_id}}/cancel", self._batch, "POST"),
            self._route(f"{base}/file_batches/{{batch_id}}/files", self._list_files, "GET"),
        ]

    def _route(self, path: str, handler: Callable[[Request, Json, _Store], Response], *methods: str) -> Route:
        """A route that reads and records the JSON body, then, under the lock, finds the store named in the path
        and runs `handler` (a bad list parameter is a 400)."""

        async def endpoint(request: Request) -> Response:
            body = await json_body(request) if request.method == "POST" else {}
            self._record(request, body or {})
            if body is None:
                return api_error(400, "The body must be a JSON object.")
            store_id = request.path_params.get("vector_store_id")
            with self._lock:
                store = self._stores.get(store_id) if store_id else _Store("", "", 0, {}, None)
                if store is None:
                    return api_error(404, f"No vector store found with id '{store_id}'.", param="vector_store_id")
                try:
                    return handler(request, body, store)
                except ValueError:
                    return bad_list_params()

        return Route(path, endpoint, methods=list(methods))

    def _ok(self, payload: Json) -> Response:
        return ok(payload, {"openai-poll-after-ms": str(self.poll_after_ms)})

    def _read(self, files: Iterable[_File]) -> None:
        for entry in files:
            if entry.status == "in_progress":
                entry.reads_left -= 1
                if entry.reads_left <= 0:
                    self._finish(entry)

    def _finish(self, entry: _File) -> None:
        entry.last_error = dict(self._failing[entry.file_id]) if entry.file_id in self._failing else None
        entry.status = "failed" if entry.last_error else "completed"

    def _attach(self, store: _Store, file_id: str, spec: Json, batch_id: str | None = None) -> _File:
        stored = self._files.get(file_id)
        entry = _File(file_id, int(time.time()), len(stored.data) if stored else 0, self.ingestion_reads,
                      attributes=spec.get("attributes"), batch_id=batch_id)
        if (spec.get("chunking_strategy") or {}).get("type") == "static":
            entry.chunking_strategy = spec["chunking_strategy"]
        if stored is None:
            entry.status, entry.last_error = "failed", {"code": "invalid_file", "message": f"File {file_id} not found."}
        elif self.ingestion_reads <= 0:
            self._finish(entry)
        store.files.pop(file_id, None)
        store.files[file_id] = entry
        return entry

    def _create(self, request: Request, body: Json, _: _Store) -> Response:
        if (refused := _bad_expiry(body)) is not None:
            return refused
        store = _Store(new_object_id("vs_", 32), body.get("name") or "", int(time.time()),
                       body.get("metadata") or {}, body.get("expires_after"))
        for file_id in body.get("file_ids") or []:
            self._attach(store, file_id, body)
        self._stores[store.id] = store
        return self._ok(store.to_json())

    def _list(self, request: Request, body: Json, _: _Store) -> Response:
        return self._ok(list_page([store.to_json() for store in self._stores.values()], request.query_params))

    def _store(self, request: Request, body: Json, store: _Store) -> Response:
        if request.method == "DELETE":
            del self._stores[store.id]
            return self._ok({"id": store.id, "object": "vector_store.deleted", "deleted": True})
        if request.method == "POST":
            if (refused := _bad_expiry(body)) is not None:
                return refused
            store.name = body["name"] if body.get("name") is not None else store.name
            store.metadata = body["metadata"] if body.get("metadata") is not None else store.metadata
            store.expires_after = body.get("expires_after", store.expires_after)
        else:
            self._read(store.files.values())
        return self._ok(store.to_json())

    def _add_file(self, request: Request, body: Json, store: _Store) -> Response:
        if not isinstance(body.get("file_id"), str):
            return api_error(400, "Missing required parameter: 'file_id'.", param="file_id")
        return self._ok(self._attach(store, body["file_id"], body).to_json(store.id))

    def _file(self, request: Request, body: Json, store: _Store) -> Response:
        entry = store.files.get(request.path_params["file_id"])
        if entry is None:
            message = f"No file found with id '{request.path_params['file_id']}' in vector store '{store.id}'."
            return api_error(404, message, param="file_id")
        if request.method == "DELETE":
            del store.files[entry.file_id]
            return self._ok({"id": entry.file_id, "object": "vector_store.file.deleted", "deleted": True})
        if request.method == "POST":
            entry.attributes = body.get("attributes")
        else:
            self._read([entry])
        return self._ok(entry.to_json(store.id))

    def _file_content(self, request: Request, body: Json, store: _Store) -> Response:
        """The parsed text of an ingested file: here its bytes as UTF-8, in one chunk."""
        entry, stored = store.files.get(request.path_params["file_id"]), self._files.get(request.path_params["file_id"])
        if entry is None or stored is None:
            return api_error(404, f"No file found with id '{request.path_params['file_id']}'.", param="file_id")
        text = stored.data.decode("utf-8", "replace") if entry.status == "completed" else ""
        return self._ok({"object": "vector_store.file_content.page", "data": [{"type": "text", "text": text}],
                         "has_more": False, "next_page": None})

    def _create_batch(self, request: Request, body: Json, store: _Store) -> Response:
        shared = {key: body[key] for key in ("attributes", "chunking_strategy") if key in body}
        specs = [{**shared, "file_id": file_id} for file_id in body.get("file_ids") or []]
        specs += [spec for spec in body.get("files") or [] if isinstance(spec, dict) and "file_id" in spec]
        if not specs:
            return api_error(400, "Provide 'file_ids' or 'files'.", param="file_ids")
        batch = _Batch(new_object_id("vsfb_", 32), int(time.time()), [spec["file_id"] for spec in specs])
        for spec in specs:
            self._attach(store, spec["file_id"], spec, batch.id)
        store.batches[batch.id] = batch
        return self._ok(store.batch_json(batch))

    def _find_batch(self, request: Request, store: _Store) -> _Batch | Response:
        batch = store.batches.get(request.path_params["batch_id"])
        if batch is None:
            return api_error(404, f"No file batch found with id '{request.path_params['batch_id']}'.", param="batch_id")
        return batch

    def _batch(self, request: Request, body: Json, store: _Store) -> Response:
        batch = self._find_batch(request, store)
        if isinstance(batch, Response):
            return batch
        files = store.batch_files(batch)
        if request.method == "POST":
            running = [entry for entry in files if entry.status == "in_progress"]
            for entry in running:
                entry.status = "cancelled"
            batch.cancelled = batch.cancelled or bool(running)
        else:
            self._read(files)
        return self._ok(store.batch_json(batch))

    def _list_files(self, request: Request, body: Json, store: _Store) -> Response:
        files = list(store.files.values())
        if "batch_id" in request.path_params:
            batch = self._find_batch(request, store)
            if isinstance(batch, Response):
                return batch
            files = store.batch_files(batch)
        self._read(files)
        wanted = request.query_params.get("filter")
        shown = [entry.to_json(store.id) for entry in files if wanted in (None, entry.status)]
        return self._ok(list_page(shown, request.query_params))
