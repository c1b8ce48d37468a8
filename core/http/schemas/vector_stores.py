"""Bodies of the Vector Stores API. Ids are checked against the caller's own objects by the service; the rest is
the upstream's to validate, so nested option objects pass through as given."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Strict
from ._common import Metadata

__all__ = ["BatchCreate", "FileAttributes", "StoreFileCreate", "VectorStoreCreate", "VectorStoreSearch",
           "VectorStoreUpdate"]

MAX_FILES_PER_CALL = 500

Attributes = dict[str, str | int | float | bool]


class VectorStoreUpdate(Strict):
    name: str | None = Field(default=None, max_length=256)
    metadata: Metadata | None = None
    expires_after: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class VectorStoreCreate(VectorStoreUpdate):
    description: str | None = Field(default=None, max_length=512)
    file_ids: list[str] | None = Field(default=None, max_length=MAX_FILES_PER_CALL)
    chunking_strategy: dict[str, Any] | None = None


class StoreFileCreate(Strict):
    file_id: str = Field(min_length=1)
    attributes: Attributes | None = Field(default=None, max_length=16)
    chunking_strategy: dict[str, Any] | None = None


class BatchCreate(Strict):
    file_ids: list[str] | None = Field(default=None, max_length=MAX_FILES_PER_CALL)
    files: list[StoreFileCreate] | None = Field(default=None, max_length=MAX_FILES_PER_CALL)
    attributes: Attributes | None = Field(default=None, max_length=16)
    chunking_strategy: dict[str, Any] | None = None


class FileAttributes(Strict):
    attributes: Attributes | None


class VectorStoreSearch(Strict):
    query: str | list[str]
    filters: dict[str, Any] | None = None
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: dict[str, Any] | None = None
    rewrite_query: bool | None = None
