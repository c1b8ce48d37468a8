"""Upstream failures and incompleteness as clients see them, polled and streamed (assistants-on-responses.md
§4.10, §5.4), and run requests refused before anything starts (§1.2, §2.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from openai.types.beta.threads import Message, Run

from tests.fake_responses import FakeResponsesServer


@dataclass(frozen=True)
class Outcome:
    """What a scripted upstream reply must lead to."""

    script: Callable[[FakeResponsesServer], object]
    run_status: str
    error_code: str | None = None  # run.last_error.code
    step_error_code: str | None = None  # the message step's last_error.code (failed runs)
    run_reason: str | None = None  # run.incomplete_details.reason
    text: str | None = None  # partial text kept in the assistant message (None: no message at all)
    message_reason: str | None = None  # that message's incomplete_details.reason


OUTCOMES: dict[str, Outcome] = {
    "http_500": Outcome(lambda fake: fake.reply_http_error(500), "failed", "server_error"),
    "http_503": Outcome(lambda fake: fake.reply_http_error(503), "failed", "server_error"),
    "http_429": Outcome(lambda fake: fake.reply_http_error(429), "failed", "rate_limit_exceeded"),
    "failed_invalid_prompt": Outcome(lambda fake: fake.reply_failed(code="invalid_prompt"), "failed",
                                     "invalid_prompt"),
    "failed_image_code": Outcome(lambda fake: fake.reply_failed(code="invalid_image_format"), "failed",
                                 "invalid_prompt"),
    "failed_with_text": Outcome(lambda fake: fake.reply_failed(code="server_error", text="Half an answ"), "failed",
                                "server_error", "server_error", text="Half an answ", message_reason="run_failed"),
    "failed_rate_limited_with_text": Outcome(
        lambda fake: fake.reply_failed(code="rate_limit_exceeded", text="Half"), "failed", "rate_limit_exceeded",
        "rate_limit_exceeded", text="Half", message_reason="run_failed"),
    "failed_invalid_prompt_with_text": Outcome(
        lambda fake: fake.reply_failed(code="invalid_prompt", text="Hmm"), "failed", "invalid_prompt",
        "server_error", text="Hmm", message_reason="run_failed"),
    "incomplete_max_tokens": Outcome(lambda fake: fake.reply_incomplete("Cut off mid", reason="max_output_tokens"),
                                     "incomplete", run_reason="max_completion_tokens", text="Cut off mid",
                                     message_reason="max_tokens"),
    "incomplete_content_filter": Outcome(lambda fake: fake.reply_incomplete("Well, ", reason="content_filter"),
                                         "incomplete", text="Well, ", message_reason="content_filter"),
    "stream_error_flat": Outcome(lambda fake: fake.reply_stream_error(text="Partial answer"), "failed",
                                 "server_error", "server_error", text="Partial answer", message_reason="run_failed"),
    "stream_error_nested": Outcome(lambda fake: fake.reply_stream_error(text="Partial answer", nested=True),
                                   "failed", "server_error", "server_error", text="Partial answer",
                                   message_reason="run_failed"),
}


def _thread(sdk: openai.OpenAI) -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]).id


def _assistant_messages(sdk: openai.OpenAI, thread_id: str) -> list[Message]:
    return [m for m in sdk.beta.threads.messages.list(thread_id, order="asc") if m.role == "assistant"]


def _check_stored(sdk: openai.OpenAI, thread_id: str, run: Run, expected: Outcome) -> None:
    """The run, its message and its steps as a poller sees them afterwards."""
    assert run.status == expected.run_status
    assert run.expires_at is None and run.required_action is None
    if expected.run_status == "failed":
        assert run.last_error is not None and run.last_error.code == expected.error_code
        assert run.last_error.message
        assert run.failed_at is not None and run.completed_at is None
    else:
        assert run.last_error is None
        assert run.incomplete_details is not None and run.incomplete_details.reason == expected.run_reason
        assert run.completed_at is not None
    messages = _assistant_messages(sdk, thread_id)
    assert all(m.status != "in_progress" for m in messages)
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert all(s.status != "in_progress" for s in steps)
    if expected.text is None:
        assert messages == []
        return
    assert len(messages) == 1
    message = messages[0]
    assert message.status == "incomplete" and message.run_id == run.id
    assert message.incomplete_details is not None and message.incomplete_details.reason == expected.message_reason
    assert message.incomplete_at is not None and message.completed_at is None
    assert message.content[0].text.value == expected.text  # type: ignore[union-attr]
    assert len(steps) == 1 and steps[0].type == "message_creation"
    if expected.run_status == "failed":
        assert steps[0].status == "failed" and steps[0].failed_at is not None
        assert steps[0].last_error is not None and steps[0].last_error.code == expected.step_error_code
    else:
        assert steps[0].status == "completed"


@pytest.mark.parametrize("name", list(OUTCOMES))
def test_outcome_polled(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str, name: str) -> None:
    expected = OUTCOMES[name]
    expected.script(fake)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    _check_stored(sdk, thread_id, run, expected)
    assert len(fake.requests) == 1  # no retry behind the client's back (upstream_max_retries=0 here)


@pytest.mark.parametrize("name", list(OUTCOMES))
def test_outcome_streamed(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str, name: str) -> None:
    """A failing run is reported with `thread.run.failed` (or `.incomplete`), never as an SDK exception."""
    expected = OUTCOMES[name]
    expected.script(fake)
    thread_id = _thread(sdk)
    events = list(sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True))
    names = [event.event for event in events]
    assert "error" not in names
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == f"thread.run.{expected.run_status}"
    final: Any = events[-1].data
    if expected.text is None:
        assert names == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", names[-1]]
    else:
        step_end = "thread.run.step.failed" if expected.run_status == "failed" else "thread.run.step.completed"
        assert names[-3:] == ["thread.message.incomplete", step_end, names[-1]]
        message = events[-3].data
        assert message.status == "incomplete"  # type: ignore[union-attr]
        assert message.incomplete_details.reason == expected.message_reason  # type: ignore[union-attr]
        streamed = "".join(e.data.delta.content[0].text.value for e in events  # type: ignore[union-attr,index]
                           if e.event == "thread.message.delta")
        assert streamed == expected.text == message.content[0].text.value  # type: ignore[union-attr]
    stored = sdk.beta.threads.runs.retrieve(final.id, thread_id=thread_id)
    assert stored.status == final.status
    assert stored.last_error == final.last_error and stored.incomplete_details == final.incomplete_details
    _check_stored(sdk, thread_id, stored, expected)


def test_stream_helper_sees_the_failure_as_the_final_run(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                         assistant_id: str) -> None:
    fake.reply_stream_error(text="Partial answer", nested=True)
    thread_id = _thread(sdk)
    exceptions: list[Exception] = []
    done: list[Message] = []

    class Handler(openai.AssistantEventHandler):
        def on_exception(self, exception: Exception) -> None:
            exceptions.append(exception)

        def on_message_done(self, message: Message) -> None:
            done.append(message)

    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id,
                                      event_handler=Handler()) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert exceptions == []
    assert run.status == "failed" and run.last_error is not None and run.last_error.code == "server_error"
    assert [(m.status, m.incomplete_details.reason) for m in done] == [("incomplete", "run_failed")]  # type: ignore[union-attr]


def test_thread_is_released_after_a_failure(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    fake.reply_http_error(500)
    thread_id = _thread(sdk)
    failed = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                   poll_interval_ms=50)
    assert failed.status == "failed"
    sdk.beta.threads.messages.create(thread_id, role="user", content="Try again")
    fake.reply_text("Second time lucky.")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.status == "completed"
    texts = [m.content[0].text.value for m in sdk.beta.threads.messages.list(thread_id, order="asc")]  # type: ignore[union-attr]
    assert texts == ["Hello", "Try again", "Second time lucky."]
    # The failed attempt left nothing in the history that the retry sends upstream.
    assert [item["content"][0]["text"] for item in fake.requests[-1]["input"]] == ["Hello", "Try again"]
    # And the same after a streamed failure.
    fake.reply_stream_error(text="Oops")
    events = list(sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True))
    assert events[-1].event == "thread.run.failed"
    fake.reply_text("Fine now.")
    assert sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                 poll_interval_ms=50).status == "completed"


def test_upstream_credentials_error_is_not_leaked(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                  assistant_id: str) -> None:
    secret = "Incorrect API key provided: sk-upstr*********fake. Find your key at https://platform.example/keys."
    fake.reply_http_error(401, message=secret)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "sk-" not in run.last_error.message and "Incorrect API key" not in run.last_error.message
    assert "platform.example" not in run.last_error.message
    raw = sdk.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread_id).http_response.text
    assert "sk-upstr" not in raw and "sk-upstream-fake" not in raw


def test_upstream_bad_request_keeps_its_message(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                assistant_id: str) -> None:
    """§4.10: an upstream 400 fails the run and keeps the (safe) upstream message so developers can fix it."""
    fake.reply_http_error(400, message="Invalid schema for function 'get_weather'.", param="tools[0].parameters")
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "Invalid schema for function 'get_weather'." in run.last_error.message
    fake.reply_http_error(400, code="invalid_prompt", message="Your prompt was flagged.")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=50)
    assert run.last_error is not None and run.last_error.code == "invalid_prompt"


def test_a_failed_continuation_fails_the_run(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "function",
                                                                         "function": {"name": "lookup"}}])
    reply = fake.reply_function_calls([("lookup", "{}")])
    fake.reply_http_error(429)
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "requires_action"
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "x"}],
        poll_interval_ms=50)
    assert run.status == "failed" and run.last_error is not None and run.last_error.code == "rate_limit_exceeded"
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed")]
    assert run.usage is not None and run.usage.total_tokens == 15  # the first call's usage is kept


# -- requests refused before the run starts ----------------------------------------------------------------------------

BAD_PARAMS: dict[str, tuple[dict[str, Any], str]] = {
    "max_completion_tokens_below_256": ({"max_completion_tokens": 100}, "max_completion_tokens"),
    "max_prompt_tokens_below_256": ({"max_prompt_tokens": 255}, "max_prompt_tokens"),
    "temperature_above_2": ({"temperature": 3}, "temperature"),
    "top_p_above_1": ({"top_p": 1.5}, "top_p"),
    "too_many_tools": ({"tools": [{"type": "function", "function": {"name": f"f{i}"}} for i in range(21)]}, "tools"),
    "bad_truncation": ({"truncation_strategy": {"type": "last_messages", "last_messages": 0}},
                       "truncation_strategy.last_messages"),
    "bad_tool_choice": ({"tool_choice": "sometimes"}, "tool_choice"),
    "bad_metadata": ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    "json_schema_without_schema": ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
                                   "response_format.json_schema.schema"),
    "unknown_field": ({"extra_body": {"foo": 1}}, "foo"),
}


@pytest.mark.parametrize("name", list(BAD_PARAMS))
def test_bad_run_params_are_refused(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str,
                                    name: str) -> None:
    options, param = BAD_PARAMS[name]
    thread_id = _thread(sdk)
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.threads.runs.create(thread_id, assistant_id=assistant_id, **options)
    # A union field may be named as a whole (e.g. `truncation_strategy` for its `last_messages`).
    assert refused.value.param == param or param.startswith(f"{refused.value.param}.")
    assert refused.value.type == "invalid_request_error"
    if name == "unknown_field":
        assert refused.value.code == "unknown_parameter"
        assert refused.value.body["message"] == "Unknown parameter: 'foo'."  # type: ignore[index]
    # Nothing was started: no run, no upstream call, and the thread still takes runs.
    assert sdk.beta.threads.runs.list(thread_id).data == []
    assert fake.requests == []
    assert sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                 poll_interval_ms=50).status == "completed"


def test_bad_params_are_refused_on_create_and_run_and_stream(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                             assistant_id: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.threads.create_and_run(assistant_id=assistant_id, temperature=2.5)
    assert refused.value.param == "temperature"
    thread_id = _thread(sdk)
    with pytest.raises(openai.BadRequestError) as streamed, sdk.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, max_completion_tokens=10
    ) as stream:
        stream.until_done()
    assert streamed.value.param == "max_completion_tokens"
    assert fake.requests == []


def test_missing_assistant_id(sdk: openai.OpenAI) -> None:
    thread_id = _thread(sdk)
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.threads.runs.create(thread_id, assistant_id=openai.omit)  # type: ignore[arg-type]
    assert refused.value.param == "assistant_id"
    assert refused.value.code == "missing_required_parameter"


def test_unknown_assistant_or_thread(sdk: openai.OpenAI, fake: FakeResponsesServer, assistant_id: str) -> None:
    thread_id = _thread(sdk)
    with pytest.raises(openai.NotFoundError) as no_assistant:
        sdk.beta.threads.runs.create(thread_id, assistant_id="asst_doesnotexist")
    assert no_assistant.value.body["message"] == "No assistant found with id 'asst_doesnotexist'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as no_thread:
        sdk.beta.threads.runs.create("thread_doesnotexist", assistant_id=assistant_id)
    assert no_thread.value.body["message"] == "No thread found with id 'thread_doesnotexist'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError), sdk.beta.threads.runs.stream(
        thread_id="thread_doesnotexist", assistant_id=assistant_id
    ) as stream:
        stream.until_done()
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.create_and_run(assistant_id="asst_doesnotexist", stream=True)
    assert sdk.beta.threads.runs.list(thread_id).data == []
    assert fake.requests == []


# -- the run's own token budgets ---------------------------------------------------------------------------------------

def _tool_assistant(sdk: openai.OpenAI) -> str:
    return sdk.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "function",
                                                                    "function": {"name": "lookup"}}]).id


def test_spent_completion_budget_ends_the_run_incomplete(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    """§4.7: fewer than 16 completion tokens left: no further call, the run ends `incomplete`."""
    reply = fake.reply_function_calls([("lookup", "{}")], usage=(10, 245))
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=_tool_assistant(sdk),
                                                max_completion_tokens=256, poll_interval_ms=50)
    assert run.status == "requires_action" and fake.requests[0]["max_output_tokens"] == 256
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "x"}],
        poll_interval_ms=50)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_completion_tokens"
    assert len(fake.requests) == 1
    assert run.usage is not None and run.usage.completion_tokens == 245
    assert _assistant_messages(sdk, thread_id) == []


def test_spent_prompt_budget_ends_the_run_incomplete(sdk: openai.OpenAI, fake: FakeResponsesServer) -> None:
    reply = fake.reply_function_calls([("lookup", "{}")], usage=(300, 5))
    thread_id = _thread(sdk)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=_tool_assistant(sdk),
                                                max_prompt_tokens=256, poll_interval_ms=50)
    assert run.status == "requires_action"
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": reply.call_ids[0], "output": "x"}],
        poll_interval_ms=50)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    assert len(fake.requests) == 1


def test_prompt_budget_drops_the_oldest_messages(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                 assistant_id: str) -> None:
    thread_id = sdk.beta.threads.create(messages=[
        {"role": "user", "content": "old " * 1000}, {"role": "user", "content": "What now?"}]).id
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                max_prompt_tokens=256, poll_interval_ms=50)
    assert run.status == "completed" and run.max_prompt_tokens == 256
    assert fake.requests[-1]["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What now?"}]}]


def test_prompt_budget_too_small_for_the_current_turn(sdk: openai.OpenAI, fake: FakeResponsesServer,
                                                      assistant_id: str) -> None:
    """§4.7: when the current turn alone does not fit, the run ends `incomplete` (max_prompt_tokens), no call."""
    thread_id = sdk.beta.threads.create(messages=[{"role": "user", "content": "huge " * 2000}]).id
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                max_prompt_tokens=256, poll_interval_ms=50)
    assert fake.requests == []  # never a call without the user's question
    assert run.status == "incomplete"
    assert run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
