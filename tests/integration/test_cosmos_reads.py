"""The Cosmos DB store's concurrent reads (``get_many``, ``get_and_scan``) answer what ``get`` and ``scan`` answer,
and the repository's read paths through them refuse in the same order (404 before 400)."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.domain.errors import InvalidRequestError, NotFoundError
from core.domain.ids import new_id
from core.domain.models import Message, Thread
from core.domain.pagination import ListQuery
from core.ports.store import INDEXES_FIELD, Create
from core.services._repository import DOC_TYPE_FIELD, Repository, thread_partition
from tests.integration.cosmos_support import cosmos_store

pytestmark = pytest.mark.cosmos
TENANT = "tenant-a"


async def test_concurrent_reads_answer_as_get_and_scan(cosmos_settings: Settings) -> None:
    async with cosmos_store(cosmos_settings) as store:
        thread_id = new_id("thread")
        partition = thread_partition(thread_id)
        ids = [new_id("msg") for _ in range(5)]
        common = {"tenant_id": TENANT, "created_at": 1}
        await store.commit(partition, [
            Create({"id": thread_id, DOC_TYPE_FIELD: "thread", INDEXES_FIELD: [], **common}),
            *(Create({"id": doc_id, "thread_id": thread_id, "role": "user", DOC_TYPE_FIELD: "message",
                      INDEXES_FIELD: ["messages"], **common}) for doc_id in ids)])
        missing = new_id("msg")
        for query in (ListQuery(limit=2), ListQuery(order="asc", after=ids[1]), ListQuery(before=ids[3])):
            wanted = [thread_id, missing, *(cursor for cursor in (query.after, query.before) if cursor)]
            found, page = await store.get_and_scan(partition, wanted, "messages", query)
            assert found == [await store.get(partition, doc_id) for doc_id in wanted]
            assert [doc.body for doc in page.data] == [doc.body for doc in
                                                       (await store.scan(partition, "messages", query)).data]
        assert [doc is None for doc in await store.get_many(partition, [ids[0], missing, thread_id])] == [
            False, True, False]
        scans = [("messages", ListQuery(limit=2)), ("tool_steps", ListQuery(limit=100))]
        pages = await store.scan_many(partition, scans)
        assert [[doc.body for doc in page.data] for page in pages] == [
            [doc.body for doc in (await store.scan(partition, index, query)).data] for index, query in scans]

        repository = Repository(store)
        _, message = await repository.load_documents(partition, TENANT, (Thread, thread_id), (Message, ids[2]))
        assert message.body["id"] == ids[2]
        _, page = await repository.page_documents(partition, TENANT, [(Thread, thread_id)], "messages",
                                                  ListQuery(limit=2, after=ids[4]))
        assert [body["id"] for body in page.data] == [ids[3], ids[2]]
        other = thread_partition(new_id("thread"))
        with pytest.raises(NotFoundError, match="thread"):
            await repository.page_documents(other, TENANT, [(Thread, other.key)], "messages", ListQuery(after=missing))
        with pytest.raises(InvalidRequestError, match="'after'"):
            await repository.page_documents(partition, TENANT, [(Thread, thread_id)], "messages",
                                            ListQuery(after=missing))
