"""`ResponsesGateway` on ``openai.AsyncOpenAI``: OpenAI, any compatible endpoint, or Azure OpenAI's v1 API.

The SDK (about 0.7 s to import) is imported on the first call, and one client is reused for the process. Retries
with backoff on 429/5xx and connection errors are the SDK's (``UPSTREAM_MAX_RETRIES``); every failure leaves here
as an :class:`~core.domain.errors.UpstreamError` whose message is safe to show a client: text the upstream wrote goes
through :func:`~core.domain.redaction.redact`, since upstreams and gateways echo request headers in error bodies.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

from core.config import Settings
from core.domain.errors import UpstreamError
from core.domain.redaction import redact
from core.logs import get_logger

from ._fields import refused_own_field, without

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIResponsesGateway"]

_AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
_log = get_logger("upstream")


class OpenAIResponsesGateway:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secrets = tuple(key for key in (settings.openai_api_key, settings.azure_openai_api_key) if key)
        self._client: AsyncOpenAI | None = None
        self._credential: Any = None
        self._omitted = set(settings.upstream_omit_fields)

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            settings = self._settings
            common: dict[str, Any] = {
                "max_retries": settings.upstream_max_retries,
                "timeout": settings.upstream_timeout_seconds,
            }
            if settings.azure_openai_endpoint:
                api_key: Any = settings.azure_openai_api_key
                if api_key is None:
                    from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

                    self._credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
                    api_key = get_bearer_token_provider(self._credential, _AZURE_SCOPE)
                base_url = settings.azure_openai_endpoint.rstrip("/") + "/openai/v1/"
                self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, **common)
            else:
                if not (settings.openai_api_key or settings.openai_base_url):
                    raise UpstreamError(
                        "No model service is configured: set OPENAI_API_KEY, or AZURE_OPENAI_ENDPOINT, on the service."
                    )
                self._client = AsyncOpenAI(
                    api_key=settings.openai_api_key or "no-key",
                    base_url=settings.openai_base_url,
                    **common,
                )
        return self._client

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        import openai

        client = self._get_client()
        request = without(request, self._omitted)
        while True:
            try:
                # Events as plain JSON: the service maps dicts, and building the SDK's typed event models (then
                # dumping them back) cost most of the service's CPU on a streamed run.
                stream = await client.post("/responses", cast_to=object, body={**request, "stream": True},
                                           stream=True, stream_cls=openai.AsyncStream[object])
                break
            except openai.APIStatusError as error:
                field = refused_own_field(request, error.body) if error.status_code == 400 else None
                if field is None:
                    raise _upstream_error(error, self._secrets) from None
                # An upstream that refuses a field we add ourselves gets requests without it from now on.
                _log.warning("upstream refused a request field; sending requests without it", extra={"field": field})
                self._omitted.add(field)
                request = without(request, {field})
            except openai.APIError as error:
                raise _upstream_error(error, self._secrets) from None
        try:
            async for data in stream:
                if not isinstance(data, dict):
                    continue
                if data.get("type") == "error":
                    message = data.get("message")
                    raise UpstreamError(redact(str(message), self._secrets) if message else "The model stream failed.",
                                        code=data.get("code"))
                if data.get("type") == "response.failed":
                    _redact_response_error(data, self._secrets)
                yield data
        except openai.APIError as error:
            raise _upstream_error(error, self._secrets) from None
        finally:
            await stream.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._credential is not None:
            await self._credential.close()


def _redact_response_error(event: dict[str, Any], secrets: Sequence[str]) -> None:
    """Redacts, in place, the ``response.error.message`` of a ``response.failed`` event: it becomes last_error."""
    response = event.get("response")
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        error["message"] = redact(error["message"], secrets)


def _upstream_error(error: Exception, secrets: Sequence[str]) -> UpstreamError:
    import openai

    if isinstance(error, openai.APITimeoutError):
        return UpstreamError("The model did not answer in time.")
    if isinstance(error, openai.APIConnectionError):
        return UpstreamError("Could not reach the model service.")
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        body: Any = error.body if isinstance(error.body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        if status in (401, 403):  # the upstream rejected *our* credentials; never echo its message (it masks keys)
            return UpstreamError("The service's model credentials were rejected.", code="server_error", status=status)
        if status == 429:
            return UpstreamError("The model service is rate limiting requests.", code="rate_limit_exceeded",
                                 status=status)
        if status < 500:
            message = body.get("message") if isinstance(body.get("message"), str) else None
            return UpstreamError(redact(message, secrets) if message else
                                 f"The model service refused the request ({status}).", code=code, status=status)
        return UpstreamError("The model service had an error.", code=code, status=status)
    if isinstance(error, openai.APIError):
        body = error.body if isinstance(error.body, dict) else {}
        return UpstreamError(redact(error.message, secrets) if error.message else "The model stream failed.",
                             code=body.get("code"))
    return UpstreamError("The model service failed.")
