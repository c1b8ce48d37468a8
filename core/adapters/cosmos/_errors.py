"""Translation of Azure Cosmos DB SDK failures into the application's errors.

Conditions the store expects (404, 409, 412) are handled where they happen; everything else leaving the SDK passes
through :func:`translated`: transient failures (transport errors, timeouts, throttling after the SDK's own retries,
5xx) become :class:`ServiceUnavailableError` (503, the client may retry), anything else a generic 500. Messages name
status codes only, never request contents or keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import AzureError, HttpResponseError

from core.domain.errors import ApiError, ConcurrencyError, ServiceUnavailableError
from core.logs import get_logger

__all__ = ["CONFLICT_STATUSES", "is_missing_document", "status_of", "translated"]

_log = get_logger("cosmos")

#: Statuses of a conditional write that lost: not found (replace/conditional delete), conflict (create), precondition.
CONFLICT_STATUSES = frozenset({404, 409, 412})
#: Statuses worth retrying later: timeout, throttled (after the SDK's retries), retry-with, and server-side failures.
_TRANSIENT_STATUSES = frozenset({408, 410, 429, 449, 500, 502, 503, 504})
_OWNER_MISSING = 1003  # sub-status of a 404 when the database or container does not exist


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an SDK error, if it has one."""
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def is_missing_document(error: BaseException) -> bool:
    """A 404 about the document itself; sub-status 1003 means its database or container is missing (a setup error)."""
    return status_of(error) == 404 and getattr(error, "sub_status", None) != _OWNER_MISSING


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Run an SDK call, turning its failures into application errors (``ConcurrencyError`` passes through)."""
    try:
        yield
    except (ConcurrencyError, ApiError, ValueError):
        raise
    except HttpResponseError as error:  # includes a credential's ClientAuthenticationError (no status: 503)
        status = status_of(error)
        sub_status = getattr(error, "sub_status", None)
        _log.warning(
            "cosmos request failed", extra={"operation": operation, "status": status, "sub_status": sub_status}
        )
        if status is None or status in _TRANSIENT_STATUSES:
            raise ServiceUnavailableError("The database is unavailable; retry the request.") from error
        raise ApiError("The database rejected the request.") from error
    except (AzureError, TimeoutError, OSError) as error:  # transport, timeout, credential unavailable
        _log.warning("cosmos unreachable", extra={"operation": operation, "error": type(error).__name__})
        raise ServiceUnavailableError("The database is unavailable; retry the request.") from error
