"""Bodies of `POST /threads/{thread_id}/messages` and of message update (§2.4)."""

from __future__ import annotations

from ._base import Strict
from ._common import MessageCreate, Metadata

__all__ = ["MessageCreate", "MessageUpdate"]


class MessageUpdate(Strict):
    metadata: Metadata | None = None
