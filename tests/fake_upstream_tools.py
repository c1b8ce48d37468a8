"""Hosted-tool output items of the fake upstream (`tests/fake_responses.py`): `file_search_call` and
`code_interpreter_call`, their SSE events, and the `include` rules of the real API.

As the real API does, a `file_search_call` carries `results` only when the request's `include` has
`file_search_call.results`, and a `code_interpreter_call` carries `outputs` (logs and images) only when it has
`code_interpreter_call.outputs`; otherwise the field is null. The stored reply always holds them in full.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Json = dict[str, Any]

FILE_SEARCH_RESULTS = "file_search_call.results"
CODE_INTERPRETER_OUTPUTS = "code_interpreter_call.outputs"
TOOL_CALL_TYPES = frozenset({"file_search_call", "code_interpreter_call"})


def search_result(
    file_id: str, filename: str, text: str, score: float = 0.9, attributes: Mapping[str, Any] | None = None
) -> Json:
    """One `file_search_call` result."""
    attrs = dict(attributes or {})
    return {"file_id": file_id, "filename": filename, "score": score, "text": text, "attributes": attrs}


def file_search_item(queries: Sequence[str], results: Sequence[Json]) -> Json:
    return {
        "id": f"fs_{secrets.token_hex(24)}",
        "type": "file_search_call",
        "status": "completed",
        "queries": list(queries),
        "results": [dict(result) for result in results],
    }


def code_interpreter_item(code: str, container_id: str, logs: str | None, images: Sequence[str]) -> Json:
    outputs: list[Json] = [{"type": "logs", "logs": logs}] if logs is not None else []
    outputs += [{"type": "image", "url": url} for url in images]
    return {
        "id": f"ci_{secrets.token_hex(24)}",
        "type": "code_interpreter_call",
        "status": "completed",
        "code": code,
        "container_id": container_id,
        "outputs": outputs,
    }


def cited_files(results: Iterable[Json]) -> list[tuple[str, str]]:
    """(file_id, filename) of each distinct file in `results`, in order."""
    seen: dict[str, str] = {}
    for result in results:
        seen.setdefault(result["file_id"], result.get("filename") or "")
    return list(seen.items())


def visible_item(item: Json, request: Mapping[str, Any]) -> Json:
    """`item` as the real API shows it for this request's `include`."""
    include = request.get("include") or ()
    if item["type"] == "file_search_call" and FILE_SEARCH_RESULTS not in include:
        return {**item, "results": None}
    if item["type"] == "code_interpreter_call" and CODE_INTERPRETER_OUTPUTS not in include:
        return {**item, "outputs": None}
    return item


def visible_output(items: Sequence[Json], request: Mapping[str, Any]) -> list[Json]:
    return [visible_item(item, request) for item in items]


def started_item(item: Json) -> Json:
    """The item as `response.output_item.added` shows it."""
    if item["type"] == "file_search_call":
        return {**item, "status": "in_progress", "queries": [], "results": None}
    return {**item, "status": "in_progress", "code": "", "outputs": None}


def tool_call_events(output_index: int, item: Json, code_chunks: Sequence[str]) -> list[Json]:
    """The events between `response.output_item.added` and `response.output_item.done` of a hosted tool call."""
    where = {"item_id": item["id"], "output_index": output_index}
    if item["type"] == "file_search_call":
        phases = ["in_progress", "searching", "completed"]
        return [{"type": f"response.file_search_call.{phase}", **where} for phase in phases]
    prefix = "response.code_interpreter_call"
    events: list[Json] = [{"type": f"{prefix}.in_progress", **where}]
    events += [{"type": f"{prefix}_code.delta", **where, "delta": chunk} for chunk in code_chunks]
    events.append({"type": f"{prefix}_code.done", **where, "code": item["code"]})
    events.append({"type": f"{prefix}.interpreting", **where})
    events.append({"type": f"{prefix}.completed", **where})
    return events


def with_search_results(output: Sequence[Json], results: Sequence[Json], cite: bool) -> list[Json]:
    """A copy of `output` whose `file_search_call` items hold `results` and, when `cite`, whose first message's
    text cites each result's file (a `file_citation` at the end of the text)."""
    items = copy.deepcopy(list(output))
    for item in items:
        if item["type"] == "file_search_call":
            item["results"] = [dict(result) for result in results]
    messages = [item for item in items if item["type"] == "message"]
    if cite and messages and messages[0]["content"][0]["type"] == "output_text":
        part = messages[0]["content"][0]
        part["annotations"] = file_citations(cited_files(results), len(part["text"]))
    return items


def file_citations(files: Iterable[tuple[str, str]], index: int) -> list[Json]:
    return [
        {"type": "file_citation", "file_id": file_id, "filename": filename, "index": index}
        for file_id, filename in files
    ]
