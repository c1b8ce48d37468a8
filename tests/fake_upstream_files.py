"""Files, container files and models of the fake upstream (`tests/fake_responses.py`), in the OpenAI wire format.

Routes (under `/v1`): `POST/GET /files`, `GET/DELETE /files/{id}`, `GET /files/{id}/content`,
`GET /containers/{container_id}/files/{file_id}[/content]`, `GET /models`, `GET /models/{id}`. Everything is kept
in memory; every request is handed to the server's recorder (multipart bodies as their fields, the file as
`{"filename", "content_type", "bytes"}`, never its bytes). Unknown ids answer 404 in the OpenAI error envelope.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fake_upstream_http import (
    FormPart,
    Json,
    Recorder,
    api_error,
    bad_list_params,
    list_page,
    new_object_id,
    ok,
    parse_multipart,
)

FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o4-mini", "gpt-5-mini")


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    expires_at: int | None = None

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class ContainerFile:
    id: str
    container_id: str
    filename: str
    data: bytes
    created_at: int
    content_type: str

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "object": "container.file",
            "bytes": len(self.data),
            "container_id": self.container_id,
            "created_at": self.created_at,
            "path": f"/mnt/data/{self.filename}",
            "source": "assistant",
        }


class FakeFiles:
    """The Files API, container file content and the model list. `max_bytes` (None: no limit) makes a larger
    upload a 413; `model_ids` is the model list (`DEFAULT_MODELS` after `reset()`)."""

    def __init__(self, record: Recorder) -> None:
        self._record = record
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self._container_files: dict[tuple[str, str], ContainerFile] = {}
        self.max_bytes: int | None = None
        self.model_ids: list[str] = list(DEFAULT_MODELS)

    def reset(self) -> None:
        with self._lock:
            self._files.clear()
            self._container_files.clear()
        self.max_bytes = None
        self.model_ids = list(DEFAULT_MODELS)

    def add(self, data: bytes, filename: str = "file.txt", purpose: str = "assistants") -> StoredFile:
        """Store a file as if uploaded (no request recorded)."""
        stored = StoredFile(new_object_id("file-", 22), filename, purpose, data, int(time.time()))
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def all(self) -> list[StoredFile]:
        with self._lock:
            return list(self._files.values())

    def add_container_file(
        self, container_id: str, file_id: str, data: bytes, filename: str = "output.bin",
        content_type: str = "application/octet-stream",
    ) -> ContainerFile:
        stored = ContainerFile(file_id, container_id, filename, data, int(time.time()), content_type)
        with self._lock:
            self._container_files[(container_id, file_id)] = stored
        return stored

    def routes(self) -> Iterable[Route]:
        return [
            Route("/v1/files", self._create, methods=["POST"]),
            Route("/v1/files", self._list, methods=["GET"]),
            Route("/v1/files/{file_id}", self._retrieve, methods=["GET"]),
            Route("/v1/files/{file_id}", self._delete, methods=["DELETE"]),
            Route("/v1/files/{file_id}/content", self._content, methods=["GET"]),
            Route("/v1/containers/{container_id}/files/{file_id}", self._container_file, methods=["GET"]),
            Route("/v1/containers/{container_id}/files/{file_id}/content", self._container_content, methods=["GET"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/v1/models/{model:path}", self._model, methods=["GET"]),
        ]

    async def _create(self, request: Request) -> Response:
        try:
            parts = parse_multipart(request.headers.get("content-type", ""), await request.body())
        except ValueError:
            self._record(request, {})
            return api_error(400, "The body must be multipart/form-data with 'file' and 'purpose'.")
        fields: Json = {}
        upload: FormPart | None = None
        for part in parts:
            if part.name == "file" and part.filename is not None:
                upload = part
                fields["file"] = {"filename": part.filename, "content_type": part.content_type, "bytes": len(part.data)}
            else:
                fields[part.name] = part.data.decode("utf-8", "replace")
        self._record(request, fields)
        purpose = fields.get("purpose")
        if upload is None:
            message = "Missing required parameter: 'file'."
            return api_error(400, message, code="missing_required_parameter", param="file")
        if purpose not in FILE_PURPOSES:
            return api_error(400, f"Invalid value for 'purpose': {purpose!r}.", code="invalid_value", param="purpose")
        if self.max_bytes is not None and len(upload.data) > self.max_bytes:
            message = f"File is too large: {len(upload.data)} bytes, the limit is {self.max_bytes} (fake upstream)."
            return api_error(413, message, code="file_too_large", param="file")
        seconds = fields.get("expires_after[seconds]")
        if seconds is not None and not (seconds.isdigit() and 3600 <= int(seconds) <= 2_592_000):
            message = f"Invalid value for 'expires_after[seconds]': {seconds!r}."
            return api_error(400, message, code="invalid_value", param="expires_after[seconds]")
        stored = self.add(upload.data, upload.filename or "upload", purpose)
        if seconds is not None:
            stored.expires_at = stored.created_at + int(seconds)
        return ok(stored.to_json())

    async def _list(self, request: Request) -> Response:
        self._record(request, {})
        purpose = request.query_params.get("purpose")
        files = [stored.to_json() for stored in self.all() if purpose in (None, stored.purpose)]
        try:
            return ok(list_page(files, request.query_params, default_limit=10000, max_limit=10000))
        except ValueError:
            return bad_list_params()

    def _lookup(self, request: Request) -> StoredFile | Response:
        file_id = request.path_params["file_id"]
        stored = self.get(file_id)
        if stored is None:
            return api_error(404, f"No such File object: {file_id}", param="id")
        return stored

    async def _retrieve(self, request: Request) -> Response:
        self._record(request, {})
        stored = self._lookup(request)
        return stored if isinstance(stored, Response) else ok(stored.to_json())

    async def _delete(self, request: Request) -> Response:
        self._record(request, {})
        stored = self._lookup(request)
        if isinstance(stored, Response):
            return stored
        with self._lock:
            self._files.pop(stored.id, None)
        return ok({"id": stored.id, "object": "file", "deleted": True})

    async def _content(self, request: Request) -> Response:
        self._record(request, {})
        stored = self._lookup(request)
        if isinstance(stored, Response):
            return stored
        return Response(stored.data, media_type="application/octet-stream")

    def _container_lookup(self, request: Request) -> ContainerFile | Response:
        container_id, file_id = request.path_params["container_id"], request.path_params["file_id"]
        with self._lock:
            stored = self._container_files.get((container_id, file_id))
        if stored is None:
            return api_error(404, f"No file {file_id} in container {container_id} (fake upstream).")
        return stored

    async def _container_file(self, request: Request) -> Response:
        self._record(request, {})
        stored = self._container_lookup(request)
        return stored if isinstance(stored, Response) else ok(stored.to_json())

    async def _container_content(self, request: Request) -> Response:
        self._record(request, {})
        stored = self._container_lookup(request)
        return stored if isinstance(stored, Response) else Response(stored.data, media_type=stored.content_type)

    async def _models(self, request: Request) -> Response:
        self._record(request, {})
        return ok({"object": "list", "data": [_model(model_id) for model_id in self.model_ids]})

    async def _model(self, request: Request) -> Response:
        self._record(request, {})
        model_id = request.path_params["model"]
        if model_id not in self.model_ids:
            message = f"The model '{model_id}' does not exist or you do not have access to it."
            return api_error(404, message, code="model_not_found")
        return ok(_model(model_id))


def _model(model_id: str) -> Json:
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
