"""Builders of client-written objects, shared by the thread, message and run use cases (nothing is stored here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.ids import new_id
from core.domain.models import JSON, Message, Thread

__all__ = ["content_parts", "merge_metadata", "new_message", "new_thread"]

MAX_METADATA_KEYS = 16


def content_parts(content: str | list[JSON]) -> list[JSON]:
    """Request content (a string or request parts) as stored parts: text becomes ``{"value", "annotations"}``."""
    if isinstance(content, str):
        return [{"type": "text", "text": {"value": content, "annotations": []}}]
    parts: list[JSON] = []
    for part in content:
        if part["type"] == "text":
            parts.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
        else:
            parts.append(dict(part))
    return parts


def new_message(tenant_id: str, thread_id: str, created_at: int, fields: Mapping[str, Any]) -> Message:
    """A client-written message (``role``, ``content``, optional ``attachments``/``metadata``), already complete."""
    return Message(
        id=new_id("msg"),
        created_at=created_at,
        tenant_id=tenant_id,
        thread_id=thread_id,
        status="completed",
        completed_at=created_at,
        role=fields["role"],
        content=content_parts(fields["content"]),
        attachments=list(fields.get("attachments") or []),
        metadata=dict(fields.get("metadata") or {}),
    )


def new_thread(tenant_id: str, now: int, metadata: dict[str, str] | None, tool_resources: JSON | None,
               messages: Sequence[Mapping[str, Any]]) -> tuple[Thread, list[Message]]:
    """A thread and its initial messages (create-and-run stores them with the run)."""
    thread = Thread(id=new_id("thread"), created_at=now, tenant_id=tenant_id, metadata=metadata or {},
                    tool_resources=tool_resources or {})
    return thread, [new_message(tenant_id, thread.id, now, fields) for fields in messages]


def merge_metadata(current: dict[str, str], update: Mapping[str, str]) -> dict[str, str]:
    """OpenAI's modify semantics: keys are set or overwritten, a key set to ``""`` is removed, others stay."""
    merged = {**current, **update}
    merged = {key: value for key, value in merged.items() if value != ""}
    if len(merged) > MAX_METADATA_KEYS:
        raise InvalidRequestError(f"metadata may have at most {MAX_METADATA_KEYS} keys; this change would leave "
                                  f"{len(merged)}.", param="metadata")
    return merged
