"""Reading a JSON request body within bounds: size (checked before the body is read whole), media type, nesting
depth and number size. Every refusal is an :class:`~core.domain.errors.ApiError` in OpenAI's envelope, never a 500.

Why each bound: a body's size is what a client controls before anything else; deep nesting exhausts the parser's
recursion (a ``RecursionError``, a 500) and the stores' document limits; a 5,000-digit integer exceeds Python's
int-conversion limit (a ``ValueError``), and integers beyond 2**53 would be rounded by Cosmos DB, which keeps
doubles; ``NaN``/``Infinity`` are not JSON at all.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

from core.domain.errors import ApiError, InvalidRequestError

__all__ = ["MAX_DEPTH", "MAX_NUMBER_DIGITS", "MAX_SAFE_INTEGER", "PayloadTooLargeError", "UnsupportedMediaTypeError",
           "declared_length", "read_bytes", "read_json", "within"]

MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 64
MAX_SAFE_INTEGER = 2**53 - 1


class PayloadTooLargeError(ApiError):
    status = 413
    type = "invalid_request_error"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than this service accepts ({limit} bytes).",
                         code="request_too_large")


class UnsupportedMediaTypeError(ApiError):
    status = 415
    type = "invalid_request_error"

    def __init__(self, media_type: str) -> None:
        shown = "".join(char for char in media_type[:64] if char.isprintable())
        super().__init__(f"Unsupported Content-Type '{shown}': send the body as application/json.",
                         code="unsupported_media_type")


def declared_length(header: str | None, limit: int) -> int | None:
    """The Content-Length a client declared (``None`` without one), refused with 413 when over ``limit``."""
    length = int(header) if header is not None and header.strip().isdigit() else None
    if length is not None and length > limit:
        raise PayloadTooLargeError(limit)
    return length


async def within(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The body as it arrives, cut off with 413 as soon as it exceeds ``limit`` (a body sent without a length)."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise PayloadTooLargeError(limit)
        yield chunk


async def read_bytes(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` (from its Content-Length, or while
    reading a body sent without one)."""
    declared_length(declared, limit)
    body = bytearray()
    async for chunk in within(chunks, limit):
        body += chunk
    return bytes(body)


def check_media_type(content_type: str | None) -> None:
    """JSON, or no declared type (lenient with bare clients); anything else is refused."""
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(content_type)


def _number(text: str) -> Any:
    if len(text.lstrip("-").replace(".", "").split("e")[0].split("E")[0]) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    if not any(char in text for char in ".eE"):
        integer = int(text)
        if abs(integer) > MAX_SAFE_INTEGER:  # Cosmos DB (and JavaScript clients) keep numbers as doubles
            raise ValueError("integer out of range")
        return integer
    number = float(text)
    if math.isinf(number):  # 1e999: not representable, and stores cannot hold Infinity
        raise ValueError("number out of range")
    return number


def _not_a_number(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON value")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk would hit the recursion limit the check is guarding)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


def read_json(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw`` (``{}`` when empty), or a 400 saying what is wrong with it."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_int=_number, parse_float=_number, parse_constant=_not_a_number)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequestError("We could not parse the JSON body of your request.") from None
    except RecursionError:
        raise InvalidRequestError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError:
        raise InvalidRequestError(
            f"The JSON body holds a number with more than {MAX_NUMBER_DIGITS} digits, out of range, or NaN/Infinity."
        ) from None
    if not isinstance(value, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    if _depth(value) > MAX_DEPTH:
        raise InvalidRequestError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    return value
