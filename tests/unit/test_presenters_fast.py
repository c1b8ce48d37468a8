"""The read endpoints present stored documents without building models (``*_stored`` service methods and
:func:`present_body`); what they send must be byte for byte what the model path (``present`` of the model the same
document loads as) sends, for every object type, old documents and overdue or lapsed runs included."""

from __future__ import annotations

from typing import Any

import orjson

from core.adapters.memory.store import MemoryStore
from core.bootstrap import Container, build
from core.config import Settings
from core.domain.models import Assistant, Message, Run, RunStep, Thread, _Stored
from core.domain.pagination import ListQuery
from core.http.presenters import present, present_bodies, present_body, present_page
from core.ports.store import INDEXES_FIELD, Create
from core.services._repository import DOC_TYPE_FIELD, assistants_of, thread_partition
from core.services.steps import FILE_SEARCH_CONTENT
from tests.fakes import FakeClock, ScriptedGateway

TENANT = "tenant-a"
INCLUDES: tuple[frozenset[str], ...] = (frozenset(), frozenset({FILE_SEARCH_CONTENT}))


def same(model: type[_Stored], obj: _Stored, body: dict[str, Any]) -> None:
    assert orjson.dumps(present_body(model, body)) == orjson.dumps(present(obj))


async def test_every_object_type_shows_the_same_bytes(container: Container) -> None:
    assistants = [await container.assistants.create(TENANT, {"model": "m", "tools": [{"type": "code_interpreter"}]}),
                  await container.assistants.create(TENANT, {"model": "m", "temperature": 0.3, "top_p": 1,
                                                             "metadata": {"k": "v"}, "name": "Ann"})]
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}],
                                            metadata={"a": "b"})
    queued = await container.runs.create(TENANT, thread.id, {"assistant_id": assistants[1].id})
    same(Run, await container.runs.retrieve(TENANT, thread.id, queued.id),
         await container.runs.retrieve_stored(TENANT, thread.id, queued.id))
    await container.executor.execute(TENANT, thread.id, queued.id)

    for assistant in assistants:
        same(Assistant, await container.assistants.retrieve(TENANT, assistant.id),
             await container.assistants.retrieve_stored(TENANT, assistant.id))
    same(Thread, await container.threads.retrieve(TENANT, thread.id),
         await container.threads.retrieve_stored(TENANT, thread.id))
    run = await container.runs.retrieve(TENANT, thread.id, queued.id)
    assert run.usage is not None  # a completed run shows its usage
    same(Run, run, await container.runs.retrieve_stored(TENANT, thread.id, run.id))
    messages = (await container.messages.list(TENANT, thread.id, ListQuery())).data
    assert [message.role for message in messages] == ["assistant", "user"]
    for message in messages:
        same(Message, message, await container.messages.retrieve_stored(TENANT, thread.id, message.id))
    [step] = (await container.steps.list(TENANT, thread.id, run.id, ListQuery())).data
    same(RunStep, step, await container.steps.retrieve_stored(TENANT, thread.id, run.id, step.id))

    for query in (ListQuery(), ListQuery(limit=1, order="asc"), ListQuery(after=messages[0].id)):
        assert orjson.dumps(present_bodies(Message, await container.messages.list_stored(TENANT, thread.id, query))) \
            == orjson.dumps(present_page(await container.messages.list(TENANT, thread.id, query)))
    for query in (ListQuery(), ListQuery(limit=1, order="asc")):
        assert orjson.dumps(present_bodies(Assistant, await container.assistants.list_stored(TENANT, query))) \
            == orjson.dumps(present_page(await container.assistants.list(TENANT, query)))
        assert orjson.dumps(present_bodies(Run, await container.runs.list_stored(TENANT, thread.id, query))) \
            == orjson.dumps(present_page(await container.runs.list(TENANT, thread.id, query)))
        assert orjson.dumps(present_bodies(RunStep, await container.steps.list_stored(
            TENANT, thread.id, run.id, query))) == orjson.dumps(present_page(await container.steps.list(
                TENANT, thread.id, run.id, query)))
    by_run = await container.messages.list_stored(TENANT, thread.id, ListQuery(), run_id=run.id)
    assert [body["id"] for body in by_run.data] == [messages[0].id]


