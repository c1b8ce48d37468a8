"""Validation plumbing shared by every request schema."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from core.domain.errors import InvalidRequestError

__all__ = ["Strict", "param_path", "parse"]

S = TypeVar("S", bound="Strict")

_UNION_TAGS = frozenset(
    {"code_interpreter", "file_search", "function", "text", "image_file", "image_url", "json_object", "json_schema",
     "str", "int", "float", "bool", "none"}
)
_UNION_FIELDS = frozenset(
    {"content", "response_format", "tool_choice", "truncation_strategy", "tools", "chunking_strategy"}
)


class Strict(BaseModel):
    """Base of request bodies: unknown fields are refused and JSON types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)  # built on first use: cold start


def param_path(loc: tuple[int | str, ...]) -> str:
    """``("tools", 0, "function", "function", "name")`` -> ``"tools[0].function.name"``.

    Pydantic puts the branch of a union in the location (a discriminator tag, or a type such as ``list[...]``);
    those entries are not parameters, so they are left out.
    """
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in part or part.startswith("constrained-") or part[:1].isupper():  # a union branch's class name
            continue  # a union branch named by type; the parameter is still `previous`
        elif part in _UNION_TAGS and (isinstance(previous, int) or previous in _UNION_FIELDS):
            pass
        else:
            path += f".{part}" if path else part
        previous = part
    return path


#: pydantic's type-error kinds -> OpenAI's wording of the expected JSON type
_EXPECTED = {"string_type": "a string", "int_type": "an integer", "float_type": "a decimal", "bool_type": "a boolean",
             "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
             "list_type": "an array", "none_required": "null"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def parse(schema: type[S], body: Any) -> S:
    """Validate ``body`` against ``schema`` or raise a 400 naming the first offending parameter."""
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        raise _to_invalid_request(exc) from None


def _to_invalid_request(exc: ValidationError) -> InvalidRequestError:
    # The deepest error is the most specific; among those, one that is not a mere type mismatch of a union branch.
    error = max(exc.errors(include_url=False), key=lambda item: (len(item["loc"]), not item["type"].endswith("_type")))
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        unknown = param_path(loc)
        return InvalidRequestError(f"Unknown parameter: '{unknown}'.", param=unknown, code="unknown_parameter")
    param = param_path(loc) or None
    if kind == "missing":
        return InvalidRequestError(f"Missing required parameter: '{param}'.", param=param,
                                   code="missing_required_parameter")
    where = f"'{param}'" if param else "the request body"
    if kind in _EXPECTED:
        got = _json_type(error.get("input"))
        return InvalidRequestError(f"Invalid type for {where}: expected {_EXPECTED[kind]}, but got {got} instead.",
                                   param=param, code="invalid_type")
    message = str(error["msg"]).removeprefix("Value error, ")
    return InvalidRequestError(f"Invalid value for {where}: {message}.".replace("..", "."), param=param,
                               code="invalid_value")
