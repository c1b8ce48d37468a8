"""Tenant isolation of files and vector stores (issue 9): every upstream object is made with the service's own
credentials, so the service's ownership records alone keep tenants apart. Another tenant's file or vector store id
is 404 on every route, refused with a 400 naming the field wherever a request references it, and absent from every
list; nothing refused reaches the upstream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.e2e.wire import upload
from tests.fake_responses import FakeResponsesServer
from tests.fake_upstream_http import new_object_id


@dataclass(frozen=True)
class AliceOwns:
    file_id: str
    image_id: str
    store_id: str
    batch_id: str
    output_id: str  # a code interpreter output cited in one of her runs


@pytest.fixture
def alice(client: openai.OpenAI, fake: FakeResponsesServer) -> AliceOwns:
    file_id = upload(client, b"Alice's secret notes.", "secret.txt").id
    image_id = upload(client, b"\x89PNG\r\n\x1a\n", "face.png", purpose="vision").id
    store = client.vector_stores.create(name="Alice's", file_ids=[file_id])
    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=[file_id], poll_interval_ms=5)
    output_id = new_object_id("cfile_", 32)
    fake.reply_code_interpreter("See out.txt", files=[(output_id, "out.txt", b"Alice's output")])
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "code_interpreter"}])
    run = client.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=50,
                                                  thread={"messages": [{"role": "user", "content": "Go"}]})
    assert run.status == "completed"
    assert client.files.content(output_id).content == b"Alice's output"
    return AliceOwns(file_id, image_id, store.id, batch.id, output_id)


def test_another_tenants_ids_are_404_on_every_route(other_client: openai.OpenAI, alice: AliceOwns,
                                                    fake: FakeResponsesServer) -> None:
    bob = other_client
    before = len(fake.resource_requests)
    file_id, store_id, batch_id = alice.file_id, alice.store_id, alice.batch_id
    attempts: dict[str, Callable[[], Any]] = {
        "files.retrieve": lambda: bob.files.retrieve(file_id),
        "files.content": lambda: bob.files.content(file_id),
        "files.delete": lambda: bob.files.delete(file_id),
        "output.retrieve": lambda: bob.files.retrieve(alice.output_id),
        "output.content": lambda: bob.files.content(alice.output_id),
        "output.delete": lambda: bob.files.delete(alice.output_id),
        "vector_stores.retrieve": lambda: bob.vector_stores.retrieve(store_id),
        "vector_stores.update": lambda: bob.vector_stores.update(store_id, name="mine now"),
        "vector_stores.delete": lambda: bob.vector_stores.delete(store_id),
        "vector_stores.search": lambda: bob.vector_stores.search(store_id, query="secret"),
        "files.create": lambda: bob.vector_stores.files.create(store_id, file_id=file_id),
        "files.list": lambda: bob.vector_stores.files.list(store_id),
        "files.retrieve_in_store": lambda: bob.vector_stores.files.retrieve(file_id, vector_store_id=store_id),
        "files.update": lambda: bob.vector_stores.files.update(file_id, vector_store_id=store_id, attributes={}),
        "files.delete_in_store": lambda: bob.vector_stores.files.delete(file_id, vector_store_id=store_id),
        "files.content_in_store": lambda: bob.vector_stores.files.content(file_id, vector_store_id=store_id),
        "file_batches.create": lambda: bob.vector_stores.file_batches.create(store_id, file_ids=[file_id]),
        "file_batches.retrieve": lambda: bob.vector_stores.file_batches.retrieve(batch_id, vector_store_id=store_id),
        "file_batches.cancel": lambda: bob.vector_stores.file_batches.cancel(batch_id, vector_store_id=store_id),
        "file_batches.list_files": lambda: bob.vector_stores.file_batches.list_files(batch_id,
                                                                                     vector_store_id=store_id),
    }
    for name, attempt in attempts.items():
        with pytest.raises(openai.NotFoundError) as refused:
            attempt()
        body = refused.value.body
        assert isinstance(body, dict) and body["type"] == "invalid_request_error", name
        assert "Alice" not in str(body), name
    assert fake.resource_requests[before:] == []  # none of it reached the upstream
    assert fake.files.get(file_id) is not None and fake.vector_stores.get(store_id) is not None


def test_the_same_missing_answer_as_an_unknown_id(other_client: openai.OpenAI, alice: AliceOwns) -> None:
    """Bob cannot tell Alice's ids from ids that exist nowhere."""
    def message(attempt: Callable[[], Any]) -> str:
        with pytest.raises(openai.NotFoundError) as refused:
            attempt()
        return str(refused.value.body["message"]).replace(alice.file_id, "ID").replace(alice.store_id, "ID")  # type: ignore[index]

    unknown_file, unknown_store = "file-" + "x" * 22, "vs_" + "x" * 32
    assert message(lambda: other_client.files.retrieve(alice.file_id)) == message(
        lambda: other_client.files.retrieve(unknown_file)).replace(unknown_file, "ID")
    assert message(lambda: other_client.vector_stores.retrieve(alice.store_id)) == message(
        lambda: other_client.vector_stores.retrieve(unknown_store)).replace(unknown_store, "ID")


