"""Ownership records when the store fails: an object created upstream never stays without an owner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from core.adapters.memory.store import MemoryStore
from core.domain.errors import ServiceUnavailableError
from core.ports.store import Partition, Write
from core.services._owned import Ownership
from tests.unit.test_model_catalog import ModelsUpstream


class DownStore(MemoryStore):
    async def commit(self, partition: Partition, writes: Sequence[Write]) -> list[str]:
        raise ServiceUnavailableError("The database is unavailable.")


class RecordingUpstream(ModelsUpstream):
    def __init__(self) -> None:
        super().__init__({})
        self.deleted: list[str] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method == "DELETE":
            self.deleted.append(path)
        return {}


async def test_an_object_whose_record_cannot_be_written_is_deleted_upstream_again() -> None:
    upstream = RecordingUpstream()
    with pytest.raises(ServiceUnavailableError):
        await Ownership(DownStore()).adopt("alice", "file", {"id": "file-abc"}, upstream, "files/file-abc", ["files"])
    assert upstream.deleted == ["files/file-abc"]


async def test_an_upstream_id_that_no_path_may_carry_is_refused() -> None:
    with pytest.raises(ServiceUnavailableError):
        await Ownership(MemoryStore()).record("alice", "file", {"id": "../secrets"}, ["files"])
