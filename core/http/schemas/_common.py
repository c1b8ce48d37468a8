"""Field types shared by several request bodies (assistants-on-responses.md §1.4, §2.1, §2.4)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from ._base import Strict

__all__ = [
    "AssistantTool",
    "MessageCreate",
    "Metadata",
    "ResponseFormat",
    "ToolResources",
]


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 16:
        raise ValueError("metadata may have at most 16 keys")
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(f"metadata key '{key[:64]}…' is longer than 64 characters")
        if len(item) > 512:
            raise ValueError(f"metadata value for '{key}' is longer than 512 characters")
    return value


Metadata = Annotated[dict[str, str], AfterValidator(_check_metadata)]


class RankingOptions(Strict):
    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: float = Field(ge=0, le=1)


class FileSearchOptions(Strict):
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: RankingOptions | None = None


MAX_CONTENT_CHARACTERS = 256_000
MAX_ATTACHMENTS = 10
MAX_FUNCTION_SCHEMA_CHARACTERS = 100_000


def _check_schema_size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value)) > MAX_FUNCTION_SCHEMA_CHARACTERS:
        raise ValueError(f"the schema is larger than {MAX_FUNCTION_SCHEMA_CHARACTERS} characters of JSON")
    return value


class FunctionDefinition(Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = Field(default=None, max_length=1024)
    parameters: Annotated[dict[str, Any] | None, AfterValidator(_check_schema_size)] = None
    strict: bool | None = None


class CodeInterpreterTool(Strict):
    type: Literal["code_interpreter"]


class FileSearchTool(Strict):
    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


class FunctionTool(Strict):
    type: Literal["function"]
    function: FunctionDefinition


AssistantTool = Annotated[CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")]


class CodeInterpreterResources(Strict):
    file_ids: list[str] | None = Field(default=None, max_length=20)


class VectorStoreHelper(Strict):
    """A vector store to create with the assistant or thread (``tool_resources.file_search.vector_stores``)."""

    file_ids: list[str] | None = Field(default=None, max_length=10_000)
    chunking_strategy: dict[str, Any] | None = None
    metadata: Metadata | None = None


class FileSearchResources(Strict):
    vector_store_ids: list[str] | None = Field(default=None, max_length=1)
    vector_stores: list[VectorStoreHelper] | None = Field(default=None, max_length=1)


class ToolResources(Strict):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None

    def stored(self) -> dict[str, Any]:
        """The wire shape: only the id lists, only for the tools given."""
        stored: dict[str, Any] = {}
        if self.code_interpreter is not None:
            stored["code_interpreter"] = {"file_ids": self.code_interpreter.file_ids or []}
        if self.file_search is not None:
            stored["file_search"] = {"vector_store_ids": self.file_search.vector_store_ids or []}
            if self.file_search.vector_stores:  # created by the service, which keeps only their ids
                stored["file_search"]["vector_stores"] = [
                    helper.model_dump(exclude_none=True) for helper in self.file_search.vector_stores]
        return stored


class JsonSchemaFormat(Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class TextFormat(Strict):
    type: Literal["text"]


class JsonObjectFormat(Strict):
    type: Literal["json_object"]


class JsonSchemaResponseFormat(Strict):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = (
    Literal["auto"]
    | Annotated[TextFormat | JsonObjectFormat | JsonSchemaResponseFormat, Field(discriminator="type")]
)


class ImageFile(Strict):
    file_id: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrl(Strict):
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class TextPart(Strict):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT_CHARACTERS)


class ImageFilePart(Strict):
    type: Literal["image_file"]
    image_file: ImageFile


class ImageUrlPart(Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart, Field(discriminator="type")]


class AttachmentTool(Strict):
    type: Literal["code_interpreter", "file_search"]


class Attachment(Strict):
    file_id: str = Field(min_length=1)
    tools: list[AttachmentTool] = Field(default_factory=list)


class MessageCreate(Strict):
    role: Literal["user", "assistant"]
    content: (Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARACTERS)]
              | Annotated[list[ContentPart], Field(min_length=1, max_length=64)])
    attachments: list[Attachment] | None = Field(default=None, max_length=MAX_ATTACHMENTS)
    metadata: Metadata | None = None

    def fields(self) -> dict[str, Any]:
        """The message as the services take it (content parts as plain dicts)."""
        content = self.content if isinstance(self.content, str) else [
            part.model_dump(exclude_none=True) for part in self.content
        ]
        return {
            "role": self.role,
            "content": content,
            "attachments": [item.model_dump() for item in self.attachments or []],
            "metadata": self.metadata or {},
        }
