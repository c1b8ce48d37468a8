"""The Redis store's fused reads (``get_many``: one HMGET; ``get_and_scan``: one script) answer exactly what ``get``
and ``scan`` answer, in one round trip, and the repository's read paths use them: a list request or a retrieve costs
one command on a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from core.adapters.redis.store import RedisStore
from core.domain.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from core.domain.ids import new_id
from core.domain.models import Message, Thread
from core.domain.pagination import ListQuery
from core.ports.store import INDEXES_FIELD, Create, Partition
from core.services._repository import DOC_TYPE_FIELD, Repository, thread_partition
from tests.servers import free_port, redis_server

pytestmark = pytest.mark.redis
TENANT = "tenant-a"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with redis_server() as url:  # a server of its own: the command counts below see only this module's commands
        yield url


@pytest.fixture
async def admin(server_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(server_url, decode_responses=True)
    try:
        await client.flushdb()
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def store(server_url: str, admin: Redis) -> AsyncIterator[RedisStore]:
    adapter = RedisStore.from_url(server_url)
    try:
        yield adapter
    finally:
        await adapter.close()


async def _thread_with_messages(store: RedisStore, count: int) -> tuple[Partition, list[str]]:
    thread_id = new_id("thread")
    partition = thread_partition(thread_id)
    ids = [new_id("msg") for _ in range(count)]
    thread: dict[str, Any] = {"id": thread_id, "created_at": 1, "tenant_id": TENANT, DOC_TYPE_FIELD: "thread",
                              INDEXES_FIELD: []}
    content = [{"type": "text", "text": {"value": "hello", "annotations": []}}]
    messages = [Message(id=doc_id, created_at=1, tenant_id=TENANT, thread_id=thread_id, role="user",
                        content=content).model_dump(mode="json")
                | {DOC_TYPE_FIELD: "message", INDEXES_FIELD: ["messages"]} for doc_id in ids]
    await store.commit(partition, [Create(thread), *(Create(message) for message in messages)])
    return partition, ids


class Commands:
    """Counts the commands the store's client sends (a script is one EVALSHA, whatever it calls inside)."""

    def __init__(self, store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        client = store._client
        send = client.execute_command

        async def counted(*args: Any, **options: Any) -> Any:
            self.sent.append(str(args[0]))
            return await send(*args, **options)

        monkeypatch.setattr(client, "execute_command", counted)


QUERIES = [ListQuery(), ListQuery(limit=3), ListQuery(limit=3, order="asc"), ListQuery(limit=50)]


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: f"{query.order}{query.limit}")
async def test_get_and_scan_answers_as_get_and_scan(store: RedisStore, query: ListQuery) -> None:
    partition, ids = await _thread_with_messages(store, 7)
    for bounds in ({}, {"after": ids[3]}, {"before": ids[3]}, {"after": ids[1], "before": ids[5]}):
        paged = ListQuery(query.limit, query.order, **bounds)
        wanted = [partition.key, *(cursor for cursor in (paged.after, paged.before) if cursor)]
        found, page = await store.get_and_scan(partition, wanted, "messages", paged)
        assert found == [await store.get(partition, doc_id) for doc_id in wanted]
        assert page == await store.scan(partition, "messages", paged)


async def test_absent_ids_read_as_none_in_place_and_skip_the_scan(store: RedisStore) -> None:
    partition, ids = await _thread_with_messages(store, 3)
    missing = new_id("msg")
    found, page = await store.get_and_scan(partition, [missing, partition.key, missing], "messages", ListQuery())
    assert [doc is None for doc in found] == [True, False, True]
    assert page.data == [] and not page.has_more
    many = await store.get_many(partition, [ids[0], missing, ids[2], missing])
    assert [None if doc is None else doc.body["id"] for doc in many] == [ids[0], None, ids[2], None]
    found, page = await store.get_and_scan(partition, [], "messages", ListQuery())
    assert found == [] and [doc.body["id"] for doc in page.data] == ids[::-1]


async def test_scan_many_answers_as_scans_one_after_another(store: RedisStore) -> None:
    partition, ids = await _thread_with_messages(store, 7)
    scans = [("messages", ListQuery(limit=3)), ("tool_steps", ListQuery(limit=100)),
             ("messages", ListQuery(limit=2, order="asc", after=ids[1]))]
    assert await store.scan_many(partition, scans) == [await store.scan(partition, index, query)
                                                        for index, query in scans]


async def test_a_runs_history_is_read_in_one_round_trip(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    partition, ids = await _thread_with_messages(store, 5)
    repository = Repository(store)
    scans = ((Message, "messages", ListQuery(limit=500)), (Thread, "tool_steps", ListQuery(limit=100)))
    await repository.pages(partition, *scans)  # loads the script
    sent: list[str] = []
    pipeline = store._client.pipeline

    def counted(*args: Any, **options: Any) -> Any:
        sent.append("PIPELINE")
        return pipeline(*args, **options)

    monkeypatch.setattr(store._client, "pipeline", counted)
    commands = Commands(store, monkeypatch)
    messages, steps = await repository.pages(partition, *scans)
    assert sent == ["PIPELINE"] and commands.sent == []  # both scans went in the one pipeline
    assert [message.id for message in messages.data] == ids[::-1] and steps.data == []


async def test_a_list_and_a_retrieve_are_one_command_each(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    partition, ids = await _thread_with_messages(store, 30)
    repository = Repository(store)
    query = ListQuery(limit=20, after=ids[-1])
    await repository.page_documents(partition, TENANT, [(Thread, partition.key)], "messages", query)  # loads scripts
    commands = Commands(store, monkeypatch)

    _, page = await repository.page_documents(partition, TENANT, [(Thread, partition.key)], "messages", query)
    assert commands.sent == ["EVALSHA"]
    models = await repository.page(Message, partition, "messages", query)
    assert page.data == [message.model_dump(mode="json") | {DOC_TYPE_FIELD: "message", INDEXES_FIELD: ["messages"]}
                         for message in models.data]

    commands.sent.clear()
    _, message = await repository.load_documents(partition, TENANT, (Thread, partition.key), (Message, ids[4]))
    assert commands.sent == ["HMGET"]
    assert message.body["id"] == ids[4]


async def test_refusals_keep_their_order(store: RedisStore) -> None:
    partition, ids = await _thread_with_messages(store, 3)
    repository = Repository(store)
    other = thread_partition(new_id("thread"))
    with pytest.raises(NotFoundError, match="thread"):  # the thread's 404 comes before the cursor's 400
        await repository.page_documents(other, TENANT, [(Thread, other.key)], "messages",
                                        ListQuery(after=new_id("msg")))
    with pytest.raises(NotFoundError, match="thread"):  # another tenant's thread is not found
        await repository.page_documents(partition, "tenant-b", [(Thread, partition.key)], "messages", ListQuery())
    with pytest.raises(InvalidRequestError, match="'before'"):
        await repository.page_documents(partition, TENANT, [(Thread, partition.key)], "messages",
                                        ListQuery(after=ids[0], before=partition.key))
    with pytest.raises(NotFoundError, match="message"):
        await repository.load_documents(partition, TENANT, (Thread, partition.key), (Message, new_id("msg")))


async def test_an_unreachable_server_is_a_503() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    partition = thread_partition(new_id("thread"))
    try:
        with pytest.raises(ServiceUnavailableError):
            await store.get_many(partition, [partition.key, new_id("msg")])
        with pytest.raises(ServiceUnavailableError):
            await store.get_and_scan(partition, [partition.key], "messages", ListQuery())
    finally:
        await store.close()
