"""Checks the fake upstream's Files, Vector Stores, Models and Containers routes and its hosted-tool replies
(`file_search_call`, `code_interpreter_call`) against the real openai SDK."""

from __future__ import annotations

import time

import openai
import pytest
from openai.types import FileObject, Model, VectorStore
from openai.types.responses import (
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCodeInterpreterToolCall,
    ResponseCompletedEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFileSearchToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseOutputTextAnnotationAddedEvent,
    ToolParam,
)
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch

from tests.fake_responses import FakeResponsesServer, code_interpreter_reply, stream_events
from tests.fake_upstream_tools import search_result

MODEL = "gpt-4o-mini"


def test_files_create_list_retrieve_content_delete(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    first = client.files.create(file=("notes.txt", b"hello notes", "text/plain"), purpose="assistants")
    second = client.files.create(file=("data.jsonl", b'{"a": 1}\n'), purpose="batch")
    third = client.files.create(file=("more.txt", b"more"), purpose="assistants")

    assert isinstance(first, FileObject)
    assert first.id.startswith("file-")
    assert (first.filename, first.bytes, first.purpose, first.status, first.object) == (
        "notes.txt", 11, "assistants", "processed", "file"
    )
    assert abs(first.created_at - time.time()) < 5
    assert [f.id for f in client.files.list()] == [third.id, second.id, first.id]
    assert [f.id for f in client.files.list(purpose="assistants", order="asc")] == [first.id, third.id]
    page = client.files.list(limit=1, order="asc")
    assert [f.id for f in page.data] == [first.id]
    assert page.has_more is True
    assert [f.id for f in client.files.list(limit=1, order="asc")] == [first.id, second.id, third.id]
    assert client.files.retrieve(first.id).filename == "notes.txt"
    assert client.files.content(first.id).content == b"hello notes"
    deleted = client.files.delete(second.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (second.id, True, "file")
    with pytest.raises(openai.NotFoundError) as missing:
        client.files.retrieve(second.id)
    assert missing.value.message.endswith(f"No such File object: {second.id}")
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-nope")

    upload = fake.resource_requests_to("POST", "/v1/files")[0]
    assert upload.body == {
        "purpose": "assistants",
        "file": {"filename": "notes.txt", "content_type": "text/plain", "bytes": 11},
    }
    assert upload.headers["authorization"] == "Bearer x"
    listed = fake.resource_requests_to("GET", "/v1/files")[1]
    assert listed.query == {"purpose": "assistants", "order": "asc"}
    assert fake.requests == []
    assert fake.files.get(first.id) is not None


def test_file_upload_errors(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.files.max_bytes = 4

    with pytest.raises(openai.APIStatusError) as too_large:
        client.files.create(file=("big.bin", b"12345"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as bad_purpose:
        client.files.create(file=("a.txt", b"1"), purpose="nonsense")  # type: ignore[arg-type]

    assert too_large.value.status_code == 413
    assert too_large.value.code == "file_too_large"
    assert bad_purpose.value.param == "purpose"
    assert client.files.list().data == []


def test_vector_store_crud_and_ingestion_by_reads(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.vector_stores.ingestion_reads = 2
    doc = client.files.create(file=("doc.txt", b"0123456789"), purpose="assistants")

    store = client.vector_stores.create(
        name="Docs", file_ids=[doc.id], metadata={"k": "v"}, expires_after={"anchor": "last_active_at", "days": 2}
    )
    other = client.vector_stores.create()

    assert isinstance(store, VectorStore)
    assert store.id.startswith("vs_")
    assert (store.name, store.metadata, store.status, store.usage_bytes) == ("Docs", {"k": "v"}, "in_progress", 0)
    assert (store.file_counts.in_progress, store.file_counts.total) == (1, 1)
    assert store.expires_after is not None
    assert store.expires_at == store.created_at + 2 * 86400
    assert client.vector_stores.retrieve(store.id).status == "in_progress"
    ready = client.vector_stores.retrieve(store.id)
    assert (ready.status, ready.usage_bytes, ready.file_counts.completed) == ("completed", 10, 1)
    assert [s.id for s in client.vector_stores.list()] == [other.id, store.id]
    renamed = client.vector_stores.update(store.id, name="Renamed", metadata={"k": "w"})
    assert (renamed.name, renamed.metadata) == ("Renamed", {"k": "w"})
    deleted = client.vector_stores.delete(other.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (other.id, True, "vector_store.deleted")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(other.id)
    assert fake.resource_requests_to("POST", "/v1/vector_stores")[0].body["file_ids"] == [doc.id]
    assert fake.resource_requests_to("POST", "/v1/vector_stores")[0].headers["openai-beta"] == "assistants=v2"


def test_upload_and_poll_polls_the_file(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="s")
    started = time.monotonic()

    attached = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.md", b"# Title\nBody"), attributes={"lang": "en"}
    )
    fake.vector_stores.ingestion_reads = 3
    slow = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("b.md", b"B"))

    assert time.monotonic() - started < 1.0
    assert isinstance(attached, VectorStoreFile)
    assert (attached.status, attached.usage_bytes, attached.vector_store_id) == ("completed", 12, store.id)
    assert attached.attributes == {"lang": "en"}
    assert attached.chunking_strategy is not None
    assert attached.chunking_strategy.type == "static"
    assert slow.status == "completed"
    polls = fake.resource_requests_to("GET", f"/v1/vector_stores/{store.id}/files/")
    assert [p.path.rsplit("/", 1)[1] for p in polls] == [attached.id, slow.id, slow.id, slow.id]
    assert polls[0].headers["x-stainless-poll-helper"] == "true"
    files = client.vector_stores.files.list(store.id, filter="completed")
    assert [f.id for f in files] == [slow.id, attached.id]
    gone = client.vector_stores.files.delete(attached.id, vector_store_id=store.id)
    assert (gone.deleted, gone.object) == (True, "vector_store.file.deleted")
    assert client.files.retrieve(attached.id).id == attached.id


def test_immediate_ingestion_and_failures(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.vector_stores.ingestion_reads = 0
    good = client.files.create(file=("ok.txt", b"fine"), purpose="assistants")
    broken = client.files.create(file=("bad.pdf", b"%PDF"), purpose="assistants")
    fake.vector_stores.fail(broken.id)
    store = client.vector_stores.create(name="s")

    added = client.vector_stores.files.create(store.id, file_id=good.id)
    failed = client.vector_stores.files.create(store.id, file_id=broken.id)
    unknown = client.vector_stores.files.create(store.id, file_id="file-unknown")

    assert added.status == "completed"
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.code == "unsupported_file"
    assert unknown.status == "failed"
    assert unknown.last_error is not None
    assert unknown.last_error.code == "invalid_file"
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.failed, counts.in_progress, counts.total) == (1, 2, 0, 3)
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="failed", order="asc")] == [
        broken.id, "file-unknown"
    ]


def test_file_batches(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="s")
    one = client.files.create(file=("1.txt", b"one"), purpose="assistants")
    two = client.files.create(file=("2.txt", b"two"), purpose="assistants")

    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=[one.id, two.id])
    uploaded = client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("3.txt", b"three"), ("4.txt", b"four")], file_ids=[one.id]
    )
    fake.vector_stores.ingestion_reads = 5
    pending = client.vector_stores.file_batches.create(store.id, files=[{"file_id": two.id, "attributes": {"x": 1}}])
    cancelled = client.vector_stores.file_batches.cancel(pending.id, vector_store_id=store.id)

    assert isinstance(batch, VectorStoreFileBatch)
    assert batch.id.startswith("vsfb_")
    assert (batch.status, batch.file_counts.completed, batch.file_counts.total) == ("completed", 2, 2)
    assert (uploaded.status, uploaded.file_counts.completed) == ("completed", 3)
    assert len(fake.resource_requests_to("GET", f"/v1/vector_stores/{store.id}/file_batches/")) == 2
    assert pending.status == "in_progress"
    assert (cancelled.status, cancelled.file_counts.cancelled) == ("cancelled", 1)
    listed = client.vector_stores.file_batches.list_files(uploaded.id, vector_store_id=store.id, order="asc")
    assert len(listed.data) == 3
    assert one.id in [f.id for f in listed.data]
    pending_files = client.vector_stores.file_batches.list_files(pending.id, vector_store_id=store.id)
    assert [f.attributes for f in pending_files] == [{"x": 1}]
    assert fake.vector_stores.file_ids(store.id)[-1] == two.id


