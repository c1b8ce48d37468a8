"""`GET /v1/health`: liveness without auth; touches nothing expensive (no database or upstream call)."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from core import __version__
from core.http._endpoint import Call, endpoint

bp = func.Blueprint()


async def health_check(call: Call) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "store": call.container.settings.database_provider}


bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)(
    endpoint(health_check, authenticate=False)
)
