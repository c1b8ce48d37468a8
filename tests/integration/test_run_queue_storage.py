"""Background runs through Azure Storage: the run-jobs queue on Azurite and the registered queue function."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import pytest
from azure.storage.queue import TextBase64DecodePolicy
from azure.storage.queue.aio import QueueClient

from core import bootstrap
from core.adapters.memory.store import MemoryStore
from core.adapters.storage_queue.run_queue import StorageQueueRunQueue
from core.config import RUN_QUEUE_NAME, Settings
from core.domain.pagination import ListQuery
from core.http.local_host import _functions
from tests.fake_responses import FakeResponsesServer
from tests.servers import azurite_queue


@pytest.fixture(scope="module")
def storage() -> Iterator[str]:
    with azurite_queue() as connection:
        yield connection


async def _received(connection: str) -> list[str]:
    async with QueueClient.from_connection_string(connection, RUN_QUEUE_NAME,
                                                  message_decode_policy=TextBase64DecodePolicy()) as queue:
        messages = [message async for message in queue.receive_messages(max_messages=32)]
        for message in messages:
            await queue.delete_message(message)
    return [message.content for message in messages]


def _runs_execute() -> func.FunctionBuilder:
    [function] = [f for f in _functions() if f.get_function_name() == "runs_execute"]
    return function


async def test_enqueue_sends_a_base64_json_job(storage: str) -> None:
    queue = StorageQueueRunQueue.from_settings(Settings(run_queue="storage", storage_connection=storage))
    try:
        await queue.enqueue("tenant-a", "thread_1", "run_1")
    finally:
        await queue.close()
    assert [json.loads(body) for body in await _received(storage)] == [
        {"tenant_id": "tenant-a", "thread_id": "thread_1", "run_id": "run_1"}]


def test_the_queue_function_is_registered_on_the_run_queue() -> None:
    trigger = _runs_execute().get_trigger()
    assert trigger.get_binding_name() == "queueTrigger"
    assert trigger.queue_name == RUN_QUEUE_NAME and trigger.connection == "AzureWebJobsStorage"


async def test_a_queued_run_is_executed_by_the_queue_function(storage: str) -> None:
    with FakeResponsesServer() as upstream:
        upstream.reply_text("Done in the background.")
        settings = Settings(run_queue="storage", storage_connection=storage, openai_base_url=f"{upstream.url}/v1",
                            openai_api_key="sk-fake", upstream_max_retries=0)
        container = bootstrap.build(settings, store=MemoryStore())
        bootstrap.override(container)
        try:
            assistant = await container.assistants.create("t", {"model": "gpt-4o-mini"})
            thread = await container.threads.create("t", messages=[{"role": "user", "content": "hi"}])
            run = await container.runs.create("t", thread.id, {"assistant_id": assistant.id})
            await container.run_queue.enqueue("t", thread.id, run.id)
            [body] = await _received(storage)
            handler = _runs_execute().get_user_function()
            await handler(func.QueueMessage(body=body))
            await handler(func.QueueMessage(body=body))  # a redelivery changes nothing
            done = await container.runs.retrieve("t", thread.id, run.id)
            assert done.status == "completed"
            replies = (await container.messages.list("t", thread.id, ListQuery(), run_id=run.id)).data
            assert [reply.text() for reply in replies] == ["Done in the background."]
            assert len(upstream.requests) == 1
        finally:
            await container.aclose()
            bootstrap.reset()
