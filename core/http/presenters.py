"""Objects as the Assistants API shows them (assistants-on-responses.md §3): every field present, null when unset.

Two inputs give the same output: a model (:func:`present`), or the stored body of one (:func:`present_body`), which
the read endpoints use so that a list or a retrieve never builds a model only to read its fields back
(tests/unit/test_presenters_fast.py holds the two paths to the same bytes for every object type).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from core.domain.models import Assistant, Message, Run, RunStep, Thread, _Stored
from core.domain.pagination import Page

__all__ = ["deleted", "present", "present_bodies", "present_body", "present_objects", "present_page"]

T = TypeVar("T", bound=_Stored)

_FIELDS: dict[type[_Stored], tuple[str, ...]] = {
    Assistant: ("id", "object", "created_at", "name", "description", "model", "instructions", "tools",
                "tool_resources", "metadata", "temperature", "top_p", "response_format", "reasoning_effort"),
    Thread: ("id", "object", "created_at", "metadata", "tool_resources"),
    Message: ("id", "object", "created_at", "thread_id", "status", "incomplete_details", "completed_at",
              "incomplete_at", "role", "content", "assistant_id", "run_id", "attachments", "metadata"),
    Run: ("id", "object", "created_at", "thread_id", "assistant_id", "status", "required_action", "last_error",
          "expires_at", "started_at", "cancelled_at", "failed_at", "completed_at", "incomplete_details", "model",
          "instructions", "tools", "metadata", "usage", "temperature", "top_p", "max_prompt_tokens",
          "max_completion_tokens", "truncation_strategy", "tool_choice", "parallel_tool_calls", "response_format",
          "reasoning_effort"),
    RunStep: ("id", "object", "created_at", "run_id", "assistant_id", "thread_id", "type", "status", "step_details",
              "last_error", "expired_at", "cancelled_at", "failed_at", "completed_at", "metadata", "usage"),
}


def present(obj: _Stored) -> dict[str, Any]:
    """The wire JSON of a stored object."""
    # The stored fields are JSON values already (usage aside): reading them is several times cheaper than a dump.
    shown = {name: getattr(obj, name) for name in _FIELDS[type(obj)]}
    usage = shown.get("usage")
    if usage is not None:
        shown["usage"] = usage.model_dump()
    if isinstance(obj, Run | Assistant):
        # Effective sampling values: OpenAI shows 1.0 when neither the run nor the assistant set them.
        shown["temperature"] = 1.0 if obj.temperature is None else obj.temperature
        shown["top_p"] = 1.0 if obj.top_p is None else obj.top_p
    return shown


_USAGE: Final = ("prompt_tokens", "completion_tokens", "total_tokens")  # Usage's fields, in its order
_SAMPLED: Final = frozenset({Assistant, Run})  # objects showing effective temperature / top_p
_WITH_USAGE: Final = frozenset({Run, RunStep})


def _default(model: type[_Stored], name: str) -> Any:
    """What reading a body without ``name`` as a ``model`` would give: the field's default (documents written before
    the field existed)."""
    return model.model_fields[name].get_default(call_default_factory=True)


def present_body(model: type[_Stored], body: dict[str, Any]) -> dict[str, Any]:
    """The wire JSON of a stored ``model`` document, as :func:`present` shows the model read from it."""
    fields = _FIELDS[model]
    try:
        shown = {name: body[name] for name in fields}
    except KeyError:
        shown = {name: body[name] if name in body else _default(model, name) for name in fields}
    if model in _WITH_USAGE and (usage := shown["usage"]) is not None:
        shown["usage"] = {name: usage.get(name, 0) for name in _USAGE}  # as Usage validates and dumps it
    if model in _SAMPLED:
        # float(): a store may hand a whole number back as an int (Cosmos DB's JSON has one number type); the model
        # path validates a run's floats, so both paths show 1.0.
        shown["temperature"] = 1.0 if shown["temperature"] is None else float(shown["temperature"])
        shown["top_p"] = 1.0 if shown["top_p"] is None else float(shown["top_p"])
    return shown


def present_bodies(model: type[_Stored], page: Page[dict[str, Any]]) -> dict[str, Any]:
    """A list page of stored ``model`` documents."""
    return _listed([present_body(model, body) for body in page.data], page.has_more)


def present_page(page: Page[T], shown: Callable[[T], dict[str, Any]] = present) -> dict[str, Any]:
    return _listed([shown(item) for item in page.data], page.has_more)


def _listed(data: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def present_objects(page: Page[dict[str, Any]]) -> dict[str, Any]:
    """A page of upstream objects (files, vector stores), shown as the upstream shows them."""
    return _listed(page.data, page.has_more)


def deleted(object_id: str, kind: str) -> dict[str, Any]:
    """``kind`` is ``assistant``, ``thread`` or ``thread.message``."""
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}
