"""Object ids: a type prefix and 24 base62 characters that sort in creation order.

The first 8 characters encode the creation time in milliseconds, the next 4 a per-process counter, the last 12 come
from a CSPRNG (71 bits). Sorting ids therefore sorts objects by creation (ties within one millisecond across
processes break randomly), which lets every store page by id ranges with no separate sequence field.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

__all__ = ["ALPHABET", "creation_key", "is_upstream_id", "is_well_formed", "new_id"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order, so strings sort like numbers
_BASE = len(ALPHABET)
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, _BASE)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``asst_0Q4xY2ab0001k9JmW2cXq8Lr``; later calls in this process sort after earlier ones."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _counter += 1
            now_ms = _last_ms
        else:
            _last_ms, _counter = now_ms, 0
        counter = _counter % _BASE**4
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{prefix}_{_encode(now_ms, 8)}{_encode(counter, 4)}{random_part}"


def creation_key(object_id: str) -> str:
    """The part of an id that sorts by creation time, comparable across types (``msg_…`` vs ``step_…``)."""
    return object_id.partition("_")[2]


_WELL_FORMED = re.compile(r"([a-z]{1,16})_[0-9A-Za-z]{1,64}")


def is_well_formed(object_id: str, prefix: str | None = None) -> bool:
    """Whether ``object_id`` could be an id (of ``prefix``'s kind): what is not never reaches a store, so no adapter
    sees a ``/``, a control character or a 5,000-character key."""
    match = _WELL_FORMED.fullmatch(object_id)
    return match is not None and (prefix is None or match.group(1) == prefix)


# Ids the upstream makes (file-…, vs_…, vsfb_…, cfile_…, model names) are short and plain; anything else is no id of
# theirs and reaches neither a store nor an upstream URL.
_UPSTREAM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def is_upstream_id(value: str) -> bool:
    """Whether ``value`` could be an id the upstream made (no ``/``, ``?``, ``..``, spaces or control characters)."""
    return _UPSTREAM_ID.fullmatch(value) is not None and ".." not in value
