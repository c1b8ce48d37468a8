"""Pure mapping between Assistants objects and the Responses API (assistants-on-responses.md §4).

No I/O: the run executor reads the thread, calls :func:`build_request`, streams the call, and maps what comes back
with the small functions below. Golden tests in `tests/unit/test_translation.py` pin every rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core.domain.models import JSON, Message, Run, RunStep, Usage

__all__ = [
    "MAX_HISTORY_MESSAGES",
    "MIN_OUTPUT_TOKENS",
    "build_request",
    "builtin_call_details",
    "history_items",
    "map_annotation",
    "run_error_code",
    "step_error_code",
    "usage_of",
]

MAX_HISTORY_MESSAGES = 500  # most recent thread messages sent upstream (Responses `truncation: auto` trims more)
MIN_OUTPUT_TOKENS = 16  # the Responses minimum for max_output_tokens
_INVALID_PROMPT = re.compile(
    r"^(invalid_prompt|content_policy_violation|bio_policy|invalid_image.*|image_.*|empty_image_file|"
    r"failed_to_download_image|unsupported_image_media_type|invalid_base64_image)$"
)
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")


def responses_tools(tools: Iterable[JSON], resources: JSON) -> list[JSON]:
    """Assistants tools -> Responses tools (§4.4). file_search without a vector store is left out."""
    mapped: list[JSON] = []
    for tool in tools:
        kind = tool["type"]
        if kind == "function":
            function = tool["function"]
            entry: JSON = {
                "type": "function",
                "name": function["name"],
                "parameters": function.get("parameters") or {"type": "object", "properties": {}},
                "strict": bool(function.get("strict")),  # Responses functions are strict unless told otherwise
            }
            if function.get("description") is not None:
                entry["description"] = function["description"]
            mapped.append(entry)
        elif kind == "file_search":
            store_ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
            if not store_ids:
                continue
            entry = {"type": "file_search", "vector_store_ids": store_ids}
            options = tool.get("file_search") or {}
            if options.get("max_num_results") is not None:
                entry["max_num_results"] = options["max_num_results"]
            ranking = options.get("ranking_options")
            if ranking:
                entry["ranking_options"] = {"ranker": "auto", "score_threshold": ranking["score_threshold"]}
            mapped.append(entry)
        elif kind == "code_interpreter":
            file_ids = (resources.get("code_interpreter") or {}).get("file_ids") or []
            mapped.append({"type": "code_interpreter", "container": {"type": "auto", "file_ids": file_ids}})
    return mapped


def responses_tool_choice(choice: str | JSON, first_call: bool) -> str | JSON:
    """§4.5; a forcing choice applies to the first call of a run only, or the model would call the tool forever."""
    forcing = choice == "required" or isinstance(choice, dict)
    if forcing and not first_call:
        return "auto"
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "name": choice["function"]["name"]}
    return choice


def text_config(response_format: str | JSON) -> JSON | None:
    """§4.6: ``response_format`` -> ``text.format`` (None for ``auto``)."""
    if not isinstance(response_format, dict):
        return None
    if response_format["type"] != "json_schema":
        return {"format": {"type": response_format["type"]}}
    schema = response_format["json_schema"]
    fmt: JSON = {"type": "json_schema", "name": schema["name"], "schema": schema.get("schema") or {}}
    for key in ("description", "strict"):
        if schema.get(key) is not None:
            fmt[key] = schema[key]
    return {"format": fmt}


def _message_item(message: Message) -> JSON | None:
    if message.role == "assistant":
        text = message.text()
        return {"type": "message", "role": "assistant", "content": text} if text else None
    parts: list[JSON] = []
    for part in message.content:
        if part["type"] == "text":
            parts.append({"type": "input_text", "text": part["text"]["value"]})
        elif part["type"] == "image_url":
            image = part["image_url"]
            parts.append({"type": "input_image", "image_url": image["url"], "detail": image.get("detail") or "auto"})
        elif part["type"] == "image_file":
            image = part["image_file"]
            parts.append({"type": "input_image", "file_id": image["file_id"], "detail": image.get("detail") or "auto"})
    return {"type": "message", "role": "user", "content": parts} if parts else None


def _tool_step_items(step: RunStep) -> list[JSON]:
    """An earlier run's answered function calls, replayed without ids; unanswered calls are left out entirely."""
    calls = [call for call in step.step_details.get("tool_calls", []) if call.get("type") == "function"]
    if not calls or any(call["function"].get("output") is None for call in calls):
        return []
    items: list[JSON] = [
        {"type": "function_call", "call_id": call["id"], "name": call["function"]["name"],
         "arguments": call["function"]["arguments"]}
        for call in calls
    ]
    items += [{"type": "function_call_output", "call_id": call["id"], "output": call["function"]["output"]}
              for call in calls]
    return items


def history_items(history: Iterable[Message | RunStep]) -> list[JSON]:
    """Thread history (messages and earlier tool steps, in creation order) as Responses input items (§4.3)."""
    items: list[JSON] = []
    for entry in history:
        if isinstance(entry, Message):
            item = _message_item(entry)
            if item is not None:
                items.append(item)
        else:
            items.extend(_tool_step_items(entry))
    return items


