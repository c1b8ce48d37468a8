"""The model check at create time (issue 9): refuse what the upstream's list lacks, accept when it cannot tell."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from core.domain.errors import InvalidRequestError, NotFoundError, RelayedError, ServiceUnavailableError
from core.ports.upstream_api import Download
from core.services._model_catalog import ModelCatalog


class ModelsUpstream:
    """An upstream whose ``GET models`` answers ``listed`` (or raises it), counting the calls."""

    def __init__(self, listed: dict[str, Any] | Exception, *, deployments: bool = False) -> None:
        self.listed = listed
        self.calls = 0
        self.serves_deployments = deployments

    async def call(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(0)  # a real call suspends: concurrent checks interleave here
        if isinstance(self.listed, Exception):
            raise self.listed
        if path == "models":
            return self.listed
        raise RelayedError(404, "No such model", code="model_not_found")

    async def upload(self, path: str, content_type: str, body: AsyncIterator[bytes], length: int | None) -> Any:
        raise NotImplementedError

    async def download(self, path: str) -> Download:
        raise NotImplementedError

    async def close(self) -> None:
        pass


LISTED = {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"}]}


async def test_an_unknown_model_is_model_not_found_and_the_list_is_read_once() -> None:
    upstream = ModelsUpstream(LISTED)
    catalog = ModelCatalog(upstream)
    await catalog.check("gpt-4o-mini")
    with pytest.raises(InvalidRequestError) as refused:
        await catalog.check("not-a-model")
    assert (refused.value.status, refused.value.code, refused.value.param) == (400, "model_not_found", "model")
    assert "not-a-model" in refused.value.message
    assert upstream.calls == 1  # cached
    assert (await catalog.retrieve("gpt-4o-mini"))["id"] == "gpt-4o-mini"
    with pytest.raises(NotFoundError) as missing:
        await catalog.retrieve("not-a-model")
    assert missing.value.code == "model_not_found"


@pytest.mark.parametrize("failure", [RelayedError(404, "Not found"), ServiceUnavailableError("down")])
async def test_a_list_that_cannot_be_read_accepts_every_model_and_is_not_asked_again_at_once(
        failure: Exception) -> None:
    upstream = ModelsUpstream(failure)
    catalog = ModelCatalog(upstream)
    await catalog.check("anything")
    await catalog.check("anything-else")
    assert upstream.calls == 1


async def test_azure_deployment_names_are_not_checked() -> None:
    upstream = ModelsUpstream(LISTED, deployments=True)
    await ModelCatalog(upstream).check("my-deployment")
    assert upstream.calls == 0


async def test_checks_arriving_together_read_the_list_once() -> None:
    upstream = ModelsUpstream(LISTED)
    catalog = ModelCatalog(upstream)
    await asyncio.gather(*(catalog.check("gpt-4o-mini") for _ in range(20)))
    assert upstream.calls == 1
