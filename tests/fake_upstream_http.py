"""HTTP helpers shared by the fake upstream's resource modules (`tests/fake_upstream_*.py`): OpenAI-style ids,
the error envelope, the cursor-paginated list envelope, JSON and multipart/form-data bodies."""

from __future__ import annotations

import email.message
import email.utils
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

Json = dict[str, Any]
Recorder = Callable[[Request, Json], None]

_ALPHANUMERIC = string.ascii_letters + string.digits


def new_object_id(prefix: str, length: int = 24) -> str:
    """An id like the real API's: `file-` + 22 letters/digits, `vs_` + 32, ..."""
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def api_error(
    status: int, message: str, *, code: str | None = None, param: str | None = None, type: str = "invalid_request_error"
) -> JSONResponse:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers={"x-request-id": new_object_id("req_", 32)})


def ok(payload: Json, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(payload, headers={"x-request-id": new_object_id("req_", 32), **(headers or {})})


def list_page(items: list[Json], query: Mapping[str, str], default_limit: int = 20, max_limit: int = 100) -> Json:
    """The cursor-paginated list envelope (`order` desc by default, `after`/`before` ids, `limit`); `items` are in
    creation order. Raises ValueError on a bad `limit` or `order`."""
    limit = int(query.get("limit", default_limit))
    order = query.get("order", "desc")
    if not 1 <= limit <= max_limit or order not in ("asc", "desc"):
        raise ValueError("limit or order out of range")
    ordered = items if order == "asc" else items[::-1]
    ids = [item["id"] for item in ordered]
    if query.get("after") in ids:
        ordered = ordered[ids.index(query["after"]) + 1 :]
    elif query.get("before") in ids:
        ordered = ordered[: ids.index(query["before"])]
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


def bad_list_params() -> JSONResponse:
    return api_error(400, "Invalid 'limit' or 'order' (fake upstream).", code="invalid_value", param="limit")


async def json_body(request: Request) -> Json | None:
    """The JSON object body (an empty body is `{}`); None when it is not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a multipart/form-data body; raises ValueError when it is not one."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ValueError("not multipart/form-data")
    delimiter = b"--" + boundary.encode()
    sections = body.split(b"\r\n" + delimiter)
    if not sections[0].startswith(delimiter):
        raise ValueError("missing the first boundary")
    sections[0] = sections[0][len(delimiter) :]
    parts: list[FormPart] = []
    for section in sections:
        if section.startswith(b"--"):
            break
        head, separator, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a part without headers")
        headers = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        disposition_name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if not isinstance(disposition_name, str):
            raise ValueError("a part without a name")
        parts.append(
            FormPart(
                disposition_name,
                data,
                email.utils.collapse_rfc2231_value(filename) if filename is not None else None,
                headers.get("content-type"),
            )
        )
    return parts
