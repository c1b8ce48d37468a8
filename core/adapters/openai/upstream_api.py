"""`UpstreamApi` over httpx: OpenAI (or a compatible server) and Azure OpenAI's v1 API, key or managed identity.

A proxy rather than the SDK's typed methods: bodies pass through as the upstream wrote them (typed models would
drop fields the SDK does not know yet), uploads and downloads stream, and nothing here imports the openai SDK.
Idempotent reads are retried once on a connection error or a 5xx; writes are not, since they may have landed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from core.config import Settings
from core.domain.errors import RelayedError, ServiceUnavailableError
from core.domain.redaction import redact
from core.logs import get_logger
from core.ports.upstream_api import JSON, Download

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpUpstreamApi"]

_AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
_OPENAI_BASE_URL = "https://api.openai.com/v1"
_log = get_logger("upstream")


class HttpUpstreamApi:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secrets = tuple(key for key in (settings.openai_api_key, settings.azure_openai_api_key) if key)
        self._client: httpx.AsyncClient | None = None
        self._credential: Any = None
        self._token: Callable[[], Awaitable[str]] | None = None

    @property
    def serves_deployments(self) -> bool:
        return bool(self._settings.azure_openai_endpoint)

    def _base_url(self) -> str:
        settings = self._settings
        if settings.azure_openai_endpoint:
            return settings.azure_openai_endpoint.rstrip("/") + "/openai/v1/"
        if not (settings.openai_api_key or settings.openai_base_url):
            raise ServiceUnavailableError(
                "No model service is configured: set OPENAI_API_KEY, or AZURE_OPENAI_ENDPOINT, on the service.")
        return (settings.openai_base_url or _OPENAI_BASE_URL).rstrip("/") + "/"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            timeout = httpx.Timeout(self._settings.upstream_timeout_seconds, connect=10.0)
            self._client = httpx.AsyncClient(base_url=self._base_url(), timeout=timeout)
        return self._client

    async def _headers(self) -> dict[str, str]:
        settings = self._settings
        if settings.azure_openai_endpoint:
            if settings.azure_openai_api_key:
                return {"api-key": settings.azure_openai_api_key}
            if self._token is None:
                from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

                self._credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
                self._token = get_bearer_token_provider(self._credential, _AZURE_SCOPE)
            return {"Authorization": f"Bearer {await self._token()}"}
        return {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}

    async def call(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                   body: JSON | None = None) -> JSON:
        import httpx

        attempts = 2 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                response = await self._http().request(method, path, params=query, json=body,
                                                      headers=await self._headers())
            except httpx.HTTPError:
                if attempt + 1 < attempts:
                    continue
                raise ServiceUnavailableError("Could not reach the model service.") from None
            if response.status_code >= 500 and attempt + 1 < attempts:
                continue
            self._check(response.status_code, response.content)
            answer: Any = response.json()
            if not isinstance(answer, dict):
                raise ServiceUnavailableError("The model service answered with an unexpected body.")
            return answer
        raise AssertionError("unreachable")

    async def upload(self, path: str, content_type: str, body: AsyncIterator[bytes], length: int | None) -> JSON:
        import httpx

        headers = {**await self._headers(), "Content-Type": content_type}
        if length is not None:
            headers["Content-Length"] = str(length)
        try:
            response = await self._http().post(path, content=body, headers=headers)
        except httpx.HTTPError:
            raise ServiceUnavailableError("Could not reach the model service.") from None
        self._check(response.status_code, response.content)
        answer: Any = response.json()
        if not isinstance(answer, dict):
            raise ServiceUnavailableError("The model service answered with an unexpected body.")
        return answer

    async def download(self, path: str) -> Download:
        import httpx

        client = self._http()
        try:
            response = await client.send(client.build_request("GET", path, headers=await self._headers()),
                                         stream=True)
        except httpx.HTTPError:
            raise ServiceUnavailableError("Could not reach the model service.") from None
        if response.status_code >= 400:
            body = await response.aread()
            await response.aclose()
            self._check(response.status_code, body)

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            except httpx.HTTPError:
                _log.warning("upstream download broke off", extra={"path": path})
            finally:
                await response.aclose()

        length = response.headers.get("content-length")
        return Download(response.headers.get("content-type", "application/octet-stream"),
                        int(length) if length and length.isdigit() else None, chunks())

    def _check(self, status: int, body: bytes) -> None:
        """Relay a refusal the client can act on; hide what concerns only the service (its credentials, outages)."""
        if status < 400:
            return
        if status in (401, 403):
            _log.error("the model service rejected the service's credentials", extra={"status": status})
            raise ServiceUnavailableError("The service's model credentials were rejected.")
        if status >= 500:
            raise ServiceUnavailableError("The model service had an error.")
        error = _error_of(body)
        message = error.get("message")
        text = redact(message, self._secrets) if isinstance(message, str) and message else \
            f"The model service refused the request ({status})."
        param, code = error.get("param"), error.get("code")
        raise RelayedError(status, text, param=param if isinstance(param, str) else None,
                           code=code if isinstance(code, str) else ("rate_limit_exceeded" if status == 429 else None))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._credential is not None:
            await self._credential.close()


def _error_of(body: bytes) -> dict[str, Any]:
    import json

    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}
