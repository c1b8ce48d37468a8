"""The behavioural contract of `core.ports.store.DocumentStore`, run against every adapter (``store`` fixture).

The memory adapter is the executable reference; a behaviour the services rely on belongs here, so no adapter can
drift. Ids come from `core.domain.ids.new_id`, so creation order is id order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.domain.errors import ConcurrencyError
from core.domain.ids import new_id
from core.domain.pagination import ListQuery, Order
from core.ports.store import INDEXES_FIELD, Check, Create, Delete, DocumentStore, Partition, Replace, Write


def body(doc_id: str, *indexes: str, **fields: Any) -> dict[str, Any]:
    return {"id": doc_id, INDEXES_FIELD: list(indexes), **fields}


async def create(store: DocumentStore, partition: Partition, *bodies: dict[str, Any]) -> list[str]:
    return await store.commit(partition, [Create(b) for b in bodies])


async def listed(store: DocumentStore, partition: Partition, index: str, **query: Any) -> tuple[list[str], bool]:
    """The ids of one page of ``index`` and its ``has_more``."""
    page = await store.scan(partition, index, ListQuery(**query))
    return [doc.body["id"] for doc in page.data], page.has_more


@pytest.fixture
def partition() -> Partition:
    return Partition("threads", new_id("thread"))


# --- point reads and writes ---------------------------------------------------------------------------------------


async def test_get_of_a_missing_document_is_none(store: DocumentStore, partition: Partition) -> None:
    assert await store.get(partition, new_id("msg")) is None
    await create(store, partition, body(new_id("msg")))
    assert await store.get(partition, new_id("msg")) is None


async def test_an_empty_commit_returns_no_etags(store: DocumentStore, partition: Partition) -> None:
    assert await store.commit(partition, []) == []


async def test_create_then_get_returns_an_equal_copy(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("msg")
    written = body(doc_id, "messages", content=[{"type": "text", "text": {"value": "hi"}}], metadata={"k": "v"})
    [etag] = await create(store, partition, written)
    assert isinstance(etag, str)
    assert etag

    read = await store.get(partition, doc_id)
    assert read is not None
    assert read.body == written
    assert read.etag == etag

    written["metadata"]["k"] = "changed by the caller after the commit"
    read.body["content"].append("changed by the caller after the read")
    [scanned] = (await store.scan(partition, "messages", ListQuery())).data
    scanned.body["metadata"]["extra"] = "changed by the caller after the scan"
    again = await store.get(partition, doc_id)
    assert again is not None
    assert again.body == body(
        doc_id, "messages", content=[{"type": "text", "text": {"value": "hi"}}], metadata={"k": "v"}
    )
    assert again.etag == etag


async def test_commit_returns_each_new_etag_in_order(store: DocumentStore, partition: Partition) -> None:
    kept, replaced, deleted = new_id("msg"), new_id("msg"), new_id("msg")
    old_etags = await create(store, partition, body(replaced), body(deleted))
    etags = await store.commit(
        partition, [Create(body(kept)), Replace(body(replaced, n=2), old_etags[0]), Delete(deleted)]
    )
    assert len(etags) == 3
    assert etags[2] == ""
    for doc_id, etag in zip([kept, replaced], etags[:2], strict=True):
        found = await store.get(partition, doc_id)
        assert found is not None
        assert found.etag == etag
    assert etags[1] != old_etags[0]


async def test_create_of_an_existing_id_fails_and_writes_nothing_of_the_commit(
    store: DocumentStore, partition: Partition
) -> None:
    existing, other = new_id("msg"), new_id("msg")
    [etag] = await create(store, partition, body(existing, "messages", n=1))
    with pytest.raises(ConcurrencyError):
        await create(store, partition, body(other, "messages"), body(existing, "messages", "runs", n=2))

    assert await store.get(partition, other) is None
    found = await store.get(partition, existing)
    assert found is not None
    assert found.body == body(existing, "messages", n=1)
    assert found.etag == etag
    assert await listed(store, partition, "messages") == ([existing], False)
    assert await listed(store, partition, "runs") == ([], False)


async def test_a_failing_condition_anywhere_rolls_back_the_whole_commit(
    store: DocumentStore, partition: Partition
) -> None:
    a, b, c = new_id("msg"), new_id("msg"), new_id("msg")
    etag_a, etag_b = await create(store, partition, body(a, "messages"), body(b, "messages"))
    writes: list[Write] = [
        Replace(body(a, "runs", n=2), etag_a),  # valid
        Delete(b),  # valid
        Create(body(c, "messages")),  # valid
        Replace(body(b, n=3), "not-the-etag"),  # fails, so none of the above may stick
    ]
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, writes)

    found_a, found_b = await store.get(partition, a), await store.get(partition, b)
    assert found_a is not None
    assert found_a.body == body(a, "messages")
    assert found_a.etag == etag_a
    assert found_b is not None
    assert found_b.body == body(b, "messages")
    assert found_b.etag == etag_b
    assert await store.get(partition, c) is None
    assert await listed(store, partition, "messages", order="asc") == ([a, b], False)
    assert await listed(store, partition, "runs") == ([], False)


async def test_replace_with_the_current_etag_succeeds_and_changes_the_etag(
    store: DocumentStore, partition: Partition
) -> None:
    doc_id = new_id("run")
    [first] = await create(store, partition, body(doc_id, "runs", status="queued"))
    [second] = await store.commit(partition, [Replace(body(doc_id, "runs", status="in_progress"), first)])
    assert second != first
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body["status"] == "in_progress"
    assert found.etag == second
    [third] = await store.commit(partition, [Replace(body(doc_id, "runs", status="completed"), second)])
    assert third not in (first, second)


async def test_replace_with_a_stale_etag_fails_and_changes_nothing(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("run")
    [stale] = await create(store, partition, body(doc_id, status="queued"))
    [current] = await store.commit(partition, [Replace(body(doc_id, status="in_progress"), stale)])
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, [Replace(body(doc_id, status="cancelled"), stale)])
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body["status"] == "in_progress"
    assert found.etag == current


@pytest.mark.parametrize("etag", [None, "some-etag"])
async def test_replace_of_a_missing_document_fails(
    store: DocumentStore, partition: Partition, etag: str | None
) -> None:
    doc_id = new_id("run")
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, [Replace(body(doc_id, "runs"), etag)])
    assert await store.get(partition, doc_id) is None
    assert await listed(store, partition, "runs") == ([], False)


async def test_replace_without_an_etag_is_unconditional(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("run")
    [first] = await create(store, partition, body(doc_id, n=1))
    await store.commit(partition, [Replace(body(doc_id, n=2), first)])
    [last] = await store.commit(partition, [Replace(body(doc_id, n=3))])
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body == body(doc_id, n=3)
    assert found.etag == last


async def test_delete_removes_the_document_and_its_index_entries(store: DocumentStore, partition: Partition) -> None:
    gone, kept = new_id("msg"), new_id("msg")
    await create(store, partition, body(gone, "messages", "messages:run_1"), body(kept, "messages"))
    assert await store.commit(partition, [Delete(gone)]) == [""]
    assert await store.get(partition, gone) is None
    assert await listed(store, partition, "messages") == ([kept], False)
    assert await listed(store, partition, "messages:run_1") == ([], False)


async def test_deleting_a_missing_document_is_fine(store: DocumentStore, partition: Partition) -> None:
    assert await store.commit(partition, [Delete(new_id("msg"))]) == [""]
    doc_id = new_id("msg")
    await create(store, partition, body(doc_id))
    await store.commit(partition, [Delete(doc_id)])
    assert await store.commit(partition, [Delete(doc_id)]) == [""]


async def test_delete_with_an_etag_is_conditional(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("msg")
    [stale] = await create(store, partition, body(doc_id, "messages"))
    [current] = await store.commit(partition, [Replace(body(doc_id, "messages", n=2))])
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, [Delete(doc_id, stale)])
    assert await store.get(partition, doc_id) is not None
    await store.commit(partition, [Delete(doc_id, current)])
    assert await store.get(partition, doc_id) is None
    assert await listed(store, partition, "messages") == ([], False)


async def test_a_check_at_the_current_version_lets_the_commit_through(store: DocumentStore,
                                                                       partition: Partition) -> None:
    thread_id, message_id = new_id("thread"), new_id("msg")
    [etag] = await create(store, partition, body(thread_id, title="t"))
    [_, after] = await store.commit(partition, [Create(body(message_id, "messages")), Check(body(thread_id, title="t"),
                                                                                            etag)])
    assert await listed(store, partition, "messages") == ([message_id], False)
    thread = await store.get(partition, thread_id)
    assert thread is not None and thread.body["title"] == "t" and thread.etag == after  # usable for a later replace
    await store.commit(partition, [Replace(body(thread_id, title="t2"), after)])


async def test_a_check_at_a_stale_version_fails_the_whole_commit(store: DocumentStore, partition: Partition) -> None:
    thread_id, message_id = new_id("thread"), new_id("msg")
    [stale] = await create(store, partition, body(thread_id, title="t"))
    await store.commit(partition, [Replace(body(thread_id, title="run started"), stale)])
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, [Create(body(message_id, "messages")), Check(body(thread_id, title="t"), stale)])
    assert await store.get(partition, message_id) is None
    with pytest.raises(ConcurrencyError):
        await store.commit(partition, [Check(body(new_id("thread")), stale)])  # a missing document fails too


async def test_commits_that_check_the_same_version_do_not_conflict(store: DocumentStore, partition: Partition) -> None:
    """Where a check writes nothing (memory, Redis), all land; Cosmos DB rewrites the checked document, so there
    concurrent checks race like replaces: one lands, the others fail cleanly and their callers retry."""
    thread_id = new_id("thread")
    [etag] = await create(store, partition, body(thread_id))
    messages = [new_id("msg") for _ in range(8)]
    outcomes = await asyncio.gather(*(store.commit(partition, [Create(body(message_id, "messages")),
                                                               Check(body(thread_id), etag)])
                                      for message_id in messages), return_exceptions=True)
    landed = [message_id for message_id, outcome in zip(messages, outcomes, strict=True)
              if not isinstance(outcome, BaseException)]
    assert all(isinstance(outcome, ConcurrencyError) for outcome in outcomes if isinstance(outcome, BaseException))
    assert await listed(store, partition, "messages", order="asc", limit=20) == (landed, False)
    if type(store).__name__ == "CosmosStore":
        assert len(landed) >= 1
    else:
        assert landed == messages


async def test_unicode_and_nested_json_round_trip(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("msg")
    written = body(
        doc_id,
        "messages",
        text='héllo wörld \u2013 你好 👋 "quoted" back\\slash\nnew line\ttab',
        nested={"a": [1, 2.5, -3, True, False, None, {"b": {"c": [[], {}, ""]}}], "emoji 🎉": "ключ"},
        big=2**53 - 1,
        empty_list=[],
        empty_object={},
    )
    await create(store, partition, written)
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body == written
    [scanned] = (await store.scan(partition, "messages", ListQuery())).data
    assert scanned.body == written


# --- scans --------------------------------------------------------------------------------------------------------

# (order, limit, after, before, expected, has_more); cursors and results are positions among 5 ids in one index.
SCAN_CASES: list[tuple[Order, int, int | None, int | None, list[int], bool]] = [
    ("asc", 20, None, None, [0, 1, 2, 3, 4], False),
    ("desc", 20, None, None, [4, 3, 2, 1, 0], False),
    ("asc", 2, None, None, [0, 1], True),
    ("desc", 2, None, None, [4, 3], True),
    ("desc", 1, None, None, [4], True),
    ("asc", 5, None, None, [0, 1, 2, 3, 4], False),
    ("asc", 4, None, None, [0, 1, 2, 3], True),
    ("asc", 20, 1, None, [2, 3, 4], False),
    ("asc", 2, 1, None, [2, 3], True),
    ("asc", 20, 4, None, [], False),
    ("desc", 20, 3, None, [2, 1, 0], False),
    ("desc", 2, 3, None, [2, 1], True),
    ("desc", 20, 0, None, [], False),
    # ``before`` alone takes the items closest to the cursor, still in the requested order.
    ("asc", 20, None, 3, [0, 1, 2], False),
    ("asc", 2, None, 3, [1, 2], True),
    ("asc", 3, None, 3, [0, 1, 2], False),
    ("desc", 20, None, 1, [4, 3, 2], False),
    ("desc", 2, None, 1, [3, 2], True),
    ("asc", 20, None, 0, [], False),
    # Both cursors: the window between them, read from ``after``.
    ("asc", 20, 0, 4, [1, 2, 3], False),
    ("asc", 2, 0, 4, [1, 2], True),
    ("desc", 20, 4, 0, [3, 2, 1], False),
    ("desc", 2, 4, 0, [3, 2], True),
    ("asc", 20, 2, 2, [], False),
    ("asc", 20, 3, 1, [], False),
]


@pytest.mark.parametrize(
    ("order", "limit", "after", "before", "expected", "has_more"),
    SCAN_CASES,
    ids=[f"{c[0]}-limit{c[1]}-after{c[2]}-before{c[3]}" for c in SCAN_CASES],
)
async def test_scan_pages_between_cursors_in_order(
    store: DocumentStore,
    partition: Partition,
    order: Order,
    limit: int,
    after: int | None,
    before: int | None,
    expected: list[int],
    has_more: bool,
) -> None:
    ids = [new_id("msg") for _ in range(5)]
    await create(store, partition, *(body(doc_id, "messages") for doc_id in reversed(ids)))  # insertion order moot
    query = {"order": order, "limit": limit, "after": None if after is None else ids[after]}
    query["before"] = None if before is None else ids[before]
    assert await listed(store, partition, "messages", **query) == ([ids[i] for i in expected], has_more)


async def test_scan_cursors_are_bounds_not_members(store: DocumentStore, partition: Partition) -> None:
    ids = [new_id("msg") for _ in range(4)]
    await create(store, partition, *(body(doc_id, "messages") for doc_id in ids))
    between = ids[1] + "0"  # sorts after ids[1], before ids[2]
    assert await listed(store, partition, "messages", order="asc", after=between) == (ids[2:], False)
    assert await listed(store, partition, "messages", order="desc", after=between) == ([ids[1], ids[0]], False)
    assert await listed(store, partition, "messages", order="asc", before=between, limit=1) == ([ids[1]], True)


async def test_scan_returns_documents_with_their_etags(store: DocumentStore, partition: Partition) -> None:
    a, b = new_id("msg"), new_id("msg")
    await create(store, partition, body(a, "messages", n=1), body(b, "messages", n=2))
    [etag_b] = await store.commit(partition, [Replace(body(b, "messages", n=3))])
    page = await store.scan(partition, "messages", ListQuery(order="asc"))
    found_a = await store.get(partition, a)
    assert found_a is not None
    assert [(doc.body, doc.etag) for doc in page.data] == [
        (found_a.body, found_a.etag),
        (body(b, "messages", n=3), etag_b),
    ]


async def test_scan_of_an_empty_or_unknown_index(store: DocumentStore, partition: Partition) -> None:
    for query in (ListQuery(), ListQuery(order="asc"), ListQuery(before=new_id("msg")), ListQuery(after=new_id("msg"))):
        assert await listed(store, partition, "messages", **vars(query)) == ([], False)
    await create(store, partition, body(new_id("msg"), "messages"), body(new_id("msg")))
    assert await listed(store, partition, "runs") == ([], False)
    assert await listed(store, Partition("threads", new_id("thread")), "messages") == ([], False)


async def test_replace_moves_a_document_between_indexes(store: DocumentStore, partition: Partition) -> None:
    first, moving, last = new_id("msg"), new_id("msg"), new_id("msg")
    await create(store, partition, body(first, "messages", "messages:run_1"), body(last, "messages", "messages:run_1"))
    await create(store, partition, body(moving, "messages"))
    assert await listed(store, partition, "messages", order="asc") == ([first, moving, last], False)
    assert await listed(store, partition, "messages:run_1", order="asc") == ([first, last], False)

    await store.commit(partition, [Replace(body(moving, "messages", "messages:run_1"))])
    assert await listed(store, partition, "messages", order="asc") == ([first, moving, last], False)
    assert await listed(store, partition, "messages:run_1", order="asc") == ([first, moving, last], False)

    await store.commit(partition, [Replace(body(moving, "messages:run_1", "steps:run_1"))])
    assert await listed(store, partition, "messages", order="asc") == ([first, last], False)
    assert await listed(store, partition, "messages:run_1", order="asc") == ([first, moving, last], False)
    assert await listed(store, partition, "steps:run_1") == ([moving], False)

    await store.commit(partition, [Replace({"id": moving, "note": "in no index at all"})])
    for index in ("messages", "messages:run_1", "steps:run_1"):
        assert moving not in (await listed(store, partition, index))[0]
    found = await store.get(partition, moving)
    assert found is not None
    assert found.body == {"id": moving, "note": "in no index at all"}


async def test_thousand_documents_page_through_exactly_once(store: DocumentStore, partition: Partition) -> None:
    ids = [new_id("msg") for _ in range(1000)]
    for start in range(0, len(ids), 100):
        await create(store, partition, *(body(doc_id, "messages") for doc_id in ids[start : start + 100]))

    async def collect(order: Order, limit: int) -> list[str]:
        seen: list[str] = []
        after: str | None = None
        while True:
            page, has_more = await listed(store, partition, "messages", order=order, limit=limit, after=after)
            assert len(page) == limit or not has_more
            seen += page
            if not has_more:
                return seen
            after = page[-1]

    assert await collect("asc", 100) == ids
    assert await collect("desc", 33) == ids[::-1]

    # Backwards from the newest page with ``before`` alone: each page is the one just before the previous one.
    page, has_more = await listed(store, partition, "messages", order="desc", limit=64)
    backwards = page[::-1]
    while has_more:
        page, has_more = await listed(store, partition, "messages", order="asc", limit=64, before=backwards[0])
        assert len(page) == 64 or not has_more
        backwards = page + backwards
    assert backwards == ids


# --- isolation ----------------------------------------------------------------------------------------------------


async def test_partitions_are_isolated(store: DocumentStore) -> None:
    one, two = Partition("threads", new_id("thread")), Partition("threads", new_id("thread"))
    shared, only_one = new_id("msg"), new_id("msg")
    await create(store, one, body(shared, "messages", owner="one"), body(only_one, "messages"))
    await create(store, two, body(shared, "messages", owner="two"))  # the same id is free in another partition

    found_one, found_two = await store.get(one, shared), await store.get(two, shared)
    assert found_one is not None
    assert found_one.body["owner"] == "one"
    assert found_two is not None
    assert found_two.body["owner"] == "two"
    assert await store.get(two, only_one) is None
    assert await listed(store, one, "messages", order="asc") == ([shared, only_one], False)
    assert await listed(store, two, "messages") == ([shared], False)

    await store.commit(two, [Delete(shared)])
    assert await store.get(one, shared) is not None
    assert await listed(store, one, "messages", order="asc") == ([shared, only_one], False)


async def test_containers_are_isolated(store: DocumentStore) -> None:
    assistants, threads = Partition("assistants", "x"), Partition("threads", "x")
    doc_id = new_id("asst")
    await create(store, assistants, body(doc_id, "assistants", kind="assistant"))
    assert await store.get(threads, doc_id) is None
    assert await listed(store, threads, "assistants") == ([], False)
    await create(store, threads, body(doc_id, "assistants", kind="thread"))
    found = await store.get(assistants, doc_id)
    assert found is not None
    assert found.body["kind"] == "assistant"


async def test_partition_keys_that_look_like_key_syntax_stay_isolated(store: DocumentStore) -> None:
    keys = ["t", "t}", "{t}", "t%7D", "t:docs", "t}:idx:messages", "tenant with spaces/and:colons"]
    doc_id = new_id("msg")
    for key in keys:
        await create(store, Partition("assistants", key), body(doc_id, "messages", key=key))
    for key in keys:
        partition = Partition("assistants", key)
        found = await store.get(partition, doc_id)
        assert found is not None
        assert found.body["key"] == key
        assert await listed(store, partition, "messages") == ([doc_id], False)


async def test_drop_partition_removes_everything_of_that_partition_only(store: DocumentStore) -> None:
    dropped, kept = Partition("threads", new_id("thread")), Partition("threads", new_id("thread"))
    doc_ids = [new_id("msg") for _ in range(3)]
    await create(store, dropped, *(body(doc_id, "messages", f"steps:{doc_id}") for doc_id in doc_ids))
    await create(store, kept, body(doc_ids[0], "messages"))

    await store.drop_partition(dropped)
    for doc_id in doc_ids:
        assert await store.get(dropped, doc_id) is None
        assert await listed(store, dropped, f"steps:{doc_id}") == ([], False)
    assert await listed(store, dropped, "messages") == ([], False)
    assert await store.get(kept, doc_ids[0]) is not None
    assert await listed(store, kept, "messages") == ([doc_ids[0]], False)

    await create(store, dropped, body(doc_ids[1], "runs"))  # a dropped partition can be written again, from empty
    assert await listed(store, dropped, "runs") == ([doc_ids[1]], False)
    assert await listed(store, dropped, "messages") == ([], False)
    await store.drop_partition(Partition("threads", new_id("thread")))  # dropping nothing is fine


# --- concurrency --------------------------------------------------------------------------------------------------


async def test_concurrent_replaces_of_one_version_let_exactly_one_win(
    store: DocumentStore, partition: Partition
) -> None:
    doc_id = new_id("run")
    [etag] = await create(store, partition, body(doc_id, "runs", writer=-1))
    results = await asyncio.gather(
        *(store.commit(partition, [Replace(body(doc_id, "runs", writer=n), etag)]) for n in range(20)),
        return_exceptions=True,
    )
    winners = [n for n, result in enumerate(results) if not isinstance(result, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(result, ConcurrencyError) for n, result in enumerate(results) if n != winners[0])
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body["writer"] == winners[0]
    assert [found.etag] == results[winners[0]]


async def test_concurrent_creates_of_one_id_let_exactly_one_win(store: DocumentStore, partition: Partition) -> None:
    doc_id = new_id("msg")
    results = await asyncio.gather(
        *(create(store, partition, body(doc_id, "messages", writer=n)) for n in range(20)), return_exceptions=True
    )
    winners = [n for n, result in enumerate(results) if not isinstance(result, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(result, ConcurrencyError) for n, result in enumerate(results) if n != winners[0])
    found = await store.get(partition, doc_id)
    assert found is not None
    assert found.body["writer"] == winners[0]
    assert await listed(store, partition, "messages") == ([doc_id], False)