def test_lists_show_only_the_tenants_own(client: openai.OpenAI, other_client: openai.OpenAI,
                                        alice: AliceOwns) -> None:
    bobs = upload(other_client, b"Bob's", "bob.txt").id
    bobs_store = other_client.vector_stores.create(name="Bob's", file_ids=[bobs]).id
    bob_files = {f.id for f in other_client.files.list()}
    assert bobs in bob_files and not bob_files & {alice.file_id, alice.image_id, alice.output_id}
    assert alice.image_id not in {f.id for f in other_client.files.list(purpose="vision")}
    bob_stores = {s.id for s in other_client.vector_stores.list()}
    assert bobs_store in bob_stores and alice.store_id not in bob_stores
    alice_files = {f.id for f in client.files.list()}
    assert {alice.file_id, alice.image_id} <= alice_files and bobs not in alice_files
    assert bobs_store not in {s.id for s in client.vector_stores.list()}
    with pytest.raises(openai.BadRequestError):  # her id is no cursor in his list
        other_client.files.list(after=alice.file_id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(bobs)


# ------------------------------------------------------------------------------------------ referenced by Bob

def _refused(attempt: Callable[[], Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        attempt()
    assert refused.value.body["param"] == param, refused.value.body  # type: ignore[index]
    assert refused.value.body["code"] == "invalid_value"  # type: ignore[index]


def test_references_to_another_tenants_ids_are_400(other_client: openai.OpenAI, alice: AliceOwns,
                                                   fake: FakeResponsesServer) -> None:
    bob = other_client
    file_id, image_id, store_id = alice.file_id, alice.image_id, alice.store_id
    search_attachment = [{"file_id": file_id, "tools": [{"type": "file_search"}]}]
    code_attachment = [{"file_id": file_id, "tools": [{"type": "code_interpreter"}]}]
    image = [{"type": "image_file", "image_file": {"file_id": image_id}}]
    code_files = {"code_interpreter": {"file_ids": [file_id]}}
    stores = {"file_search": {"vector_store_ids": [store_id]}}
    helper = {"file_search": {"vector_stores": [{"file_ids": [file_id]}]}}
    bobs_assistant = bob.beta.assistants.create(model="gpt-4o-mini",
                                                tools=[{"type": "file_search"}, {"type": "code_interpreter"}])
    bobs_thread = bob.beta.threads.create()
    bobs_store = bob.vector_stores.create(name="Bob's")
    before_requests, before_resources = len(fake.requests), len(fake.resource_requests)
    beta = bob.beta

    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: beta.threads.messages.create(bobs_thread.id, role="user", content="x", attachments=search_attachment),
         "attachments[0].file_id"),
        (lambda: beta.threads.messages.create(bobs_thread.id, role="user", content="x", attachments=code_attachment),
         "attachments[0].file_id"),
        (lambda: beta.threads.messages.create(bobs_thread.id, role="user", content=image),  # type: ignore[arg-type]
         "content[0].image_file.file_id"),
        (lambda: beta.assistants.create(model="gpt-4o-mini", tool_resources=code_files),
         "tool_resources.code_interpreter.file_ids"),
        (lambda: beta.assistants.create(model="gpt-4o-mini", tool_resources=stores),
         "tool_resources.file_search.vector_store_ids"),
        (lambda: beta.assistants.create(model="gpt-4o-mini", tool_resources=helper),
         "tool_resources.file_search.vector_stores[0].file_ids"),
        (lambda: beta.assistants.update(bobs_assistant.id, tool_resources=code_files),
         "tool_resources.code_interpreter.file_ids"),
        (lambda: beta.assistants.update(bobs_assistant.id, tool_resources=stores),
         "tool_resources.file_search.vector_store_ids"),
        (lambda: beta.threads.create(tool_resources=code_files), "tool_resources.code_interpreter.file_ids"),
        (lambda: beta.threads.create(tool_resources=stores), "tool_resources.file_search.vector_store_ids"),
        (lambda: beta.threads.create(tool_resources=helper), "tool_resources.file_search.vector_stores[0].file_ids"),
        (lambda: beta.threads.create(messages=[{"role": "user", "content": "x", "attachments": search_attachment}]),
         "messages[0].attachments[0].file_id"),
        (lambda: beta.threads.create(messages=[{"role": "user", "content": image}]),  # type: ignore[list-item]
         "messages[0].content[0].image_file.file_id"),
        (lambda: beta.threads.update(bobs_thread.id, tool_resources=code_files),
         "tool_resources.code_interpreter.file_ids"),
        (lambda: beta.threads.update(bobs_thread.id, tool_resources=stores),
         "tool_resources.file_search.vector_store_ids"),
        (lambda: bob.vector_stores.create(name="x", file_ids=[file_id]), "file_ids"),
        (lambda: bob.vector_stores.files.create(bobs_store.id, file_id=file_id), "file_id"),
        (lambda: bob.vector_stores.file_batches.create(bobs_store.id, file_ids=[file_id]), "file_ids"),
        (lambda: bob.vector_stores.file_batches.create(bobs_store.id, files=[{"file_id": file_id}]),
         "files[0].file_id"),
        (lambda: beta.threads.runs.create(bobs_thread.id, assistant_id=bobs_assistant.id, additional_messages=[
            {"role": "user", "content": "x", "attachments": code_attachment}]),
         "additional_messages[0].attachments[0].file_id"),
        (lambda: beta.threads.runs.create(bobs_thread.id, assistant_id=bobs_assistant.id, additional_messages=[
            {"role": "user", "content": image}]),  # type: ignore[list-item]
         "additional_messages[0].content[0].image_file.file_id"),
        (lambda: beta.threads.create_and_run(assistant_id=bobs_assistant.id, thread={"messages": [
            {"role": "user", "content": "x", "attachments": search_attachment}]}),
         "thread.messages[0].attachments[0].file_id"),
        (lambda: beta.threads.create_and_run(assistant_id=bobs_assistant.id, thread={"tool_resources": stores}),
         "thread.tool_resources.file_search.vector_store_ids"),
        (lambda: beta.threads.create_and_run(assistant_id=bobs_assistant.id, thread={"tool_resources": helper}),
         "thread.tool_resources.file_search.vector_stores[0].file_ids"),
        (lambda: beta.threads.create_and_run(assistant_id=bobs_assistant.id, tool_resources=code_files),
         "tool_resources.code_interpreter.file_ids"),
    ]
    for attempt, param in cases:
        _refused(attempt, param)

    assert fake.requests[before_requests:] == []  # no run started
    assert fake.resource_requests[before_resources:] == []  # no store made, no file added
    assert bob.beta.threads.messages.list(bobs_thread.id).data == []
    assert bob.beta.threads.retrieve(bobs_thread.id).tool_resources == bobs_thread.tool_resources
    assert bob.beta.assistants.retrieve(bobs_assistant.id).tool_resources == bobs_assistant.tool_resources
    assert bob.vector_stores.files.list(bobs_store.id).data == []


def test_a_container_output_is_not_a_reference(other_client: openai.OpenAI, client: openai.OpenAI,
                                               alice: AliceOwns) -> None:
    """Alice may fetch her code interpreter output; nobody may attach it as if it were an uploaded file."""
    thread = client.beta.threads.create()
    _refused(lambda: client.beta.threads.messages.create(thread.id, role="user", content="x", attachments=[
        {"file_id": alice.output_id, "tools": [{"type": "code_interpreter"}]}]), "attachments[0].file_id")
    bobs = other_client.beta.threads.create()
    _refused(lambda: other_client.beta.threads.messages.create(bobs.id, role="user", content="x", attachments=[
        {"file_id": alice.output_id, "tools": [{"type": "code_interpreter"}]}]), "attachments[0].file_id")
