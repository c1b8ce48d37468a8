"""The OpenAI gateway against the fake Responses server over HTTP: fields an upstream refuses (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.adapters.openai.gateway import OpenAIResponsesGateway
from core.config import Settings
from core.domain.errors import UpstreamError
from tests.fake_responses import FakeResponsesServer

REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini", "input": [{"role": "user", "content": "hi"}], "temperature": 0.2, "store": False,
    "truncation": "auto", "metadata": {"run_id": "run_1"}, "include": ["reasoning.encrypted_content"],
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeResponsesServer) -> FakeResponsesServer:
    server.reset()
    return server


def _gateway(fake: FakeResponsesServer, **settings: Any) -> OpenAIResponsesGateway:
    return OpenAIResponsesGateway(Settings(openai_base_url=fake.base_url, openai_api_key="sk-upstream-fake",
                                           upstream_max_retries=0, **settings))


async def _types(gateway: OpenAIResponsesGateway) -> list[str]:
    return [event["type"] async for event in gateway.stream(dict(REQUEST))]


async def test_a_refused_field_of_ours_is_dropped_once_and_for_good(fake: FakeResponsesServer) -> None:
    fake.reply_http_error(400, message="Unsupported parameter: 'truncation'.", param="truncation")
    fake.reply_text("first")
    fake.reply_text("second")
    gateway = _gateway(fake)
    try:
        assert (await _types(gateway))[-1] == "response.completed"
        assert (await _types(gateway))[-1] == "response.completed"
    finally:
        await gateway.close()
    first, retried, later = fake.requests
    assert first["truncation"] == "auto"
    assert "truncation" not in retried and "truncation" not in later
    assert retried["temperature"] == 0.2 and retried["store"] is False  # nothing else is dropped


async def test_a_field_named_only_in_the_message_is_recognised(fake: FakeResponsesServer) -> None:
    fake.reply_http_error(400, message="Extra inputs are not permitted: store")
    fake.reply_text("ok")
    gateway = _gateway(fake)
    try:
        assert (await _types(gateway))[-1] == "response.completed"
    finally:
        await gateway.close()
    assert "store" in fake.requests[0] and "store" not in fake.requests[1]


async def test_a_refused_user_field_is_an_error_not_a_silent_drop(fake: FakeResponsesServer) -> None:
    fake.reply_http_error(400, message="Unsupported parameter: 'temperature'.", param="temperature")
    gateway = _gateway(fake)
    try:
        with pytest.raises(UpstreamError) as failure:
            await _types(gateway)
    finally:
        await gateway.close()
    assert failure.value.status == 400 and "temperature" in failure.value.message
    assert len(fake.requests) == 1


async def test_configured_fields_are_never_sent(fake: FakeResponsesServer) -> None:
    fake.reply_text("ok")
    gateway = _gateway(fake, upstream_omit_fields=frozenset({"truncation", "include"}))
    try:
        await _types(gateway)
    finally:
        await gateway.close()
    [sent] = fake.requests
    assert "truncation" not in sent and "include" not in sent and sent["metadata"] == {"run_id": "run_1"}


def test_model_and_input_cannot_be_omitted() -> None:
    with pytest.raises(ValueError, match="UPSTREAM_OMIT_FIELDS"):
        Settings.from_env({"UPSTREAM_OMIT_FIELDS": "truncation, input"})
    assert Settings.from_env({"UPSTREAM_OMIT_FIELDS": " store ,include"}).upstream_omit_fields == {"store", "include"}
