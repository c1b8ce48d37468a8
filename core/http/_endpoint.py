"""The one wrapper every HTTP function goes through: request id, auth, body and query parsing, errors, access log.

A handler receives a :class:`Call` and returns a JSON-able dict (sent with 200) or a ready response (streams).
The wrapper keeps the signature Azure Functions indexes, ``(req: Request) -> Response``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response

from core.bootstrap import Container, get_container
from core.domain.errors import ApiError, InvalidRequestError, NotFoundError
from core.domain.ids import is_upstream_id, is_well_formed
from core.domain.pagination import ListQuery
from core.logs import REQUEST_ID, get_logger

from ._body import check_media_type, read_bytes, read_json
from .auth import authenticate as authenticated_tenant

__all__ = ["Call", "FastJSONResponse", "endpoint", "error_response"]

_log = get_logger("http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a client's id is echoed and logged only when short and plain
#: path parameter -> (id prefix, wording in a 404)
_PATH_IDS = {"assistant_id": ("asst", "assistant"), "thread_id": ("thread", "thread"), "message_id": ("msg", "message"),
             "run_id": ("run", "run"), "step_id": ("step", "run step")}
#: path parameter -> wording in a 404, for ids the upstream makes (file-…, vs_…, vsfb_…, cfile_…)
_UPSTREAM_PATH_IDS = {"file_id": "file", "vector_store_id": "vector store", "batch_id": "file batch",
                      "model": "model"}
_ALWAYS_ALLOWED_QUERY = frozenset({"api-version"})  # Azure-style clients add it to every call
_LIST_PARAMS = frozenset({"limit", "order", "after", "before"})


@dataclass
class Call:
    """One authenticated request, as handlers see it."""

    request: Request
    tenant_id: str
    container: Container

    def path(self, name: str) -> str:
        """A path id; one that is not a well-formed id of its kind is 404 here, before any store sees it."""
        value = str(self.request.path_params[name])
        kind = _PATH_IDS.get(name)
        if kind is not None and not is_well_formed(value, kind[0]):
            raise NotFoundError(kind[1], value)
        if name in _UPSTREAM_PATH_IDS and not is_upstream_id(value):
            raise NotFoundError(_UPSTREAM_PATH_IDS[name], value)
        return value

    async def body(self) -> dict[str, Any]:
        """The JSON object body; an empty body reads as ``{}`` (the SDK sends none on delete and cancel)."""
        raw = await read_bytes(self.request.stream(), self.request.headers.get("content-length"),
                               self.container.settings.max_request_bytes)
        if raw.strip():
            check_media_type(self.request.headers.get("content-type"))
        return read_json(raw)

    def query(self, allowed: Iterable[str] = ()) -> dict[str, list[str]]:
        """Query parameters (``include[]`` style arrays as lists); unknown ones are a 400."""
        allowed_names = _ALWAYS_ALLOWED_QUERY | set(allowed)
        values: dict[str, list[str]] = {}
        for name, value in self.request.query_params.multi_items():
            if name not in allowed_names:
                raise InvalidRequestError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
            values.setdefault(name, []).append(value)
        return values

    def list_query(self, extra: Iterable[str] = (), *, default_limit: int = 20,
                   max_limit: int = 100) -> tuple[ListQuery, dict[str, list[str]]]:
        """The pagination parameters (§1.5) and any ``extra`` ones."""
        values = self.query(_LIST_PARAMS | set(extra))
        limit_text = values.get("limit", [str(default_limit)])[-1]
        try:
            limit = int(limit_text)
        except ValueError:
            limit = 0
        if not 1 <= limit <= max_limit:
            raise InvalidRequestError(
                f"Invalid 'limit': expected an integer between 1 and {max_limit}, got '{limit_text}'.",
                param="limit", code="integer_out_of_range",
            )
        order = values.get("order", ["desc"])[-1]
        if order not in ("asc", "desc"):
            raise InvalidRequestError(
                f"Invalid 'order': expected 'asc' or 'desc', got '{order}'.", param="order", code="invalid_value"
            )
        after = values.get("after", [None])[-1] or None
        before = values.get("before", [None])[-1] or None
        return ListQuery(limit=limit, order=order, after=after, before=before), values  # type: ignore[arg-type]


class FastJSONResponse(JSONResponse):  # type: ignore[misc]  # the extension re-exports Starlette's class untyped
    """Starlette's JSON response rendered by orjson (same compact UTF-8 output, several times faster)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


Handler = Callable[[Call], Awaitable["dict[str, Any] | Response"]]
Function = Callable[[Request], Awaitable[Response]]


def error_response(error: ApiError, method: str = "GET") -> Response:
    headers = {}
    if error.status >= 500 and method == "POST":
        headers["x-should-retry"] = "false"  # the SDK would otherwise repeat a POST whose effect may have happened
    return FastJSONResponse(error.to_body(), status_code=error.status, headers=headers)


def endpoint(handler: Handler, *, authenticate: bool = True, name: str | None = None,
             check_query: Callable[[dict[str, str]], None] | None = None) -> Function:
    """Wrap ``handler`` as an Azure Functions HTTP function named ``name`` (default: the handler's);
    ``check_query`` vets the query string before anything else (a route family's api-version)."""

    function_name = name or handler.__name__

    async def function(req: Request) -> Response:
        offered = req.headers.get("x-request-id") or ""
        request_id = offered if _REQUEST_ID.fullmatch(offered) else f"req_{uuid.uuid4().hex}"
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        response: Response
        try:
            if check_query is not None:
                check_query(dict(req.query_params))
            container = get_container()
            tenant = (await authenticated_tenant(req.headers, container.settings.api_keys, container.entra)
                      if authenticate else "")
            if "assistants=v1" in req.headers.get("openai-beta", ""):
                raise InvalidRequestError(
                    "This service implements the Assistants API v2; send 'OpenAI-Beta: assistants=v2'.",
                    code="invalid_beta",
                )
            result = await handler(Call(req, tenant, container))
            response = result if isinstance(result, Response) else FastJSONResponse(result)
        except ApiError as error:
            response = error_response(error, req.method)
        except Exception:
            _log.exception("unhandled error", extra={"function": function_name})
            response = error_response(ApiError("The server had an error while processing your request."), req.method)
        finally:
            REQUEST_ID.reset(token)
        response.headers["x-request-id"] = request_id
        _log.info(
            "request",
            extra={
                "request_id": request_id,
                "function": function_name,
                "method": req.method,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    function.__name__ = function.__qualname__ = function_name
    function.__doc__ = handler.__doc__
    function.__module__ = handler.__module__
    function.__annotations__ = {"req": Request, "return": Response}
    return function
