"""Bodies of `POST /threads` and `POST /threads/{thread_id}` (§2.2)."""

from __future__ import annotations

from pydantic import Field

from ._base import Strict
from ._common import MessageCreate, Metadata, ToolResources

__all__ = ["ThreadCreate", "ThreadUpdate"]


class ThreadUpdate(Strict):
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None


class ThreadCreate(ThreadUpdate):
    messages: list[MessageCreate] | None = Field(default=None, max_length=32)
