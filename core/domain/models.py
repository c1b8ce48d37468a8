"""The stored objects. Field names and shapes follow the Assistants v2 wire format (assistants-on-responses.md §3).

Each model also carries ``tenant_id`` (the owner) and, on runs, private execution state; presenters decide what
reaches the wire (`core.http.presenters`), storage keeps everything.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .run_status import RunStatus

__all__ = [
    "FILE_SEARCH_CONTENT",
    "JSON",
    "Assistant",
    "Message",
    "MessageStatus",
    "Run",
    "RunStep",
    "StepStatus",
    "Thread",
    "ToolCall",
    "Usage",
]

#: The ``include[]`` value that asks for the text of file_search results in run steps (the only one there is).
FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"

JSON = dict[str, Any]
MessageStatus = Literal["in_progress", "incomplete", "completed"]
StepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False, defer_build=True)  # cold start

    id: str
    created_at: int
    tenant_id: str
    _etag: str | None = PrivateAttr(default=None)  # version this copy was read at; None until stored


class Assistant(_Stored):
    object: Literal["assistant"] = "assistant"
    name: str | None = None
    description: str | None = None
    model: str
    instructions: str | None = None
    tools: list[JSON] = Field(default_factory=list)
    tool_resources: JSON = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    temperature: float | None = None
    top_p: float | None = None
    response_format: str | JSON = "auto"
    reasoning_effort: str | None = None


class Thread(_Stored):
    object: Literal["thread"] = "thread"
    metadata: dict[str, str] = Field(default_factory=dict)
    tool_resources: JSON = Field(default_factory=dict)
    active_run_id: str | None = None  # guarded by the thread's etag: at most one active run per thread


class Message(_Stored):
    object: Literal["thread.message"] = "thread.message"
    thread_id: str
    status: MessageStatus = "completed"
    incomplete_details: JSON | None = None
    completed_at: int | None = None
    incomplete_at: int | None = None
    role: Literal["user", "assistant"]
    content: list[JSON] = Field(default_factory=list)
    assistant_id: str | None = None
    run_id: str | None = None
    attachments: list[JSON] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)

    def text(self) -> str:
        """The concatenated value of the text parts."""
        return "".join(part["text"]["value"] for part in self.content if part.get("type") == "text")


class Usage(BaseModel):
    model_config = ConfigDict(defer_build=True)  # cold start: built on first use

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ToolCall(BaseModel):
    """A function call the model asked for, as the run's ``required_action`` lists it."""

    model_config = ConfigDict(defer_build=True)

    id: str
    name: str
    arguments: str


class Run(_Stored):
    object: Literal["thread.run"] = "thread.run"
    thread_id: str
    assistant_id: str
    status: RunStatus = "queued"
    required_action: JSON | None = None
    last_error: JSON | None = None
    expires_at: int | None = None
    started_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    incomplete_details: JSON | None = None
    model: str
    instructions: str = ""
    tools: list[JSON] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    usage: Usage | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: JSON = Field(default_factory=lambda: {"type": "auto", "last_messages": None})
    tool_choice: str | JSON = "auto"
    parallel_tool_calls: bool = True
    response_format: str | JSON = "auto"
    reasoning_effort: str | None = None

    # Execution state, never presented.
    tool_resources: JSON = Field(default_factory=dict)  # effective resources (vector stores, container files)
    output_items: list[JSON] = Field(default_factory=list)  # this run's Responses output items, replayed verbatim
    upstream_calls: int = 0
    accrued_usage: Usage = Field(default_factory=Usage)
    pending_tool_calls: list[ToolCall] = Field(default_factory=list)
    pending_step_id: str | None = None
    pending_usage: Usage | None = None  # usage of the call that asked for the pending tool calls
    # The lease (core.services._run_lifecycle): who executes the run, and until when (unix seconds) it must be claimed
    # or renewed before anyone may take it over. ``attempts`` counts executions of the current turn.
    lease_owner: str | None = None
    lease_expires_at: int | None = None
    attempts: int = 0


class RunStep(_Stored):
    object: Literal["thread.run.step"] = "thread.run.step"
    run_id: str
    assistant_id: str
    thread_id: str
    type: Literal["message_creation", "tool_calls"]
    status: StepStatus = "in_progress"
    step_details: JSON
    last_error: JSON | None = None
    expired_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    usage: Usage | None = None