def test_models_list_and_retrieve(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    models = list(client.models.list())
    fake.files.model_ids.append("my-deployment")

    assert all(isinstance(model, Model) and model.object == "model" for model in models)
    assert {"gpt-4o-mini", "gpt-4.1-mini", "o4-mini", "gpt-5-mini"} <= {model.id for model in models}
    assert client.models.retrieve("o4-mini").owned_by == "system"
    assert client.models.retrieve("my-deployment").id == "my-deployment"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("not-a-model")
    assert missing.value.code == "model_not_found"


def test_container_file_content(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.add_container_file("cntr_1", "cfile_1", b"\x89PNG data", "plot.png", "image/png")

    content = client.containers.files.content.retrieve("cfile_1", container_id="cntr_1")
    info = client.containers.files.retrieve("cfile_1", container_id="cntr_1")

    assert content.content == b"\x89PNG data"
    assert (info.path, info.bytes, info.container_id) == ("/mnt/data/plot.png", 9, "cntr_1")
    with pytest.raises(openai.NotFoundError):
        client.containers.files.content.retrieve("cfile_2", container_id="cntr_1")
    assert fake.resource_requests[0].path == "/v1/containers/cntr_1/files/cfile_1/content"


def test_streamed_file_search_with_results_and_citations(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    results = [search_result("file-a", "a.txt", "Alpha text", 0.8, {"k": "v"}), search_result("file-b", "b.txt", "B")]
    fake.reply_file_search("Found it.", results=results, queries=["alpha"])
    fake.reply_file_search("Again.", results=results)
    tools: list[ToolParam] = [{"type": "file_search", "vector_store_ids": ["vs_1"]}]

    events = list(client.responses.create(
        model=MODEL, input="Find", tools=tools, include=["file_search_call.results"], stream=True
    ))
    plain = client.responses.create(model=MODEL, input="Find", tools=tools)

    types = [str(getattr(event, "type", "")) for event in events]
    assert types[2:7] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert [type(event) for event in events[3:6]] == [
        ResponseFileSearchCallInProgressEvent,
        ResponseFileSearchCallSearchingEvent,
        ResponseFileSearchCallCompletedEvent,
    ]
    assert {getattr(event, "item_id", None) for event in events[3:6]} == {call_id(events[2])}
    assert types[-1] == "response.completed"
    added = [event for event in events if isinstance(event, ResponseOutputTextAnnotationAddedEvent)]
    assert [getattr(event.annotation, "file_id", None) for event in added] == ["file-a", "file-b"]
    final = events[-1]
    assert isinstance(final, ResponseCompletedEvent)
    call, message = final.response.output
    assert isinstance(call, ResponseFileSearchToolCall)
    assert (call.status, call.queries) == ("completed", ["alpha"])
    assert call.results is not None
    assert [(r.file_id, r.filename, r.score, r.text, r.attributes) for r in call.results] == [
        ("file-a", "a.txt", 0.8, "Alpha text", {"k": "v"}),
        ("file-b", "b.txt", 0.9, "B", {}),
    ]
    assert isinstance(message, ResponseOutputMessage)
    assert isinstance(message.content[0], ResponseOutputText)
    assert [(a.type, getattr(a, "file_id", None)) for a in message.content[0].annotations] == [
        ("file_citation", "file-a"),
        ("file_citation", "file-b"),
    ]
    assert final.response.output_text == "Found it."
    assert plain.output[0].type == "file_search_call"
    assert plain.output[0].results is None
    assert fake.requests[0]["tools"][0]["vector_store_ids"] == ["vs_1"]


def test_file_search_results_come_from_the_requested_vector_stores(
    fake: FakeResponsesServer, client: openai.OpenAI
) -> None:
    fake.vector_stores.ingestion_reads = 0
    store = client.vector_stores.create(name="s")
    doc = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("doc.txt", b"The answer is 42."))
    client.vector_stores.files.upload_and_poll(vector_store_id=client.vector_stores.create().id, file=("x.txt", b"x"))
    fake.reply_file_search("It is 42.")

    with client.responses.stream(
        model=MODEL, input="What?", tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        include=["file_search_call.results"],
    ) as stream:
        final = stream.get_final_response()

    call = final.output[0]
    assert isinstance(call, ResponseFileSearchToolCall)
    assert call.results is not None
    assert [(r.file_id, r.filename, r.text) for r in call.results] == [(doc.id, "doc.txt", "The answer is 42.")]
    message = final.output[1]
    assert isinstance(message, ResponseOutputMessage)
    assert isinstance(message.content[0], ResponseOutputText)
    assert [getattr(a, "file_id", None) for a in message.content[0].annotations] == [doc.id]


def test_streamed_code_interpreter_with_outputs_and_container_file(
    fake: FakeResponsesServer, client: openai.OpenAI
) -> None:
    reply = fake.reply_code_interpreter(
        "Here is the plot.", code="import matplotlib\nplot()", logs="done\n", images=["https://example.test/p.png"],
        container_id="cntr_abc", files=[("cfile_1", "plot.png", b"PNG")],
    )
    fake.reply_code_interpreter("Two.", code="1 + 1", logs="2")
    tools: list[ToolParam] = [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-x"]}}]

    events = list(client.responses.create(
        model=MODEL, input="Plot", tools=tools, include=["code_interpreter_call.outputs"], stream=True
    ))
    plain = client.responses.create(model=MODEL, input="Sum", tools=tools)

    types = [str(getattr(event, "type", "")) for event in events]
    first = types.index("response.code_interpreter_call.in_progress")
    assert types[first - 1] == "response.output_item.added"
    assert isinstance(events[first], ResponseCodeInterpreterCallInProgressEvent)
    assert any(isinstance(event, ResponseCodeInterpreterCallInterpretingEvent) for event in events)
    assert any(isinstance(event, ResponseCodeInterpreterCallCompletedEvent) for event in events)
    deltas = [event for event in events if isinstance(event, ResponseCodeInterpreterCallCodeDeltaEvent)]
    assert "".join(event.delta for event in deltas) == "import matplotlib\nplot()"
    done = next(event for event in events if isinstance(event, ResponseCodeInterpreterCallCodeDoneEvent))
    assert done.code == "import matplotlib\nplot()"
    assert types[types.index("response.code_interpreter_call_code.done") + 1 :][:3] == [
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]
    final = events[-1]
    assert isinstance(final, ResponseCompletedEvent)
    call = final.response.output[0]
    assert isinstance(call, ResponseCodeInterpreterToolCall)
    assert (call.container_id, call.status, call.id) == ("cntr_abc", "completed", reply.item_ids[0])
    assert call.outputs is not None
    assert [output.type for output in call.outputs] == ["logs", "image"]
    message = final.response.output[1]
    assert isinstance(message, ResponseOutputMessage)
    assert isinstance(message.content[0], ResponseOutputText)
    annotation = message.content[0].annotations[0]
    assert annotation.type == "container_file_citation"
    assert (annotation.container_id, annotation.file_id, annotation.filename) == ("cntr_abc", "cfile_1", "plot.png")
    assert client.containers.files.content.retrieve("cfile_1", container_id="cntr_abc").content == b"PNG"
    plain_call = plain.output[0]
    assert isinstance(plain_call, ResponseCodeInterpreterToolCall)
    assert (plain_call.code, plain_call.outputs) == ("1 + 1", None)
    assert plain.output_text == "Two."


def call_id(event: object) -> str | None:
    item = getattr(event, "item", None)
    return getattr(item, "id", None)


def test_tool_replies_work_with_stream_events_directly() -> None:
    events, _ = stream_events(code_interpreter_reply("ok", logs=None), {"model": MODEL, "stream": True}, 0.0)

    assert events[-1]["response"]["output"][0]["outputs"] == []  # the stored item: `include` is applied over HTTP
    assert [event["type"] for event in events[3:7]] == [
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.delta",
    ]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
