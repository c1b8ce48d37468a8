"""The Assistants flow through the service against llm-mock-api 0.1.2, a mock LLM server speaking the Responses API.

Its answers come from ``llm_mock_rules.json5`` (keyword rules on the last user message); its Responses stream is the
complete, well-formed event sequence (``output_item.added``/``.done``, ``content_part.*``, ``content_index``), with
no ``event:`` lines (``data:`` only) and no ``[DONE]``. It serves ``/v1/responses``, so ``OPENAI_BASE_URL`` is
``http://<host>:<port>/v1``. It can answer with function calls (``tools`` in a rule), text plus calls, and a
reasoning item (``reasoning`` in a rule).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.upstreams.flows import (
    IGNORE_SERIALIZER_WARNINGS,
    assert_follow_up_carries_the_output,
    function_tool_run,
    polled_text_run,
    streamed_text_run,
)
from tests.upstreams.support import API_KEY, Upstream, running_service

pytestmark = [pytest.mark.upstreams, IGNORE_SERIALIZER_WARNINGS]

CAPITAL = "Paris is the capital of France (answered by llm-mock-api)."


@pytest.fixture(scope="module")
def service(llm_mock: Upstream) -> Iterator[str]:
    with running_service(llm_mock.base_url) as url:
        yield url


@pytest.fixture
def sdk(service: str, llm_mock: Upstream) -> Iterator[openai.OpenAI]:
    llm_mock.proxy.clear()
    with openai.OpenAI(base_url=service, api_key=API_KEY, max_retries=0, timeout=20) as client:
        yield client


def test_polled_text_run(sdk: openai.OpenAI, llm_mock: Upstream) -> None:
    polled_text_run(sdk, "What is the capital of France?", CAPITAL)
    [sent] = llm_mock.proxy.bodies()
    assert sent["stream"] is True and sent["model"] == "gpt-4o-mini"


def test_streamed_text_run(sdk: openai.OpenAI) -> None:
    streamed_text_run(sdk, "Streaming please: what is the capital of France?", CAPITAL)


def test_function_tool_run(sdk: openai.OpenAI, llm_mock: Upstream) -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})  # as llm-mock-api serialises a rule's args
    run = function_tool_run(sdk, "What is the weather in Paris?", name="get_weather", arguments=arguments,
                            output="22 C, sunny", answer="It is 22 degrees and sunny in Paris.")
    first, follow_up = llm_mock.proxy.bodies()
    assert [tool["name"] for tool in first["tools"]] == ["get_weather"]
    assert_follow_up_carries_the_output(follow_up, run.call_id, "get_weather", "22 C, sunny")


def test_text_and_call_in_one_response(sdk: openai.OpenAI, llm_mock: Upstream) -> None:
    run = function_tool_run(sdk, "What is the forecast for Rome?", name="get_weather",
                            arguments=json.dumps({"city": "Rome"}), output="25 C", text_before="Let me look that up.",
                            answer="Rome: 25 degrees, clear skies.")
    _, follow_up = llm_mock.proxy.bodies()
    assert_follow_up_carries_the_output(follow_up, run.call_id, "get_weather", "25 C")


def test_reasoning_item_before_the_text(sdk: openai.OpenAI) -> None:
    polled_text_run(sdk, "Please tell me a riddle.", "What has keys but cannot open locks? A piano.")
