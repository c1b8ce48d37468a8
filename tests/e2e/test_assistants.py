"""Assistants through the real SDK: every call, pagination, errors, tenancy."""

from __future__ import annotations

import openai
import pytest
from openai.types.beta import Assistant, AssistantDeleted

from tests.e2e.wire import assert_wire_shape


def test_create_retrieve_update_delete(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(
        model="gpt-4o-mini",
        name="Math tutor",
        instructions="You are a tutor.",
        tools=[{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}},
               {"type": "code_interpreter"}],
        metadata={"team": "a"},
        temperature=0.2,
        response_format={"type": "json_object"},
    )
    assert isinstance(created, Assistant)
    assert created.id.startswith("asst_")
    assert created.object == "assistant"
    assert created.tools[0].type == "function" and created.tools[0].function.name == "add"
    assert created.response_format.type == "json_object"  # type: ignore[union-attr]
    assert client.beta.assistants.retrieve(created.id) == created

    updated = client.beta.assistants.update(created.id, name="Renamed", metadata={"team": "b"}, temperature=None)
    assert updated.name == "Renamed"
    assert updated.metadata == {"team": "b"}
    assert updated.temperature == 1.0  # reset to the default, which OpenAI shows as 1.0
    assert updated.instructions == "You are a tutor."  # untouched fields stay

    result = client.beta.assistants.delete(created.id)
    assert result == AssistantDeleted(id=created.id, object="assistant.deleted", deleted=True)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.retrieve(created.id)
    assert info.value.body["message"] == f"No assistant found with id '{created.id}'."  # type: ignore[index]


def test_wire_json_has_every_field(client: openai.OpenAI) -> None:
    raw = client.beta.assistants.with_raw_response.create(model="gpt-4o-mini")
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.headers.get("x-request-id")
    assert_wire_shape("assistant", raw.http_response.json())


def test_auto_pagination_and_cursors(client: openai.OpenAI) -> None:
    ids = [client.beta.assistants.create(model="gpt-4o-mini", metadata={"i": str(i)}).id for i in range(27)]
    listed = [assistant.id for assistant in client.beta.assistants.list(limit=5, order="asc")]
    mine = [assistant_id for assistant_id in listed if assistant_id in set(ids)]
    assert mine == ids  # creation order, each exactly once, across six pages

    newest_first = client.beta.assistants.list(limit=3)
    assert [a.id for a in newest_first.data] == ids[::-1][:3]
    assert newest_first.has_more is True
    assert newest_first.first_id == ids[-1] and newest_first.last_id == ids[-3]

    after = client.beta.assistants.list(limit=2, order="asc", after=ids[10])
    assert [a.id for a in after.data] == ids[11:13]
    before = client.beta.assistants.list(limit=2, order="asc", before=ids[10])
    assert [a.id for a in before.data] == ids[8:10]
    for assistant_id in ids:
        client.beta.assistants.delete(assistant_id)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"model": "gpt-4o-mini", "temperature": 3}, "temperature"),
        ({"model": "gpt-4o-mini", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "gpt-4o-mini", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"model": "gpt-4o-mini", "metadata": {"k": "v" * 513}}, "metadata"),
        ({"model": "gpt-4o-mini", "extra_body": {"colour": "blue"}}, "colour"),
        ({"model": "gpt-4o-mini", "tools": [{"type": "browser"}]}, "tools[0]"),
        ({"model": "gpt-4o-mini", "name": "n" * 257}, "name"),
        ({"model": "gpt-4o-mini", "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
         "response_format.json_schema.schema"),
    ],
)
def test_bad_input_is_a_400_naming_the_param(client: openai.OpenAI, kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.assistants.create(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param
    assert info.value.type == "invalid_request_error"


def test_missing_model_and_bad_list_params(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/assistants", body={"name": "x"}, cast_to=Assistant)
    assert info.value.param == "model"
    assert info.value.code == "missing_required_parameter"
    for query, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"order": "up"}, "order"),
                         ({"after": "asst_doesnotexist"}, "after")):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.assistants.list(**query)  # type: ignore[arg-type]
        assert info.value.param == param


def test_wrong_key_is_401(service: object, client: openai.OpenAI) -> None:
    bad = client.with_options(api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.beta.assistants.list()
    assert info.value.code == "invalid_api_key"


def test_tenants_do_not_see_each_other(client: openai.OpenAI, other_client: openai.OpenAI) -> None:
    mine = client.beta.assistants.create(model="gpt-4o-mini", name="alice's")
    with pytest.raises(openai.NotFoundError):
        other_client.beta.assistants.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other_client.beta.assistants.update(mine.id, name="stolen")
    with pytest.raises(openai.NotFoundError):
        other_client.beta.assistants.delete(mine.id)
    assert mine.id not in [a.id for a in other_client.beta.assistants.list(limit=100)]
    assert client.beta.assistants.retrieve(mine.id).name == "alice's"


def test_azure_style_clients_work(service: object, client: openai.OpenAI) -> None:
    """AzureOpenAI sends `api-key` and an `api-version` query parameter on every call."""
    azure = openai.AzureOpenAI(base_url=str(client.base_url), api_key=client.api_key, api_version="2024-05-01-preview",
                               max_retries=0)
    created = azure.beta.assistants.create(model="gpt-4o-mini", name="via azure client")
    assert azure.beta.assistants.retrieve(created.id).name == "via azure client"
    assert created.id in [assistant.id for assistant in azure.beta.assistants.list(limit=100)]
