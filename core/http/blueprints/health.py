"""`GET /v1/health`: liveness without auth; touches nothing expensive (no database or upstream call)."""

from __future__ import annotations

from typing import Any

from core import __version__
from core.http._endpoint import Call
from core.http._routes import Routes

routes = Routes()
bp = routes.blueprint


async def health_check(call: Call) -> dict[str, Any]:
    """``degraded`` (still 200: the process serves) when the configuration has problems, listed without secrets."""
    settings = call.container.settings
    health: dict[str, Any] = {"status": "degraded" if settings.problems else "ok", "version": __version__,
                              "store": settings.database_provider}
    if settings.problems:
        health["problems"] = list(settings.problems)
    return health


routes("health", "GET", authenticate=False)(health_check)
