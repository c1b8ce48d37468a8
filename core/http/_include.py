"""The ``include[]`` query parameter of run and step endpoints: its one value asks for file_search result text."""

from __future__ import annotations

import copy
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.models import FILE_SEARCH_CONTENT

__all__ = ["INCLUDE", "included", "without_search_content"]

INCLUDE = "include[]"


def included(values: dict[str, list[str]]) -> frozenset[str]:
    """The requested includes; an unknown value is a 400."""
    include = frozenset(values.get(INCLUDE, []))
    unknown = include - {FILE_SEARCH_CONTENT}
    if unknown:
        raise InvalidRequestError(f"Invalid value for 'include[]': {sorted(unknown)[0]!r}.", param="include")
    return include


def without_search_content(step: dict[str, Any]) -> dict[str, Any]:
    """A shown run step without the text of its file_search results (a copy: the step's details stay whole)."""
    calls = (step.get("step_details") or {}).get("tool_calls") or []
    if not any((call.get("file_search") or {}).get("results") for call in calls):
        return step
    details = copy.deepcopy(step["step_details"])
    for call in details["tool_calls"]:
        for result in (call.get("file_search") or {}).get("results") or []:
            result.pop("content", None)
    return {**step, "step_details": details}
