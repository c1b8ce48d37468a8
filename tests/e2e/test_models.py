"""Models through the real SDK (issue 9): the upstream's model list, and the check that a model named at assistant
create/update and run create exists (400 ``model_not_found``, param ``model``, as OpenAI answers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai.types import Model

from tests.fake_responses import FakeResponsesServer
from tests.fake_upstream_files import DEFAULT_MODELS


def _not_found(attempt: Callable[[], Any], model: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        attempt()
    body = refused.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["param"], body["type"]) == ("model_not_found", "model", "invalid_request_error")
    assert model in body["message"]


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models] == list(DEFAULT_MODELS)
    assert all(isinstance(m, Model) and m.object == "model" and m.owned_by for m in models)
    assert client.models.retrieve("gpt-4o") == Model(id="gpt-4o", object="model", created=1_700_000_000,
                                                     owned_by="system")
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("not-a-model")
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_unknown_model_is_refused_everywhere_a_model_is_named(client: openai.OpenAI,
                                                              fake: FakeResponsesServer) -> None:
    _not_found(lambda: client.beta.assistants.create(model="not-a-model", name="never stored"), "not-a-model")
    assert "never stored" not in [a.name for a in client.beta.assistants.list(limit=100)]
    assistant = client.beta.assistants.create(model="gpt-4o-mini")
    _not_found(lambda: client.beta.assistants.update(assistant.id, model="gpt-9-ultra"), "gpt-9-ultra")
    assert client.beta.assistants.retrieve(assistant.id).model == "gpt-4o-mini"

    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    _not_found(lambda: client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, model="nope"), "nope")
    _not_found(lambda: client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, model="nope",
                                                       stream=True), "nope")
    _not_found(lambda: client.beta.threads.create_and_run(assistant_id=assistant.id, model="nope"), "nope")
    assert client.beta.threads.runs.list(thread.id).data == []
    assert fake.requests == []  # refused before any upstream call


def test_known_models_are_accepted(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    client.models.list()
    listed_before = len(fake.resource_requests_to("GET", "/v1/models"))
    assistant = client.beta.assistants.create(model="gpt-4o")
    assert client.beta.assistants.update(assistant.id, model="o4-mini").model == "o4-mini"
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   model="gpt-4.1-mini", poll_interval_ms=50)
    assert run.status == "completed" and run.model == "gpt-4.1-mini"
    assert fake.last_request["model"] == "gpt-4.1-mini"
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   poll_interval_ms=50)
    assert fake.last_request["model"] == run.model == "o4-mini"
    assert len(fake.resource_requests_to("GET", "/v1/models")) == listed_before  # the checks use the cached list