def _with_attached_files(resources: JSON, history: list[Message | RunStep]) -> JSON:
    """The run's resources plus the files thread messages attach for code_interpreter (§4.3)."""
    attached = [attachment["file_id"] for entry in history if isinstance(entry, Message)
                for attachment in entry.attachments
                if any(tool.get("type") == "code_interpreter" for tool in attachment.get("tools") or [])]
    if not attached:
        return resources
    files = (resources.get("code_interpreter") or {}).get("file_ids") or []
    return {**resources, "code_interpreter": {"file_ids": list(dict.fromkeys([*files, *attached]))}}


def build_request(run: Run, history: Iterable[Message | RunStep], *, first_call: bool) -> JSON:
    """The Responses create body for the next call of ``run`` (§4.2)."""
    entries = list(history)
    request: JSON = {
        "model": run.model,
        "instructions": run.instructions,
        "input": history_items(entries) + list(run.output_items),
        "parallel_tool_calls": run.parallel_tool_calls,
        "store": False,
        "metadata": {"assistant_id": run.assistant_id, "thread_id": run.thread_id, "run_id": run.id},
    }
    tools = responses_tools(run.tools, _with_attached_files(run.tool_resources, entries))
    if tools:
        request["tools"] = tools
        request["tool_choice"] = responses_tool_choice(run.tool_choice, first_call)
    for name in ("temperature", "top_p"):
        if getattr(run, name) is not None:
            request[name] = getattr(run, name)
    if run.reasoning_effort is not None:
        request["reasoning"] = {"effort": run.reasoning_effort}
    if run.max_completion_tokens is not None:
        request["max_output_tokens"] = run.max_completion_tokens - run.accrued_usage.completion_tokens
    text = text_config(run.response_format)
    if text is not None:
        request["text"] = text
    request["truncation"] = "auto" if run.truncation_strategy.get("type", "auto") == "auto" else "disabled"
    include = []
    if any(tool["type"] == "file_search" for tool in tools):
        include.append("file_search_call.results")
    if any(tool["type"] == "code_interpreter" for tool in tools):
        include.append("code_interpreter_call.outputs")
    if run.reasoning_effort is not None or _REASONING_MODEL.match(run.model):
        include.append("reasoning.encrypted_content")  # store=false: reasoning is replayed from our copy
    if include:
        request["include"] = include
    return request


def map_annotation(annotation: JSON, text_so_far: str, number: int) -> tuple[str, JSON | None]:
    """A Responses annotation arriving after ``text_so_far`` -> (marker text to append, Assistants annotation).

    Citations get a visible marker such as ``【1†guide.pdf】`` that the Assistants annotation brackets, so the
    classic ``value.replace(annotation.text, ...)`` loop works. Offsets count code points. URL citations have no
    Assistants type and are dropped (the link is in the text already).
    """
    kind = annotation.get("type")
    start = len(text_so_far)
    if kind == "file_citation":
        marker = f"【{number}†{annotation.get('filename') or annotation['file_id']}】"
        return marker, {"type": "file_citation", "text": marker, "start_index": start,
                        "end_index": start + len(marker), "file_citation": {"file_id": annotation["file_id"]}}
    if kind == "file_path":
        marker = f"【{number}†{annotation['file_id']}】"
        return marker, {"type": "file_path", "text": marker, "start_index": start, "end_index": start + len(marker),
                        "file_path": {"file_id": annotation["file_id"]}}
    if kind == "container_file_citation":
        begin = min(int(annotation.get("start_index", start)), start)
        end = min(max(int(annotation.get("end_index", start)), begin), start)
        return "", {"type": "file_path", "text": text_so_far[begin:end], "start_index": begin, "end_index": end,
                    "file_path": {"file_id": annotation["file_id"]}}
    return "", None


def run_error_code(code: str | None, status: int | None = None) -> str:
    """The run's ``last_error.code`` for an upstream failure (§4.10)."""
    if code == "rate_limit_exceeded" or status == 429:
        return "rate_limit_exceeded"
    if code and _INVALID_PROMPT.match(code):
        return "invalid_prompt"
    return "server_error"


def step_error_code(run_code: str) -> str:
    """Steps have no ``invalid_prompt``."""
    return "rate_limit_exceeded" if run_code == "rate_limit_exceeded" else "server_error"


def builtin_call_details(kind: str, item: JSON, streamed: JSON) -> JSON:
    """A finished built-in tool call item as its step's ``file_search`` / ``code_interpreter`` details (§4.8)."""
    if kind == "file_search":
        results = [
            {"file_id": found.get("file_id"), "file_name": found.get("filename"), "score": found.get("score"),
             **({"content": [{"type": "text", "text": found["text"]}]} if found.get("text") else {})}
            for found in item.get("results") or []
        ]
        return {"ranking_options": {"ranker": "auto", "score_threshold": 0.0}, "results": results}
    return {
        "input": item.get("code") or streamed.get("input", ""),
        "outputs": [{"type": "logs", "logs": output.get("logs", "")}
                    for output in item.get("outputs") or [] if output.get("type") == "logs"],
    }


def usage_of(response: JSON) -> Usage:
    usage: Any = response.get("usage") or {}
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=int(usage.get("total_tokens") or prompt + completion))
