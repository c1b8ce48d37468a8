"""The three route families every HTTP function is served under, from one table.

- ``/v1/...``: OpenAI style (``OpenAI(base_url=URL + "/v1")``);
- ``/openai/...``: Azure OpenAI style (``AzureOpenAI(azure_endpoint=URL, api_version=...)``), ``api-version`` required
  and checked as Azure checks it;
- ``/openai/v1/...``: Azure OpenAI's v1 style (``OpenAI(base_url=URL + "/openai/v1")``).

A function can have only one route, so each handler is registered once per family, under its own name with the
family's suffix (``assistants_create``, ``assistants_create_openai``, ``assistants_create_openai_v1``); the OpenAPI
document lists each path once with the three prefixes as its servers, and API Management publishes it at each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import azure.functions as func

from core.domain.errors import ApiError, InvalidRequestError

from ._endpoint import Handler, endpoint

__all__ = ["FAMILIES", "Family", "Routes"]

#: The first Azure OpenAI API version of Assistants v2; later ones, previews included, are accepted as they come.
FIRST_ASSISTANTS_V2 = date(2024, 5, 1)
_API_VERSION = re.compile(r"(\d{4})-(\d{2})-(\d{2})(-preview)?")


class ResourceNotFoundError(ApiError):
    """What Azure OpenAI answers for an api-version it does not serve."""

    status = 404
    type = "invalid_request_error"

    def __init__(self) -> None:
        super().__init__("Resource not found", code="404")


def _check_azure_api_version(query: dict[str, str]) -> None:
    version = query.get("api-version")
    if not version:
        raise InvalidRequestError("The api-version query parameter (?api-version=) is required for all requests.",
                                  param="api-version", code="MissingApiVersionParameter")
    match = _API_VERSION.fullmatch(version)
    try:
        released = date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:
        released = None
    if released is None or released < FIRST_ASSISTANTS_V2:
        raise ResourceNotFoundError()


@dataclass(frozen=True)
class Family:
    prefix: str  # the route prefix (host.json's routePrefix is empty)
    suffix: str  # appended to each function's name
    check: Callable[[dict[str, str]], None] | None = None  # a check of the query string, before authentication


FAMILIES = (
    Family("v1", ""),
    Family("openai", "_openai", _check_azure_api_version),
    Family("openai/v1", "_openai_v1"),
)


class Routes:
    """The blueprint of one resource; ``@routes(path, method)`` registers a handler in every family."""

    def __init__(self) -> None:
        self.blueprint = func.Blueprint()

    def __call__(self, path: str, method: str, *, authenticate: bool = True) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for family in FAMILIES:
                function = endpoint(handler, authenticate=authenticate, name=handler.__name__ + family.suffix,
                                    check_query=family.check)
                self.blueprint.route(route=f"{family.prefix}/{path}", methods=[method],
                                     auth_level=func.AuthLevel.ANONYMOUS)(function)
            return handler

        return register
