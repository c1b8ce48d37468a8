"""The upstream's resource APIs (Files, Vector Stores, Containers, Models), forwarded with the service's credentials.

These objects live where the Responses tools use them: the service only records which tenant owns each
(:mod:`core.services._owned`). Paths are relative to the upstream's base URL (``files``, ``vector_stores/vs_1``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Download", "UpstreamApi"]

JSON = dict[str, Any]


@dataclass(frozen=True)
class Download:
    """A response body being streamed from the upstream; iterating ``chunks`` to its end (or closing it) ends the
    upstream request."""

    content_type: str
    length: int | None
    chunks: AsyncIterator[bytes]


class UpstreamApi(Protocol):
    """Raises :class:`~core.domain.errors.RelayedError` for the upstream's refusals (4xx, with its status and a
    redacted message) and :class:`~core.domain.errors.ServiceUnavailableError` when it fails or cannot be reached."""

    @property
    def serves_deployments(self) -> bool:
        """Whether model names are deployment names the model list does not show (Azure OpenAI)."""
        ...

    async def call(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                   body: JSON | None = None) -> JSON:
        """One JSON request and its JSON answer."""
        ...

    async def upload(self, path: str, content_type: str, body: AsyncIterator[bytes], length: int | None) -> JSON:
        """POST ``body`` as it arrives (a multipart form, never held whole) and return the JSON answer."""
        ...

    async def download(self, path: str) -> Download:
        """GET a binary body, streamed."""
        ...

    async def close(self) -> None: ...
