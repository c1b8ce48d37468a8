"""Runs with ``file_search`` and ``code_interpreter`` over files uploaded through the service (issue 9), real SDK.

- An assistant searching a vector store: the upstream request offers ``file_search`` over it, the answer cites the
  uploaded files, and run steps carry result content only under ``include[]``.
- Message attachments, from every way a message is made (``messages.create``, ``threads.create(messages=…)``,
  ``additional_messages``, ``create_and_run``): ``file_search`` ones go into the thread's vector store, which the run
  waits to be ingested; ``code_interpreter`` ones reach the container's ``file_ids``.
- The inline ``vector_stores`` helper of ``tool_resources`` creates a store at creation, and is refused on update.
- A code interpreter file cited in a reply is a ``file_path`` whose id ``files.content`` serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.threads import Message, Run

from tests.e2e.wire import upload
from tests.fake_responses import FakeResponsesServer
from tests.fake_upstream_http import new_object_id

INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 50}}
WARRANTY = b"The warranty lasts two years from the date of purchase."
RETURNS = b"Returns are accepted within 30 days."


def _poll(client: openai.OpenAI, thread_id: str, assistant_id: str, **options: Any) -> Run:
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                   poll_interval_ms=50, **options)
    assert run.status == "completed", run.last_error
    return run


def _reply(client: openai.OpenAI, thread_id: str) -> Message:
    return client.beta.threads.messages.list(thread_id, limit=1).data[0]


def _annotations(message: Message) -> list[Any]:
    return [annotation for part in message.content if part.type == "text" for annotation in part.text.annotations]


def _tool(request: dict[str, Any], kind: str) -> dict[str, Any]:
    [tool] = [tool for tool in request.get("tools") or [] if tool["type"] == kind]
    return tool


def _store_with(client: openai.OpenAI, *files: tuple[str, bytes]) -> tuple[str, list[str]]:
    ids = [upload(client, data, name).id for name, data in files]
    store = client.vector_stores.create(name="Knowledge")
    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=ids, poll_interval_ms=5)
    assert batch.status == "completed"
    return store.id, ids


# ---------------------------------------------------------------------------------- an assistant with a store


def test_assistant_searches_its_vector_store(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    store_id, file_ids = _store_with(client, ("warranty.txt", WARRANTY), ("returns.txt", RETURNS))
    assistant = client.beta.assistants.create(
        model="gpt-4o-mini", tools=[{"type": "file_search", "file_search": {"max_num_results": 4}}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    assert assistant.tool_resources.file_search.vector_store_ids == [store_id]  # type: ignore[union-attr]
    fake.reply_file_search("The warranty lasts two years.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "How long is the warranty?"}])
    run = _poll(client, thread.id, assistant.id)

    request = fake.last_request
    assert _tool(request, "file_search") == {"type": "file_search", "vector_store_ids": [store_id],
                                             "max_num_results": 4}
    assert "file_search_call.results" in request["include"]
    cited = [a.file_citation.file_id for a in _annotations(_reply(client, thread.id)) if a.type == "file_citation"]
    assert sorted(cited) == sorted(file_ids)

    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    [call] = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "file_search"
    results = call.file_search.results  # type: ignore[union-attr]
    assert results and {r.file_id for r in results} == set(file_ids)
    assert {r.file_name for r in results} == {"warranty.txt", "returns.txt"}
    assert all(r.content is None for r in results)  # content only when asked for

    included = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc",
                                                   include=[INCLUDE_CONTENT]).data
    texts = {r.file_id: r.content[0].text for r in included[0].step_details.tool_calls[0].file_search.results}  # type: ignore[union-attr, index]
    assert texts == dict(zip(file_ids, [WARRANTY.decode(), RETURNS.decode()], strict=True))
    one = client.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id,
                                                  include=[INCLUDE_CONTENT])
    assert one.step_details.tool_calls[0].file_search.results[0].content  # type: ignore[union-attr, index]
    plain = client.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id)
    assert plain.step_details.tool_calls[0].file_search.results[0].content is None  # type: ignore[union-attr, index]


def test_file_search_without_a_store_is_not_offered(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    _poll(client, thread.id, assistant.id)
    assert not [tool for tool in fake.last_request.get("tools") or [] if tool["type"] == "file_search"]


# ------------------------------------------------------------------------------- attachments, from every path

def _attachments(search_file: str, code_file: str) -> list[dict[str, Any]]:
    return [{"file_id": search_file, "tools": [{"type": "file_search"}]},
            {"file_id": code_file, "tools": [{"type": "code_interpreter"}]}]


def _by_messages_create(client: openai.OpenAI, assistant_id: str, attachments: list[Any]) -> tuple[str, Run]:
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="What does it say?", attachments=attachments)
    return thread.id, _poll(client, thread.id, assistant_id)


def _by_threads_create(client: openai.OpenAI, assistant_id: str, attachments: list[Any]) -> tuple[str, Run]:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What does it say?", "attachments": attachments}])
    return thread.id, _poll(client, thread.id, assistant_id)


def _by_additional_messages(client: openai.OpenAI, assistant_id: str, attachments: list[Any]) -> tuple[str, Run]:
    thread = client.beta.threads.create()
    run = _poll(client, thread.id, assistant_id, additional_messages=[
        {"role": "user", "content": "What does it say?", "attachments": attachments}])
    return thread.id, run


def _by_create_and_run(client: openai.OpenAI, assistant_id: str, attachments: list[Any]) -> tuple[str, Run]:
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id, poll_interval_ms=50,
        thread={"messages": [{"role": "user", "content": "What does it say?", "attachments": attachments}]})
    assert run.status == "completed", run.last_error
    return run.thread_id, run


PATHS: dict[str, Callable[[openai.OpenAI, str, list[Any]], tuple[str, Run]]] = {
    "messages.create": _by_messages_create,
    "threads.create": _by_threads_create,
    "additional_messages": _by_additional_messages,
    "create_and_run": _by_create_and_run,
}


@pytest.mark.parametrize("path", list(PATHS))
def test_attachments_reach_their_tools(client: openai.OpenAI, fake: FakeResponsesServer, path: str) -> None:
    fake.vector_stores.ingestion_reads = 3  # the run must wait: files are searchable on the third read
    search_file = upload(client, WARRANTY, "warranty.txt").id
    code_file = upload(client, b"x,y\n1,2\n", "data.csv").id
    assistant = client.beta.assistants.create(model="gpt-4o-mini",
                                              tools=[{"type": "file_search"}, {"type": "code_interpreter"}])
    fake.reply_file_search("Two years.")
    thread_id, run = PATHS[path](client, assistant.id, _attachments(search_file, code_file))

    thread = client.beta.threads.retrieve(thread_id)
    [store_id] = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert fake.vector_stores.file_ids(store_id) == [search_file]
    request = fake.last_request
    assert _tool(request, "file_search")["vector_store_ids"] == [store_id]
    assert _tool(request, "code_interpreter")["container"] == {"type": "auto", "file_ids": [code_file]}
    assert fake.vector_stores.get(store_id)["file_counts"]["completed"] == 1  # type: ignore[index]
    cited = [a.file_citation.file_id for a in _annotations(_reply(client, thread_id)) if a.type == "file_citation"]
    assert cited == [search_file]  # found only because the run waited for ingestion
    assert store_id in [s.id for s in client.vector_stores.list()]  # the thread's store is the tenant's
    assert run.tools and {t.type for t in run.tools} == {"file_search", "code_interpreter"}

    fake.vector_stores.ingestion_reads = 1
    later = upload(client, RETURNS, "returns.txt").id  # a later attachment joins the same store
    client.beta.threads.messages.create(thread_id, role="user", content="And returns?",
                                        attachments=[{"file_id": later, "tools": [{"type": "file_search"}]}])
    assert client.beta.threads.retrieve(thread_id).tool_resources.file_search.vector_store_ids == [store_id]  # type: ignore[union-attr]
    assert set(fake.vector_stores.file_ids(store_id)) == {search_file, later}
    fake.reply_file_search("Thirty days.")
    _poll(client, thread_id, assistant.id)
    assert _tool(fake.last_request, "code_interpreter")["container"]["file_ids"] == [code_file]  # still there


def test_code_interpreter_files_of_assistant_thread_and_messages_join(client: openai.OpenAI,
                                                                      fake: FakeResponsesServer) -> None:
    own, shared, attached = (upload(client, name.encode(), f"{name}.csv").id for name in ("own", "shared", "att"))
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "code_interpreter"}],
                                              tool_resources={"code_interpreter": {"file_ids": [own]}})
    thread = client.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [shared]}},
        messages=[{"role": "user", "content": "Plot it",
                   "attachments": [{"file_id": attached, "tools": [{"type": "code_interpreter"}]}]}])
    _poll(client, thread.id, assistant.id)
    assert set(_tool(fake.last_request, "code_interpreter")["container"]["file_ids"]) == {own, shared, attached}


# ------------------------------------------------------------------------------------- the inline helper

def test_inline_vector_stores_helper(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    first, second = upload(client, WARRANTY, "w.txt").id, upload(client, RETURNS, "r.txt").id
    helper = {"file_ids": [first], "chunking_strategy": STATIC, "metadata": {"made": "inline"}}
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "file_search"}],
                                              tool_resources={"file_search": {"vector_stores": [helper]}})
    [assistant_store] = assistant.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert client.beta.assistants.retrieve(assistant.id).tool_resources == assistant.tool_resources
    thread = client.beta.threads.create(tool_resources={"file_search": {"vector_stores": [
        {"file_ids": [second], "metadata": {"made": "thread"}}]}})
    [thread_store] = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert assistant_store != thread_store

    created = {r.body.get("metadata", {}).get("made"): r.body for r in fake.resource_requests_to("POST",
                                                                                                  "/v1/vector_stores")}
    assert created["inline"]["file_ids"] == [first] and created["inline"]["chunking_strategy"] == STATIC
    assert created["thread"]["file_ids"] == [second]
    listed = {s.id: s for s in client.vector_stores.list()}
    assert listed[assistant_store].metadata == {"made": "inline"}
    assert listed[thread_store].metadata == {"made": "thread"}
    assert fake.vector_stores.file_ids(assistant_store) == [first]

    for refused in (lambda r: client.beta.assistants.update(assistant.id, tool_resources=r),
                    lambda r: client.beta.threads.update(thread.id, tool_resources=r)):
        with pytest.raises(openai.BadRequestError) as error:
            refused({"file_search": {"vector_stores": [{"file_ids": [first]}]}})
        assert error.value.body["param"] == "tool_resources.file_search.vector_stores"  # type: ignore[index]
    assert client.beta.assistants.retrieve(assistant.id).tool_resources == assistant.tool_resources

    fake.reply_file_search("Found.")
    thread_run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, poll_interval_ms=50,
        thread={"messages": [{"role": "user", "content": "?"}],
                "tool_resources": {"file_search": {"vector_stores": [{"file_ids": [second]}]}}})
    assert thread_run.status == "completed"
    [run_store] = client.beta.threads.retrieve(thread_run.thread_id).tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert run_store in [s.id for s in client.vector_stores.list()]
    assert set(_tool(fake.last_request, "file_search")["vector_store_ids"]) == {assistant_store, run_store}


def test_more_than_one_vector_store_is_400(client: openai.OpenAI) -> None:
    stores = [client.vector_stores.create(name=f"s{i}").id for i in range(2)]
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.create(model="gpt-4o-mini",
                                      tool_resources={"file_search": {"vector_store_ids": stores}})
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": stores[:1],
                                                                   "vector_stores": [{"file_ids": []}]}})


# ---------------------------------------------------------------------------------------- code interpreter

def _code_interpreter_reply(fake: FakeResponsesServer) -> tuple[str, bytes]:
    file_id, data = new_object_id("cfile_", 32), b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    fake.reply_code_interpreter("Here is chart.png for you.", code="plot()", files=[(file_id, "chart.png", data)])
    return file_id, data


def test_code_interpreter_output_is_a_served_file(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    source = upload(client, b"x,y\n1,2\n", "data.csv").id
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "code_interpreter"}],
                                              tool_resources={"code_interpreter": {"file_ids": [source]}})
    file_id, data = _code_interpreter_reply(fake)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Plot data.csv"}])
    run = _poll(client, thread.id, assistant.id)
    assert _tool(fake.last_request, "code_interpreter")["container"] == {"type": "auto", "file_ids": [source]}

    [annotation] = _annotations(_reply(client, thread.id))
    assert annotation.type == "file_path" and annotation.file_path.file_id == file_id
    assert client.files.content(file_id).content == data
    shown = client.files.retrieve(file_id)
    assert (shown.id, shown.filename, shown.bytes, shown.purpose) == (file_id, "chart.png", len(data),
                                                                      "assistants_output")
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    [call] = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and call.code_interpreter.input == "plot()"  # type: ignore[union-attr]
    assert file_id not in [f.id for f in client.files.list()]  # outputs are served, not listed


# ------------------------------------------------------------------------------------------------- streamed

class _Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.tool_calls: dict[str, Any] = {}
        self.annotations: list[Any] = []
        self.steps: list[Any] = []

    def on_run_step_done(self, run_step: Any) -> None:
        self.steps.append(run_step)

    def on_tool_call_done(self, tool_call: Any) -> None:  # the SDK repeats it at every later step's end: keyed by id
        self.tool_calls[tool_call.id] = tool_call

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.annotations += delta.annotations or []


def test_streamed_file_search_run(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    fake.vector_stores.ingestion_reads = 3
    file_id = upload(client, WARRANTY, "warranty.txt").id
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Warranty?",
                                        attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}])
    fake.reply_file_search("The warranty lasts two years.", chunks=["The warranty", " lasts two years."])
    handler = _Collector()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler,
                                         include=[INCLUDE_CONTENT]) as stream:
        stream.until_done()
        run = stream.get_final_run()
        [final] = stream.get_final_messages()
    assert run.status == "completed"
    [call] = handler.tool_calls.values()
    assert call.type == "file_search"
    [streamed] = handler.steps[0].step_details.tool_calls[0].file_search.results
    assert streamed.file_id == file_id and streamed.content[0].text == WARRANTY.decode()  # asked for with include
    assert [a.file_citation.file_id for a in handler.annotations if a.type == "file_citation"] == [file_id]
    assert [a.file_citation.file_id for a in _annotations(final)] == [file_id]
    assert _annotations(final) == _annotations(client.beta.threads.messages.retrieve(final.id, thread_id=thread.id))
    store_id = client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids[0]  # type: ignore[union-attr, index]
    assert _tool(fake.last_request, "file_search")["vector_store_ids"] == [store_id]
    stored = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc",
                                                 include=[INCLUDE_CONTENT]).data[0]
    [result] = stored.step_details.tool_calls[0].file_search.results  # type: ignore[union-attr, index]
    assert result.file_id == file_id and result.content[0].text == WARRANTY.decode()  # type: ignore[index]


def test_streamed_code_interpreter_run(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    attached = upload(client, b"1,2,3\n", "numbers.csv").id
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "code_interpreter"}])
    file_id, data = _code_interpreter_reply(fake)
    handler = _Collector()
    with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id, event_handler=handler,
            thread={"messages": [{"role": "user", "content": "Plot", "attachments": [
                {"file_id": attached, "tools": [{"type": "code_interpreter"}]}]}]}) as stream:
        stream.until_done()
        [final] = stream.get_final_messages()
    assert [call.type for call in handler.tool_calls.values()] == ["code_interpreter"]
    assert _tool(fake.last_request, "code_interpreter")["container"]["file_ids"] == [attached]
    paths = [a.file_path.file_id for a in _annotations(final) if a.type == "file_path"]
    assert paths == [file_id]
    assert client.files.content(file_id).content == data


def test_streamed_step_events_carry_content_only_when_included(client: openai.OpenAI,
                                                               fake: FakeResponsesServer) -> None:
    store_id, [file_id] = _store_with(client, ("warranty.txt", WARRANTY))
    assistant = client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "file_search"}],
                                              tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Warranty?"}])
    for include in ([], ["step_details.tool_calls[*].file_search.results[*].content"]):
        fake.reply_file_search("Two years.")
        handler = _Collector()
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, include=include,
                                             event_handler=handler) as stream:
            stream.until_done()
        [result] = handler.steps[0].step_details.tool_calls[0].file_search.results
        assert result.file_id == file_id
        assert (result.content is not None) is bool(include)
        assert (result.content[0].text if result.content else None) == (WARRANTY.decode() if include else None)
