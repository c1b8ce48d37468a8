"""Bodies of `POST /assistants` and `POST /assistants/{assistant_id}` (§2.1)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import Strict
from ._common import AssistantTool, Metadata, ResponseFormat, ToolResources

__all__ = ["AssistantCreate", "AssistantUpdate"]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class AssistantUpdate(Strict):
    model: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[AssistantTool] | None = Field(default=None, max_length=128)
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None

    def changes(self) -> dict[str, Any]:
        """The supplied fields in stored form; an explicit null stays null (it resets the field)."""
        changes: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None:
                changes[name] = None
            elif name == "tools":
                changes[name] = [tool.model_dump(exclude_unset=True, by_alias=True) for tool in value]
            elif name == "tool_resources":
                changes[name] = value.stored()
            elif name == "response_format" and not isinstance(value, str):
                changes[name] = value.model_dump(exclude_unset=True, by_alias=True)
            else:
                changes[name] = value
        return changes


class AssistantCreate(AssistantUpdate):
    model: str = Field(min_length=1)
