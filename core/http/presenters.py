"""Objects as the Assistants API shows them (assistants-on-responses.md §3): every field present, null when unset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core.domain.models import Assistant, Message, Run, RunStep, Thread, _Stored
from core.domain.pagination import Page

__all__ = ["deleted", "present", "present_objects", "present_page"]

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


def present_page(page: Page[T], shown: Callable[[T], dict[str, Any]] = present) -> dict[str, Any]:
    data: Sequence[dict[str, Any]] = [shown(item) for item in page.data]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }


def present_objects(page: Page[dict[str, Any]]) -> dict[str, Any]:
    """A page of upstream objects (files, vector stores), shown as the upstream shows them."""
    data = page.data
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": page.has_more}


def deleted(object_id: str, kind: str) -> dict[str, Any]:
    """``kind`` is ``assistant``, ``thread`` or ``thread.message``."""
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}