async def test_tool_steps_with_file_search_results_show_the_same_bytes(container: Container) -> None:
    thread = await container.threads.create(TENANT)
    assistant = await container.assistants.create(TENANT, {"model": "m"})
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    result = {"file_id": "file_1", "file_name": "a.txt", "score": 0.5, "content": [{"type": "text", "text": "secret"}]}
    step = RunStep(id="step_0001", created_at=1, tenant_id=TENANT, run_id=run.id, assistant_id=assistant.id,
                   thread_id=thread.id, type="tool_calls", status="completed", usage={"prompt_tokens": 3},
                   step_details={"type": "tool_calls", "tool_calls": [
                       {"id": "fs_1", "type": "file_search",
                        "file_search": {"ranking_options": {}, "results": [result]}}
                   ]})
    await container.executor._repository.save(thread_partition(thread.id), create=[step])
    for include in INCLUDES:
        model = await container.steps.retrieve(TENANT, thread.id, run.id, step.id, include)
        body = await container.steps.retrieve_stored(TENANT, thread.id, run.id, step.id, include)
        same(RunStep, model, body)
        assert ("secret" in orjson.dumps(body).decode()) == bool(include)
        assert orjson.dumps(present_bodies(RunStep, await container.steps.list_stored(
            TENANT, thread.id, run.id, ListQuery(), include))) == orjson.dumps(present_page(
                await container.steps.list(TENANT, thread.id, run.id, ListQuery(), include)))


async def test_documents_written_before_a_field_existed_show_its_default(container: Container) -> None:
    """Documents of an older version lack newer fields; both paths show the model's default for them."""
    thread = await container.threads.create(TENANT)
    store = container.executor._repository.store
    common = {"created_at": 1, "tenant_id": TENANT}
    message = {"id": "msg_0001", **common, "thread_id": thread.id, "role": "user", DOC_TYPE_FIELD: "message",
               INDEXES_FIELD: ["messages"]}
    run = {"id": "run_0001", **common, "thread_id": thread.id, "assistant_id": "asst_1", "model": "m",
           "status": "completed", "temperature": 1, DOC_TYPE_FIELD: "run", INDEXES_FIELD: ["runs"]}
    step = {"id": "step_0001", **common, "run_id": "run_0001", "assistant_id": "asst_1", "thread_id": thread.id,
            "type": "message_creation", "step_details": {}, DOC_TYPE_FIELD: "step", INDEXES_FIELD: ["steps:run_0001"]}
    assistant = {"id": "asst_0001", **common, "model": "m", DOC_TYPE_FIELD: "assistant", INDEXES_FIELD: ["assistants"]}
    await store.commit(thread_partition(thread.id), [Create(message), Create(run), Create(step)])
    await store.commit(assistants_of(TENANT), [Create(assistant)])

    same(Message, await container.messages.retrieve(TENANT, thread.id, "msg_0001"),
         await container.messages.retrieve_stored(TENANT, thread.id, "msg_0001"))
    same(Run, await container.runs.retrieve(TENANT, thread.id, "run_0001"),
         await container.runs.retrieve_stored(TENANT, thread.id, "run_0001"))
    same(RunStep, await container.steps.retrieve(TENANT, thread.id, "run_0001", "step_0001"),
         await container.steps.retrieve_stored(TENANT, thread.id, "run_0001", "step_0001"))
    same(Assistant, await container.assistants.retrieve(TENANT, "asst_0001"),
         await container.assistants.retrieve_stored(TENANT, "asst_0001"))
    # A whole number a store hands back as an int (Cosmos DB) is shown as the float it is.
    assert present_body(Run, await container.runs.retrieve_stored(TENANT, thread.id, "run_0001"))["temperature"] == 1.0
    assert b'"temperature":1.0' in orjson.dumps(present_body(Assistant, {**assistant, "temperature": 1}))


async def test_reading_a_lapsed_run_hands_it_over_as_the_model_path_does() -> None:
    clock = FakeClock()
    container = build(Settings(run_lease_seconds=3), store=MemoryStore(), clock=clock, gateway=ScriptedGateway())
    assistant = await container.assistants.create(TENANT, {"model": "m"})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    await container.lifecycle.claim(TENANT, thread.id, run.id, owner="dead-process")

    assert (await container.runs.retrieve_stored(TENANT, thread.id, run.id))["status"] == "in_progress"
    await container.run_queue.drain()  # the job finds the run held by the dead process's lease: nothing happens
    assert (await container.runs.retrieve_stored(TENANT, thread.id, run.id))["status"] == "in_progress"
    clock.advance(4)  # the lease lapsed: reading the run hands it to take-over, which answers it
    await container.runs.retrieve_stored(TENANT, thread.id, run.id)
    await container.run_queue.drain()
    assert (await container.runs.retrieve_stored(TENANT, thread.id, run.id))["status"] == "completed"

    overdue = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    clock.advance(3600)  # past expires_at: reading it (or its steps) expires it
    assert (await container.steps.list_stored(TENANT, thread.id, overdue.id, ListQuery())).data == []
    shown = await container.runs.retrieve_stored(TENANT, thread.id, overdue.id)
    assert shown["status"] == "expired"
    same(Run, await container.runs.retrieve(TENANT, thread.id, overdue.id), shown)
