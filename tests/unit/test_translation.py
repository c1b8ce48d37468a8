"""Golden tests of the pure Assistants -> Responses mapping (assistants-on-responses.md §4)."""

from __future__ import annotations

from core.domain.models import Message, Run, RunStep, Usage
from core.services.translation import (
    build_request,
    map_annotation,
    responses_tool_choice,
    responses_tools,
    run_error_code,
    step_error_code,
    text_config,
)


def _run(**fields: object) -> Run:
    values: dict[str, object] = {"id": "run_1", "created_at": 1, "tenant_id": "t", "thread_id": "thread_1",
                                 "assistant_id": "asst_1", "model": "gpt-4o-mini"}
    values.update(fields)
    return Run.model_validate(values)


def _message(role: str, content: list[dict[str, object]], **fields: object) -> Message:
    return Message.model_validate({"id": f"msg_{role}", "created_at": 1, "tenant_id": "t", "thread_id": "thread_1",
                                   "role": role, "content": content, **fields})


def test_function_tools_are_sent_non_strict_with_a_default_schema() -> None:
    tools = responses_tools([{"type": "function", "function": {"name": "f"}},
                             {"type": "function", "function": {"name": "g", "description": "G", "strict": True,
                                                               "parameters": {"type": "object"}}}], {})
    assert tools == [
        {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}, "strict": False},
        {"type": "function", "name": "g", "parameters": {"type": "object"}, "strict": True, "description": "G"},
    ]


def test_builtin_tools_take_the_runs_resources() -> None:
    resources = {"file_search": {"vector_store_ids": ["vs_1"]}, "code_interpreter": {"file_ids": ["file-1"]}}
    tools = [{"type": "file_search", "file_search": {"max_num_results": 5,
                                                     "ranking_options": {"ranker": "default_2024_08_21",
                                                                         "score_threshold": 0.5}}},
             {"type": "code_interpreter"}]
    assert responses_tools(tools, resources) == [
        {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 5,
         "ranking_options": {"ranker": "auto", "score_threshold": 0.5}},
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-1"]}},
    ]
    assert responses_tools([{"type": "file_search"}], {}) == []  # no vector store: nothing to search


def test_forcing_tool_choice_applies_to_the_first_call_only() -> None:
    named = {"type": "function", "function": {"name": "f"}}
    assert responses_tool_choice(named, first_call=True) == {"type": "function", "name": "f"}
    assert responses_tool_choice(named, first_call=False) == "auto"
    assert responses_tool_choice("required", first_call=False) == "auto"
    assert responses_tool_choice("none", first_call=False) == "none"


def test_response_format_becomes_text_format() -> None:
    assert text_config("auto") is None
    assert text_config({"type": "json_object"}) == {"format": {"type": "json_object"}}
    schema = {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True}}
    assert text_config(schema) == {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"},
                                              "strict": True}}


def test_request_from_history_and_run_state() -> None:
    run = _run(instructions="Be kind.", temperature=0.3, max_completion_tokens=300,
               accrued_usage=Usage(prompt_tokens=5, completion_tokens=40, total_tokens=45),
               output_items=[{"type": "reasoning", "id": "rs_1", "encrypted_content": "x"}])
    step = RunStep.model_validate({
        "id": "step_1", "created_at": 1, "tenant_id": "t", "run_id": "run_0", "assistant_id": "asst_1",
        "thread_id": "thread_1", "type": "tool_calls", "status": "completed",
        "step_details": {"type": "tool_calls", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}", "output": "42"}}]},
    })
    history = [
        _message("user", [{"type": "text", "text": {"value": "hi", "annotations": []}},
                          {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]),
        step,
        _message("assistant", [{"type": "text", "text": {"value": "The answer is 42.", "annotations": []}}]),
    ]
    request = build_request(run, history, first_call=False)
    assert request["input"] == [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "hi"},
            {"type": "input_image", "image_url": "https://x/a.png", "detail": "auto"}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        {"type": "message", "role": "assistant", "content": "The answer is 42."},
        {"type": "reasoning", "id": "rs_1", "encrypted_content": "x"},
    ]
    assert request["instructions"] == "Be kind."
    assert request["temperature"] == 0.3 and "top_p" not in request
    assert request["max_output_tokens"] == 260  # the run-wide budget minus what earlier calls used
    assert request["store"] is False and "tools" not in request and "tool_choice" not in request
    assert request["metadata"] == {"assistant_id": "asst_1", "thread_id": "thread_1", "run_id": "run_1"}
    assert request["truncation"] == "auto"


def test_unanswered_tool_calls_are_not_replayed() -> None:
    step = RunStep.model_validate({
        "id": "step_1", "created_at": 1, "tenant_id": "t", "run_id": "run_0", "assistant_id": "asst_1",
        "thread_id": "thread_1", "type": "tool_calls", "status": "cancelled",
        "step_details": {"type": "tool_calls", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}", "output": None}}]},
    })
    assert build_request(_run(), [step], first_call=True)["input"] == []


def test_citations_get_markers_that_their_annotation_brackets() -> None:
    marker, annotation = map_annotation({"type": "file_citation", "file_id": "file-1", "filename": "a.pdf",
                                         "index": 5}, "Hello", 1)
    value = "Hello" + marker
    assert marker == "【1†a.pdf】"
    assert annotation is not None
    assert value[annotation["start_index"]:annotation["end_index"]] == annotation["text"] == marker
    assert map_annotation({"type": "url_citation", "url": "https://x"}, "Hello", 1) == ("", None)


def test_error_codes() -> None:
    assert run_error_code("rate_limit_exceeded") == "rate_limit_exceeded"
    assert run_error_code(None, 429) == "rate_limit_exceeded"
    assert run_error_code("invalid_image_format") == "invalid_prompt"
    assert run_error_code("vector_store_timeout") == "server_error"
    assert step_error_code("invalid_prompt") == "server_error"
