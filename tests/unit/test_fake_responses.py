"""Checks that tests/fake_responses.py speaks the Responses wire format as the real openai SDK parses it."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseIncompleteEvent,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseRefusalDeltaEvent,
    ResponseTextDeltaEvent,
)

from tests.fake_responses import DEFAULT_TEXT, FakeResponsesServer, Usage, file_citation

MODEL = "gpt-4o-mini"


def test_non_streamed_text_parses_into_a_response(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    reply = fake.reply_text("Hello world")

    response = client.responses.create(model=MODEL, input="Hi", instructions="Be brief.", metadata={"run_id": "r1"})

    assert isinstance(response, Response)
    assert response.id == reply.response_id
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == "Hello world"
    assert isinstance(response.created_at, float)
    assert response.instructions == "Be brief."
    assert response.metadata == {"run_id": "r1"}
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (10, 5, 15)
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert fake.requests == [{"model": MODEL, "input": "Hi", "instructions": "Be brief.", "metadata": {"run_id": "r1"}}]
    assert fake.request_headers[0]["authorization"] == "Bearer x"


def test_empty_queue_gives_the_default_text(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    assert client.responses.create(model=MODEL, input="Hi").output_text == DEFAULT_TEXT
    assert fake.pending == 0
    assert len(fake.requests) == 1


def test_raw_stream_yields_typed_events_whose_deltas_concatenate(
    fake: FakeResponsesServer, client: openai.OpenAI
) -> None:
    fake.reply_text("Hello streaming world", chunks=["Hel", "lo stream", "ing world"], usage=(42, 7))

    events = list(client.responses.create(model=MODEL, input="Hi", stream=True))

    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event for event in events if isinstance(event, ResponseTextDeltaEvent)]
    assert [delta.delta for delta in deltas] == ["Hel", "lo stream", "ing world"]
    assert all(delta.item_id.startswith("msg_") and delta.logprobs == [] for delta in deltas)
    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    assert completed.response.output_text == "Hello streaming world"
    assert completed.response.usage is not None
    assert completed.response.usage.total_tokens == 49
    assert fake.last_request["stream"] is True


def test_stream_helper_final_response_for_text_with_reasoning(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_text("Thought about it.", reasoning=True, usage=Usage(20, 8, cached_tokens=4, reasoning_tokens=3))

    with client.responses.stream(model=MODEL, input="Hi") as stream:
        streamed = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()

    assert streamed == final.output_text == "Thought about it."
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].type == "reasoning"
    assert final.output[0].encrypted_content
    assert final.usage is not None
    assert final.usage.input_tokens_details.cached_tokens == 4


def test_stream_helper_final_response_for_function_calls(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    reply = fake.reply_function_calls(
        [("get_weather", '{"city":"Paris"}'), ("get_time", {"tz": "CET"}, "call_fixed")], text="Checking."
    )

    with client.responses.stream(model=MODEL, input="Weather?") as stream:
        events = list(stream)
        final = stream.get_final_response()

    calls = [item for item in final.output if item.type == "function_call"]
    assert [(call.name, call.arguments, call.status) for call in calls] == [
        ("get_weather", '{"city":"Paris"}', "completed"),
        ("get_time", '{"tz": "CET"}', "completed"),
    ]
    assert [call.call_id for call in calls] == reply.call_ids
    assert reply.call_ids[1] == "call_fixed"
    assert all(call.id and call.id.startswith("fc_") for call in calls)
    assert final.output_text == "Checking."
    added = [event for event in events if event.type == "response.output_item.added"]
    assert [event.item.type for event in added] == ["message", "function_call", "function_call"]
    first_args = [
        event.delta
        for event in events
        if isinstance(event, ResponseFunctionCallArgumentsDeltaEvent) and event.output_index == 1
    ]
    assert len(first_args) > 1
    assert "".join(first_args) == '{"city":"Paris"}'


def test_annotations_and_refusals(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_text("See the doc.", annotations=[file_citation("file-abc", "doc.txt", 12)])
    fake.reply_refusal("I can't help with that.")

    events = list(client.responses.create(model=MODEL, input="Hi", stream=True))
    refusal = client.responses.create(model=MODEL, input="Hi", stream=True)
    refusal_events = list(refusal)

    added = [event for event in events if isinstance(event, ResponseOutputTextAnnotationAddedEvent)]
    assert len(added) == 1
    assert added[0].annotation_index == 0
    final = events[-1]
    assert isinstance(final, ResponseCompletedEvent)
    assert final.response.output[0].type == "message"
    annotation = final.response.output[0].content[0]
    assert annotation.type == "output_text"
    assert annotation.annotations[0].type == "file_citation"
    refusal_deltas = [event.delta for event in refusal_events if isinstance(event, ResponseRefusalDeltaEvent)]
    assert "".join(refusal_deltas) == "I can't help with that."
    assert refusal_events[-1].type == "response.completed"


def test_incomplete_and_failed_statuses_parse(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_incomplete("Partial", reason="max_output_tokens")
    fake.reply_failed(code="rate_limit_exceeded", message="Slow down")
    fake.reply_incomplete("Blocked", reason="content_filter")
    fake.reply_failed(code="invalid_prompt", message="Bad prompt")

    incomplete = client.responses.create(model=MODEL, input="Hi")
    failed = client.responses.create(model=MODEL, input="Hi")
    streamed_incomplete = list(client.responses.create(model=MODEL, input="Hi", stream=True))
    streamed_failed = list(client.responses.create(model=MODEL, input="Hi", stream=True))

    assert incomplete.status == "incomplete"
    assert incomplete.output_text == "Partial"
    assert incomplete.incomplete_details is not None
    assert incomplete.incomplete_details.reason == "max_output_tokens"
    assert incomplete.output[0].type == "message"
    assert incomplete.output[0].status == "incomplete"
    assert failed.status == "failed"
    assert failed.usage is None
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == (
        "rate_limit_exceeded",
        "Slow down",
    )
    last = streamed_incomplete[-1]
    assert isinstance(last, ResponseIncompleteEvent)
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "content_filter"
    ended = streamed_failed[-1]
    assert isinstance(ended, ResponseFailedEvent)
    assert ended.response.error is not None
    assert ended.response.error.code == "invalid_prompt"


def test_stream_helper_has_no_final_response_without_completed(
    fake: FakeResponsesServer, client: openai.OpenAI
) -> None:
    fake.reply_incomplete("Partial")

    with client.responses.stream(model=MODEL, input="Hi") as stream:
        assert list(stream)[-1].type == "response.incomplete"
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()


def test_http_errors_raise_the_sdk_exceptions(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_http_error(500)
    fake.reply_http_error(429)
    fake.reply_http_error(400, code="invalid_value", message="Bad tool schema", param="tools")

    with pytest.raises(openai.InternalServerError):
        client.responses.create(model=MODEL, input="Hi")
    with pytest.raises(openai.RateLimitError) as rate_limited:
        client.responses.create(model=MODEL, input="Hi", stream=True)
    with pytest.raises(openai.BadRequestError) as bad_request:
        client.responses.create(model=MODEL, input="Hi")

    assert rate_limited.value.code == "rate_limit_exceeded"
    assert (bad_request.value.code, bad_request.value.param, bad_request.value.type) == (
        "invalid_value",
        "tools",
        "invalid_request_error",
    )
    assert bad_request.value.message.endswith("Bad tool schema")
    assert len(fake.requests) == 3


def test_sdk_retries_are_fast_and_consume_the_queue(fake: FakeResponsesServer) -> None:
    fake.reply_http_error(429, times=2)
    fake.reply_text("Finally")
    started = time.monotonic()

    with openai.OpenAI(base_url=f"{fake.url}/v1", api_key="x", max_retries=2) as retrying:
        assert retrying.responses.create(model=MODEL, input="Hi").output_text == "Finally"

    assert time.monotonic() - started < 1.0
    assert [headers["x-stainless-retry-count"] for headers in fake.request_headers] == ["0", "1", "2"]


def test_stream_error_event_flat_and_nested(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_stream_error(code="server_error", message="Upstream broke", text="Half an ans")
    fake.reply_stream_error(code="rate_limit_exceeded", message="Too many", nested=True)

    events = list(client.responses.create(model=MODEL, input="Hi", stream=True))
    with pytest.raises(openai.APIError, match="Too many") as raised:
        list(client.responses.create(model=MODEL, input="Hi", stream=True))

    error = events[-1]
    assert isinstance(error, ResponseErrorEvent)
    assert (error.code, error.message, error.sequence_number) == ("server_error", "Upstream broke", len(events) - 1)
    assert "".join(event.delta for event in events if event.type == "response.output_text.delta") == "Half an ans"
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "rate_limit_exceeded"


def test_hang_stream_ends_when_the_client_disconnects(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.hang_stream("Waiting", seconds=30)

    stream = client.responses.create(model=MODEL, input="Hi", stream=True)
    received = ""
    for event in stream:
        if event.type == "response.output_text.delta":
            received += event.delta
        if received == "Waiting":
            break
    stream.close()

    assert fake.wait_for_disconnects(1, timeout=3)
    assert fake.recorded[0].disconnected
    assert client.responses.create(model=MODEL, input="Hi").output_text == DEFAULT_TEXT


def test_delays_and_async_client(fake: FakeResponsesServer) -> None:
    fake.reply_text("Slow", delay=0.2, chunk_delay=0.01)
    fake.reply_function_calls([("lookup", "{}")])

    async def scenario() -> tuple[list[str], Response, float]:
        async with openai.AsyncOpenAI(base_url=f"{fake.url}/v1", api_key="x", max_retries=0) as sdk:
            started = time.monotonic()
            stream = await sdk.responses.create(model=MODEL, input="Hi", stream=True)
            types: list[str] = [event.type async for event in stream]
            elapsed = time.monotonic() - started
            return types, await sdk.responses.create(model=MODEL, input="Hi"), elapsed

    types, calls, elapsed = asyncio.run(scenario())

    assert types[-1] == "response.completed"
    assert elapsed >= 0.2
    assert calls.output[0].type == "function_call"
    assert calls.output[0].name == "lookup"
    assert fake.request_headers[0]["x-stainless-async"].startswith("async")


def test_input_tokens_count_and_reset(fake: FakeResponsesServer, client: openai.OpenAI) -> None:
    fake.reply_text("queued")

    assert client.responses.input_tokens.count(model=MODEL, input="Hi").input_tokens == 10
    assert fake.input_token_requests == [{"model": MODEL, "input": "Hi"}]
    assert fake.requests == []
    fake.reset()
    assert fake.pending == 0
    assert fake.input_token_requests == []
    with pytest.raises(openai.NotFoundError):
        client.batches.list()
