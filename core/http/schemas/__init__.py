"""Request schemas: pydantic models with OpenAI's limits; `parse` turns a failure into a 400 naming the param."""

from ._base import Strict, parse

__all__ = ["Strict", "parse"]
