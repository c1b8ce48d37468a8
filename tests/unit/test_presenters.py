"""Presented objects validate against the openai SDK's own models and carry every wire field."""

from __future__ import annotations

from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from core.bootstrap import Container
from core.domain.pagination import ListQuery
from core.http.presenters import present, present_page
from tests.e2e.wire import assert_wire_shape

TENANT = "tenant-a"


async def test_every_object_matches_the_sdk(container: Container) -> None:
    assistant = await container.assistants.create(TENANT, {"model": "m", "tools": [{"type": "code_interpreter"}]})
    thread = await container.threads.create(TENANT, messages=[{"role": "user", "content": "hi"}])
    run = await container.runs.create(TENANT, thread.id, {"assistant_id": assistant.id})
    await container.executor.execute(TENANT, thread.id, run.id)
    run = await container.runs.retrieve(TENANT, thread.id, run.id)
    message = (await container.messages.list(TENANT, thread.id, ListQuery())).data[0]
    step = (await container.steps.list(TENANT, thread.id, run.id, ListQuery())).data[0]
    for obj, model, kind in ((assistant, Assistant, "assistant"), (thread, Thread, "thread"),
                             (message, Message, "thread.message"), (run, Run, "thread.run"),
                             (step, RunStep, "thread.run.step")):
        shown = present(obj)
        assert_wire_shape(kind, shown)
        parsed = model.model_validate(shown)
        assert parsed.id == obj.id
        assert "tenant_id" not in shown and "_indexes" not in shown
    shown_run = present(run)
    assert shown_run["temperature"] == 1.0 and shown_run["instructions"] == ""
    assert "output_items" not in shown_run and "accrued_usage" not in shown_run
    assert present_page(await container.assistants.list(TENANT, ListQuery())) ["first_id"] == assistant.id
