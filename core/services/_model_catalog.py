"""Use cases of models: the upstream's model list, and the check that a model named at create time exists.

The list is cached: pickers call it often and it changes rarely. Azure OpenAI is called with deployment names, which
its model list does not show, and an upstream without a readable list (many compatible servers) cannot be checked:
either way a model is accepted as before, and a wrong one fails the run.
"""

from __future__ import annotations

import asyncio
import time

from core.domain.errors import ApiError, InvalidRequestError, NotFoundError
from core.logs import get_logger
from core.ports.upstream_api import JSON, UpstreamApi

__all__ = ["ModelCatalog"]

_log = get_logger("models")
_FRESH_SECONDS = 600.0  # how long a read list is trusted
_RETRY_SECONDS = 60.0  # how long an unreadable list is not asked for again


class ModelCatalog:
    def __init__(self, upstream: UpstreamApi) -> None:
        self._upstream = upstream
        self._listed: JSON | None = None
        self._read_at = -_FRESH_SECONDS
        self._failed_at = -_RETRY_SECONDS
        self._reading = asyncio.Lock()

    async def list(self) -> JSON:
        listed = await self._list()
        if listed is None:
            return await self._upstream.call("GET", "models")  # relays the upstream's own error
        return listed

    async def retrieve(self, model_id: str) -> JSON:
        listed = await self._list()
        if listed is not None:
            for model in listed.get("data") or []:
                if isinstance(model, dict) and model.get("id") == model_id:
                    return model
            if not self._upstream.serves_deployments:
                raise _model_not_found(model_id)
        return await self._upstream.call("GET", f"models/{model_id}")

    async def check(self, model: str, param: str = "model") -> None:
        """400 ``model_not_found`` for a model the upstream's list does not have, when that list can be read."""
        if self._upstream.serves_deployments:
            return
        listed = await self._list()
        if listed is None:
            return
        if not any(isinstance(entry, dict) and entry.get("id") == model for entry in listed.get("data") or []):
            error = _model_not_found(model)
            raise InvalidRequestError(error.message, param=param, code="model_not_found")

    async def _list(self) -> JSON | None:
        if self._fresh():
            return self._listed
        async with self._reading:  # the creates arriving together after a cold start ask the upstream once
            if self._fresh():
                return self._listed
            return await self._read()

    def _fresh(self) -> bool:
        """Whether the list in hand will do: read recently, or the upstream failed to give one recently."""
        now = time.monotonic()
        read_lately = self._listed is not None and now - self._read_at < _FRESH_SECONDS
        return read_lately or now - self._failed_at < _RETRY_SECONDS

    async def _read(self) -> JSON | None:
        now = time.monotonic()
        try:
            listed = await self._upstream.call("GET", "models")
        except ApiError as error:
            _log.warning("the upstream's model list could not be read; models are not checked",
                         extra={"status": error.status})
            self._failed_at = now
            return self._listed
        if not isinstance(listed.get("data"), list):
            self._failed_at = now
            return self._listed
        self._listed, self._read_at = listed, now
        return listed


def _model_not_found(model: str) -> NotFoundError:
    error = NotFoundError("model", model)
    shown = "".join(char for char in model[:64] if char.isprintable())
    error.message = f"The model '{shown}' does not exist or you do not have access to it."
    error.code = "model_not_found"
    return error
