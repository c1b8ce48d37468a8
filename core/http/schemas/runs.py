"""Bodies of run creation, create-thread-and-run, run update and tool-output submission (§2.3, §2.5, §2.6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import Strict
from ._common import AssistantTool, MessageCreate, Metadata, ResponseFormat, ToolResources
from .assistants import ReasoningEffort

__all__ = ["RunCreate", "RunUpdate", "SubmitToolOutputs", "ThreadAndRunCreate"]


class TruncationStrategy(Strict):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class NamedFunction(Strict):
    name: str = Field(min_length=1)


class FunctionChoice(Strict):
    type: Literal["function"]
    function: NamedFunction


class BuiltinChoice(Strict):
    type: Literal["file_search", "code_interpreter"]


ToolChoice = Literal["none", "auto", "required"] | FunctionChoice | BuiltinChoice


class _RunOptions(Strict):
    """What a run may override, shared by both ways of creating one."""

    assistant_id: str = Field(min_length=1)
    model: str | None = Field(default=None, min_length=1)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[AssistantTool] | None = Field(default=None, max_length=20)  # the spec: maxItems 20 on a run
    metadata: Metadata | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=256)
    max_completion_tokens: int | None = Field(default=None, ge=256)
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None

    def overrides(self) -> dict[str, Any]:
        """The run options in stored form; omitted and null both mean "inherit" (§2.5)."""
        values: dict[str, Any] = {}
        for name in self.model_fields_set - {"stream", "assistant_id", "additional_messages", "thread"}:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "tools":
                value = [tool.model_dump(exclude_unset=True, by_alias=True) for tool in value]
            elif name == "tool_resources":
                value = value.stored()
            elif hasattr(value, "model_dump"):
                value = value.model_dump(exclude_unset=name != "truncation_strategy", by_alias=True)
            values[name] = value
        return values


class RunCreate(_RunOptions):
    additional_instructions: str | None = None
    additional_messages: list[MessageCreate] | None = Field(default=None, max_length=32)
    reasoning_effort: ReasoningEffort | None = None


class ThreadSpec(Strict):
    messages: list[MessageCreate] | None = Field(default=None, max_length=32)
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None


class ThreadAndRunCreate(_RunOptions):
    thread: ThreadSpec | None = None
    tool_resources: ToolResources | None = None


class RunUpdate(Strict):
    metadata: Metadata | None = None


class ToolOutput(Strict):
    tool_call_id: str = Field(min_length=1)
    output: str


class SubmitToolOutputs(Strict):
    tool_outputs: Annotated[list[ToolOutput], Field(min_length=1)]
    stream: bool | None = None
