"""Vector stores through the real SDK (issue 9): stores, their files and file batches, the SDK's poll helpers
(``create_and_poll``, ``upload_and_poll``), cancel, search. The fake upstream ingests a file on its n-th read
(``fake.vector_stores.ingestion_reads``)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai.types import VectorStore, VectorStoreDeleted
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.e2e.wire import upload
from tests.fake_responses import FakeResponsesServer

STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100}}


@pytest.fixture
def searchable(fake: FakeResponsesServer) -> Iterator[FakeResponsesServer]:
    """The fake upstream with ``POST /v1/vector_stores/{id}/search``, which it does not serve itself: each completed
    file of the store is a result whose content is the start of its text."""

    async def search(request: Request) -> Response:
        body = await request.json()
        fake._record_resource(request, body)
        store_id = request.path_params["vector_store_id"]
        if fake.vector_stores.get(store_id) is None:
            return JSONResponse({"error": {"message": f"No vector store found with id '{store_id}'.",
                                           "type": "invalid_request_error", "param": None, "code": None}}, 404)
        found = fake.vector_stores.search([store_id], body.get("max_num_results", 10))
        data = [{"file_id": r["file_id"], "filename": r["filename"], "score": r["score"],
                 "attributes": r["attributes"], "content": [{"type": "text", "text": r["text"]}]} for r in found]
        query = body["query"] if isinstance(body["query"], list) else [body["query"]]
        return JSONResponse({"object": "vector_store.search_results.page", "search_query": query, "data": data,
                             "has_more": False, "next_page": None})

    route = Route("/v1/vector_stores/{vector_store_id}/search", search, methods=["POST"])
    fake.app.router.routes.insert(0, route)
    try:
        yield fake
    finally:
        fake.app.router.routes.remove(route)


def test_store_lifecycle(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    files = [upload(client, f"text {i}".encode(), f"t{i}.txt").id for i in range(2)]
    store = client.vector_stores.create(name="Docs", file_ids=files, metadata={"team": "a"}, chunking_strategy=STATIC,
                                        expires_after={"anchor": "last_active_at", "days": 3})
    assert isinstance(store, VectorStore) and store.id.startswith("vs_")
    assert (store.name, store.metadata, store.file_counts.total) == ("Docs", {"team": "a"}, 2)
    [sent] = fake.resource_requests_to("POST", "/v1/vector_stores")
    assert sent.body["file_ids"] == files and sent.body["chunking_strategy"] == STATIC
    assert sent.headers["authorization"] == "Bearer sk-upstream-fake"

    fetched = client.vector_stores.retrieve(store.id)  # the fake ingests on the first read
    assert fetched.status == "completed" and fetched.file_counts.completed == 2
    listed = {s.id: s for s in client.vector_stores.list()}
    assert listed[store.id] == fetched  # brought up to date from the upstream

    updated = client.vector_stores.update(store.id, name="Renamed", metadata={"team": "b"})
    assert (updated.name, updated.metadata) == ("Renamed", {"team": "b"})
    assert client.vector_stores.retrieve(store.id).name == "Renamed"
    assert {s.id: s.name for s in client.vector_stores.list()}[store.id] == "Renamed"

    gone = client.vector_stores.delete(store.id)
    assert gone == VectorStoreDeleted(id=store.id, object="vector_store.deleted", deleted=True)
    assert fake.vector_stores.get(store.id) is None
    for attempt in (client.vector_stores.retrieve, client.vector_stores.delete):
        with pytest.raises(openai.NotFoundError):
            attempt(store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.update(store.id, name="x")
    assert store.id not in [s.id for s in client.vector_stores.list()]


def test_list_pages(client: openai.OpenAI) -> None:
    ids = [client.vector_stores.create(name=f"s{i}").id for i in range(5)]
    assert [s.id for s in client.vector_stores.list(limit=2)][:5] == ids[::-1]  # auto-paginated
    page = client.vector_stores.list(limit=2, order="asc", after=ids[0])
    assert [s.id for s in page.data] == ids[1:3] and page.has_more is True
    page = client.vector_stores.list(limit=2, before=ids[1])
    assert [s.id for s in page.data] == [ids[3], ids[2]]  # the ones next to the cursor, as every list pages
    desc = client.vector_stores.list(limit=3, after=ids[4])
    assert [s.id for s in desc.data] == [ids[3], ids[2], ids[1]]


def test_a_list_shows_each_store_as_the_upstream_has_it_now(client: openai.OpenAI,
                                                            fake: FakeResponsesServer) -> None:
    fake.vector_stores.ingestion_reads = 2  # each list reads each store once: the second read finishes ingestion
    store = client.vector_stores.create(name="Fresh", file_ids=[upload(client, b"text").id])
    assert store.file_counts.in_progress == 1

    def listed() -> openai.types.VectorStore:
        return next(s for s in client.vector_stores.list() if s.id == store.id)

    assert listed().file_counts.in_progress == 1
    done = listed()
    assert done.status == "completed" and done.file_counts.completed == 1 and done.file_counts.in_progress == 0
    assert listed() == done  # settled: the next list shows the same


def test_files_of_a_store(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    fake.vector_stores.ingestion_reads = 2
    store = client.vector_stores.create(name="Files")
    first, second = upload(client, b"alpha", "a.txt").id, upload(client, b"beta", "b.txt").id

    added = client.vector_stores.files.create(store.id, file_id=first, attributes={"lang": "en"})
    assert (added.id, added.status, added.vector_store_id) == (first, "in_progress", store.id)
    done = client.vector_stores.files.create_and_poll(second, vector_store_id=store.id, poll_interval_ms=5)
    assert done.status == "completed"
    in_progress = client.vector_stores.files.list(store.id, filter="in_progress")
    assert [f.id for f in in_progress] == [first]  # read once of the two reads it needs
    assert {f.id for f in client.vector_stores.files.list(store.id)} == {first, second}
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="completed")] == [second, first]
    assert client.vector_stores.files.list(store.id, filter="failed").data == []
    paged = client.vector_stores.files.list(store.id, limit=1, order="asc")
    assert [f.id for f in paged.data] == [first] and paged.has_more is True

    fetched = client.vector_stores.files.retrieve(first, vector_store_id=store.id)
    assert fetched.status == "completed" and fetched.attributes == {"lang": "en"}
    changed = client.vector_stores.files.update(first, vector_store_id=store.id, attributes={"lang": "fr"})
    assert changed.attributes == {"lang": "fr"}

    deleted = client.vector_stores.files.delete(first, vector_store_id=store.id)
    assert deleted.deleted is True and deleted.id == first
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(first, vector_store_id=store.id)
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [second]
    assert client.files.retrieve(first).id == first  # the file itself stays
    assert client.vector_stores.retrieve(store.id).file_counts.total == 1


def test_upload_and_poll_helpers(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    fake.vector_stores.ingestion_reads = 3
    store = client.vector_stores.create(name="Helpers")
    one = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("one.txt", b"one"),
                                                     poll_interval_ms=5)
    assert one.status == "completed" and fake.files.get(one.id) is not None
    assert client.files.retrieve(one.id).filename == "one.txt"  # uploaded through the service: the tenant's
    [chunk] = client.vector_stores.files.content(one.id, vector_store_id=store.id)  # the text the upstream parsed
    assert chunk.type == "text" and chunk.text == "one"

    existing = upload(client, b"three", "three.txt").id
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("two.txt", b"two"), ("four.txt", b"four")], file_ids=[existing], poll_interval_ms=5)
    assert batch.status == "completed" and batch.file_counts.completed == 3 and batch.file_counts.total == 3
    batch_files = {f.id for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)}
    assert existing in batch_files and len(batch_files) == 3
    assert {client.files.retrieve(i).filename for i in batch_files} == {"two.txt", "three.txt", "four.txt"}
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 4

    more = [upload(client, f"m{i}".encode(), f"m{i}.txt").id for i in range(2)]
    polled = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=more, chunking_strategy=STATIC,
                                                               attributes={"k": "v"}, poll_interval_ms=5)
    assert polled.status == "completed" and polled.file_counts.completed == 2
    assert client.vector_stores.file_batches.retrieve(polled.id, vector_store_id=store.id) == polled
    listed = client.vector_stores.file_batches.list_files(polled.id, vector_store_id=store.id, filter="completed")
    assert {f.id for f in listed} == set(more)
    assert all(f.attributes == {"k": "v"} for f in listed)
    [sent] = [r for r in fake.resource_requests_to("POST", f"/v1/vector_stores/{store.id}/file_batches")
              if r.body.get("file_ids") == more]
    assert sent.body["chunking_strategy"] == STATIC


def test_cancel_a_batch(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    fake.vector_stores.ingestion_reads = 1000
    store = client.vector_stores.create(name="Slow")
    files = [upload(client, f"slow {i}".encode(), f"s{i}.txt").id for i in range(2)]
    batch = client.vector_stores.file_batches.create(store.id, file_ids=files)
    assert batch.status == "in_progress" and batch.file_counts.in_progress == 2
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 2
    assert [f.status for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)] == [
        "cancelled", "cancelled"]
    for attempt in (client.vector_stores.file_batches.retrieve, client.vector_stores.file_batches.cancel):
        with pytest.raises(openai.NotFoundError):
            attempt("vsfb_doesnotexist", vector_store_id=store.id)


def test_search(client: openai.OpenAI, searchable: FakeResponsesServer) -> None:
    store = client.vector_stores.create(name="Search")
    file_id = upload(client, b"The warranty lasts two years.", "warranty.txt").id
    client.vector_stores.files.create_and_poll(file_id, vector_store_id=store.id, poll_interval_ms=5)
    page = client.vector_stores.search(store.id, query="warranty", max_num_results=3)
    [hit] = page.data
    assert (hit.file_id, hit.filename) == (file_id, "warranty.txt")
    assert hit.content[0].text == "The warranty lasts two years."
    [sent] = searchable.resource_requests_to("POST", f"/v1/vector_stores/{store.id}/search")
    assert sent.body == {"query": "warranty", "max_num_results": 3}
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_doesnotexist", query="x")


def test_bad_requests(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    store = client.vector_stores.create(name="Bad")
    with pytest.raises(openai.BadRequestError) as missing:
        client.vector_stores.files.create(store.id, file_id="file-notmine")
    assert missing.value.body["param"] == "file_id"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as batch:
        client.vector_stores.file_batches.create(store.id, file_ids=["file-notmine"])
    assert batch.value.body["param"] == "file_ids"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as listing:
        client.vector_stores.files.list(store.id, limit=1000)
    assert listing.value.body["param"] == "limit"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list("vs_doesnotexist")
    assert not fake.resource_requests_to("POST", f"/v1/vector_stores/{store.id}/file")
