"""Wire-shape checks: the Python SDK reads a missing field as None, so tests check the raw JSON against the
fields the Assistants API always sends (the openapi ``required`` lists; assistants-on-responses.md §3)."""

from __future__ import annotations

from typing import Any

REQUIRED: dict[str, set[str]] = {
    "assistant": {"id", "object", "created_at", "name", "description", "model", "instructions", "tools", "metadata"},
    "thread": {"id", "object", "created_at", "tool_resources", "metadata"},
    "thread.message": {"id", "object", "created_at", "thread_id", "status", "incomplete_details", "completed_at",
                       "incomplete_at", "role", "content", "assistant_id", "run_id", "attachments", "metadata"},
    "thread.run": {"id", "object", "created_at", "thread_id", "assistant_id", "status", "required_action",
                   "last_error", "expires_at", "started_at", "cancelled_at", "failed_at", "completed_at",
                   "incomplete_details", "model", "instructions", "tools", "metadata", "usage", "max_prompt_tokens",
                   "max_completion_tokens", "truncation_strategy", "tool_choice", "parallel_tool_calls",
                   "response_format"},
    "thread.run.step": {"id", "object", "created_at", "assistant_id", "thread_id", "run_id", "type", "status",
                        "step_details", "last_error", "expired_at", "cancelled_at", "failed_at", "completed_at",
                        "metadata", "usage"},
    "list": {"object", "data", "first_id", "last_id", "has_more"},
}


def assert_wire_shape(kind: str, body: dict[str, Any]) -> None:
    """``body`` carries every field of ``kind``, with the right ``object`` and integer timestamps."""
    missing = REQUIRED[kind] - body.keys()
    assert not missing, f"{kind} lacks {sorted(missing)}"
    assert body["object"] == kind
    for key, value in body.items():
        if key.endswith("_at") and value is not None:
            assert isinstance(value, int), f"{key} must be integer unix seconds, got {value!r}"
    if kind == "list":
        for item in body["data"]:
            assert_wire_shape(item["object"], item)


def upload(client: Any, data: bytes = b"The warranty lasts two years.\n", filename: str = "notes.txt",
           purpose: str = "assistants") -> Any:
    """A file uploaded through the service (references to files must name the caller's own, so tests that attach a
    file upload one first); ``client`` is an ``openai.OpenAI``."""
    return client.files.create(file=(filename, data), purpose=purpose)
