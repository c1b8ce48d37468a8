"""Tenant ownership of upstream objects (`core.services._owned.Ownership`) on every real store adapter.

Upstream ids are not ours (``file-…`` uses a hyphen, sorts randomly), so these check what the services rely on:
an owner is found by the upstream id, in the owner's partition only; lists come back in creation order whatever
the ids; cursors are upstream ids; forgetting removes the object from its lists.
"""

from __future__ import annotations

import secrets

import pytest

from core.domain.errors import InvalidRequestError, NotFoundError
from core.domain.pagination import ListQuery
from core.ports.store import DocumentStore
from core.services._owned import Ownership


def upstream_file(purpose: str = "assistants") -> dict[str, object]:
    # Random ids, so upstream order and creation order disagree, as with OpenAI's.
    return {"id": f"file-{secrets.token_urlsafe(16)}", "object": "file", "purpose": purpose, "bytes": 3}


@pytest.fixture
def tenants() -> tuple[str, str]:
    return f"alice-{secrets.token_hex(4)}", f"bob-{secrets.token_hex(4)}"


async def test_an_owner_is_found_by_upstream_id_and_only_by_its_tenant(store: DocumentStore,
                                                                       tenants: tuple[str, str]) -> None:
    alice, bob = tenants
    ownership = Ownership(store)
    file = upstream_file()
    await ownership.record(alice, "file", file, indexes=["files"])
    assert (await ownership.require(alice, "file", str(file["id"])))["tenant_id"] == alice
    assert await ownership.find(bob, "file", str(file["id"])) is None
    assert await ownership.find(alice, "vector_store", str(file["id"])) is None  # the kind must match too
    with pytest.raises(NotFoundError, match="No file found"):
        await ownership.require(bob, "file", str(file["id"]))
    with pytest.raises(InvalidRequestError) as refused:
        await ownership.check_references(bob, [("file", str(file["id"]), "attachments[0].file_id")])
    assert refused.value.param == "attachments[0].file_id"


async def test_lists_are_in_creation_order_and_page_by_upstream_ids(store: DocumentStore,
                                                                    tenants: tuple[str, str]) -> None:
    alice, bob = tenants
    ownership = Ownership(store)
    files = [upstream_file("assistants" if index % 2 else "vision") for index in range(5)]
    for file in files:
        await ownership.record(alice, "file", file, indexes=["files", f"files:{file['purpose']}"])
    await ownership.record(bob, "file", upstream_file(), indexes=["files"])

    newest_first = [file["id"] for file in reversed(files)]
    first = await ownership.page(alice, "file", "files", ListQuery(limit=2))
    assert [file["id"] for file in first.data] == newest_first[:2] and first.has_more
    rest = await ownership.page(alice, "file", "files", ListQuery(limit=10, after=str(first.data[-1]["id"])))
    assert [file["id"] for file in rest.data] == newest_first[2:] and not rest.has_more
    oldest_first = await ownership.page(alice, "file", "files", ListQuery(limit=10, order="asc"))
    assert [file["id"] for file in oldest_first.data] == [file["id"] for file in files]
    vision = await ownership.page(alice, "file", "files:vision", ListQuery(limit=10, order="asc"))
    assert [file["id"] for file in vision.data] == [file["id"] for file in files[::2]]
    bobs = await ownership.page(bob, "file", "files", ListQuery())
    with pytest.raises(InvalidRequestError) as refused:  # another tenant's id is no cursor here
        await ownership.page(alice, "file", "files", ListQuery(after=str(bobs.data[0]["id"])))
    assert refused.value.param == "after"


async def test_refresh_replaces_the_listed_snapshot_and_forget_removes_both(store: DocumentStore,
                                                                             tenants: tuple[str, str]) -> None:
    alice, _ = tenants
    ownership = Ownership(store)
    store_object = {"id": f"vs_{secrets.token_hex(8)}", "object": "vector_store", "status": "in_progress"}
    await ownership.record(alice, "vector_store", store_object, indexes=["vector_stores"])
    owner = await ownership.require(alice, "vector_store", store_object["id"])
    await ownership.refresh(alice, owner, {**store_object, "status": "completed"})
    page = await ownership.page(alice, "vector_store", "vector_stores", ListQuery())
    assert [item["status"] for item in page.data] == ["completed"]
    await ownership.forget(alice, owner)
    assert await ownership.find(alice, "vector_store", store_object["id"]) is None
    assert (await ownership.page(alice, "vector_store", "vector_stores", ListQuery())).data == []


async def test_a_container_file_is_recorded_once_and_never_listed(store: DocumentStore,
                                                                  tenants: tuple[str, str]) -> None:
    alice, _ = tenants
    ownership = Ownership(store)
    cited = {"id": f"cfile_{secrets.token_hex(8)}"}
    await ownership.record(alice, "container_file", cited, container_id="cntr_1")
    await ownership.record(alice, "container_file", cited, container_id="cntr_1")  # cited again: no error
    owner = await ownership.require(alice, "container_file", cited["id"])
    assert owner["container_id"] == "cntr_1" and "entry_id" not in owner
    assert await ownership.find(alice, "file", cited["id"]) is None


@pytest.mark.parametrize("hostile", ["../files", "a/b", "x" * 200, "file id", "file\x00", ""])
async def test_ids_that_no_upstream_makes_never_reach_the_store(store: DocumentStore, hostile: str) -> None:
    assert await Ownership(store).find("alice", "file", hostile) is None
