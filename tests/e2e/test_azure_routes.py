"""Azure OpenAI-style clients, built the way the Azure docs show them, through the whole Assistants flow: the
`/openai/...` family (`AzureOpenAI(azure_endpoint=...)`, api-version required) and `/openai/v1/...`
(`OpenAI(base_url=URL + "/openai/v1")`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import AssistantEventHandler

from tests.e2e.conftest import Service
from tests.fake_responses import FakeResponsesServer


def _root(service: Service) -> str:
    return service.base_url.removesuffix("/v1")


@pytest.fixture(params=["azure_endpoint", "openai_v1"])
def azure_client(request: pytest.FixtureRequest, service: Service) -> Iterator[openai.OpenAI]:
    if request.param == "azure_endpoint":
        client: openai.OpenAI = openai.AzureOpenAI(azure_endpoint=_root(service), api_key=service.api_key,
                                                   api_version="2024-05-01-preview", max_retries=0, timeout=10)
    else:
        client = openai.OpenAI(base_url=f"{_root(service)}/openai/v1", api_key=service.api_key, max_retries=0,
                               timeout=10)
    with client:
        yield client


def test_the_assistants_flow_polled_streamed_and_with_tools(azure_client: openai.OpenAI,
                                                            fake: FakeResponsesServer) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    assistant = azure_client.beta.assistants.create(model="gpt-4o-mini", tools=[tool])  # type: ignore[list-item]
    thread = azure_client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])

    fake.reply_text("Polled answer")
    run = azure_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                         poll_interval_ms=50)
    assert run.status == "completed"

    fake.reply_text("Streamed answer")
    texts: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_done(self, text: openai.types.beta.threads.Text) -> None:
            texts.append(text.value)

    with azure_client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id,
                                               event_handler=Handler()) as stream:
        stream.until_done()
    assert texts == ["Streamed answer"]

    fake.reply_function_calls([("get_weather", '{"city":"Paris"}')])
    fake.reply_text("Sunny")
    run = azure_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                         poll_interval_ms=50)
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = azure_client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "22C"}],
        poll_interval_ms=50)
    assert run.status == "completed"
    answers = [message.content[0].text.value  # type: ignore[union-attr]
               for message in azure_client.beta.threads.messages.list(thread.id, order="asc", limit=2, after=None)
               if message.role == "assistant"]
    assert answers[0] == "Polled answer"
    assert [m.id for m in azure_client.beta.threads.messages.list(thread.id, limit=2)] != []  # auto-pagination works


def test_objects_are_shared_across_families_for_one_key(service: Service, client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o-mini", name="one store, three doors")
    azure = openai.AzureOpenAI(azure_endpoint=_root(service), api_key=service.api_key,
                               api_version="2025-04-01-preview", max_retries=0)
    assert azure.beta.assistants.retrieve(created.id).name == "one store, three doors"


@pytest.mark.parametrize(("query", "status", "code"), [
    ("", 400, "MissingApiVersionParameter"),
    ("?api-version=2024-02-15-preview", 404, "404"),
    ("?api-version=latest", 404, "404"),
    ("?api-version=2024-13-45", 404, "404"),
])
def test_the_azure_family_checks_the_api_version(service: Service, query: str, status: int, code: str) -> None:
    response = httpx.get(f"{_root(service)}/openai/assistants{query}", headers={"api-key": service.api_key})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"message", "type", "param", "code"}


def test_the_v1_families_need_no_api_version(service: Service) -> None:
    for prefix in ("/v1", "/openai/v1"):
        response = httpx.get(f"{_root(service)}{prefix}/assistants", headers={"api-key": service.api_key})
        assert response.status_code == 200, prefix


def test_files_and_vector_stores_through_both_azure_families(azure_client: openai.OpenAI,
                                                             fake: FakeResponsesServer) -> None:
    """What an Azure OpenAI file_search app does first: upload, index, search over it (issue 9)."""
    data = b"The warranty lasts two years."
    uploaded = azure_client.files.create(file=("warranty.txt", data), purpose="assistants")
    assert azure_client.files.content(uploaded.id).read() == data
    store = azure_client.vector_stores.create(name="docs")
    batch = azure_client.vector_stores.file_batches.create_and_poll(store.id, file_ids=[uploaded.id],
                                                                    poll_interval_ms=10)
    assert batch.status == "completed" and batch.file_counts.completed == 1
    assistant = azure_client.beta.assistants.create(
        model="gpt-4o-mini", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    thread = azure_client.beta.threads.create(messages=[{"role": "user", "content": "How long is the warranty?"}])
    fake.reply_file_search("Two years.")
    run = azure_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                         poll_interval_ms=50)
    assert run.status == "completed"
    [reply] = azure_client.beta.threads.messages.list(thread.id, run_id=run.id).data
    cited = [annotation.file_citation.file_id for part in reply.content if part.type == "text"  # type: ignore[union-attr]
             for annotation in part.text.annotations if annotation.type == "file_citation"]
    assert cited and set(cited) == {uploaded.id}
    assert [model.id for model in azure_client.models.list()]
    azure_client.vector_stores.delete(store.id)
    assert azure_client.files.delete(uploaded.id).deleted
