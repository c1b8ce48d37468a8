"""Request fields an upstream may not support: those the operator omits (``UPSTREAM_OMIT_FIELDS``), and those the
service adds of its own accord and may drop when an upstream refuses them by name.

Responses-compatible gateways and servers (vLLM, LiteLLM bridges, internal proxies) refuse some fields OpenAI
accepts: ``truncation``, ``store``, ``include``, ``metadata``. A 400 that names one of these is answered by one retry
without it, remembered for the process; a field the user set (tools, temperature, ...) is never dropped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["OWN_FIELDS", "refused_own_field", "without"]

#: Fields the service adds to every request by itself (translation.build_request), safe to leave out.
OWN_FIELDS = frozenset({"truncation", "store", "include", "metadata"})
_REFUSAL = re.compile(r"unsupported|not supported|unknown|unrecognized|not allowed|not permitted|extra|invalid",
                      re.IGNORECASE)


def without(request: dict[str, Any], omitted: set[str] | frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in request.items() if name not in omitted}


def refused_own_field(request: dict[str, Any], body: Any) -> str | None:
    """The field of ours a 400 body names as refused, if it names exactly one that the request carried."""
    if not isinstance(body, dict):
        return None
    nested = body.get("error")
    error: dict[str, Any] = nested if isinstance(nested, dict) else body
    param, message = error.get("param"), str(error.get("message") or error.get("detail") or "")
    candidates = [name for name in OWN_FIELDS if name in request]
    if isinstance(param, str) and param in candidates:
        return param
    if not _REFUSAL.search(message):
        return None
    named = [name for name in candidates if re.search(rf"\b{name}\b", message)]
    return named[0] if len(named) == 1 else None
