"""The Cosmos DB containers index only the paths the adapter's queries read, and Bicep declares the very policy the
adapter gives the containers it creates on the emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.adapters.cosmos import store as cosmos_module
from core.adapters.cosmos.store import KEY_FIELDS, indexing_policy
from core.config import Settings
from core.domain.ids import new_id
from core.domain.pagination import ListQuery
from core.ports.store import INDEXES_FIELD, Create, Partition
from tests.infra.bicep_support import INFRA, parse_bicep, resources_of_type
from tests.integration.cosmos_support import cosmos_store

pytestmark = pytest.mark.cosmos
CONTAINERS = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"


def _included(container: str) -> set[str]:
    """The field names the container's policy indexes (``/id/?`` -> ``id``, ``/_indexes/[]/?`` -> ``_indexes``)."""
    return {path["path"].strip("/").split("/")[0] for path in indexing_policy(container)["includedPaths"]}


def test_bicep_declares_the_adapters_policy() -> None:
    declared = resources_of_type(parse_bicep(Path(INFRA / "modules" / "cosmos.bicep")), CONTAINERS)
    by_name = {config["name"]: config["properties"]["resource"] for config in declared.values()}
    assert set(by_name) == set(KEY_FIELDS)
    for name, resource in by_name.items():
        assert resource["indexingPolicy"] == indexing_policy(name), name
        assert resource["partitionKey"]["paths"] == [f"/{KEY_FIELDS[name]}"]


async def test_created_containers_carry_the_policy_and_queries_read_only_indexed_paths(
        cosmos_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    queries: list[str] = []
    original: Any = cosmos_module.ContainerProxy.query_items

    def recorded(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        queries.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(cosmos_module.ContainerProxy, "query_items", recorded)
    async with cosmos_store(cosmos_settings) as store:
        partition = Partition("threads", new_id("thread"))
        ids = [new_id("msg") for _ in range(3)]
        await store.commit(partition, [Create({"id": doc_id, INDEXES_FIELD: ["messages"]}) for doc_id in ids])
        for query in (ListQuery(), ListQuery(order="asc", after=ids[0]), ListQuery(before=ids[2])):
            await store.scan(partition, "messages", query)
        await store.scan(Partition("assistants", "tenant-a"), "assistants", ListQuery())
        await store.drop_partition(partition)
        for name in KEY_FIELDS:
            properties = await (await store._container(name)).read()
            assert properties["indexingPolicy"] == indexing_policy(name)
    assert queries
    for query in queries:
        fields = set(re.findall(r"\bc\.(\w+)", query))
        assert fields <= _included("threads") | _included("assistants"), query
        assert fields & {"thread_id", "tenant_id"}, f"not a single-partition query: {query}"
