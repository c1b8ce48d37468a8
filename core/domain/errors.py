"""The one exception tree of the application.

Services raise these; `core.http` turns each into OpenAI's error envelope with the status code named here.
Adapters translate their SDKs' exceptions into these, so nothing above them sees a driver exception.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConcurrencyError",
    "InvalidRequestError",
    "NotFoundError",
    "RelayedError",
    "ServiceUnavailableError",
    "UpstreamError",
]


class ApiError(Exception):
    """Base of every error a client may see. ``status`` is the HTTP status, the rest the envelope's fields."""

    status: int = 500
    type: str = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def to_body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequestError(ApiError):
    """The request is malformed or not allowed in the current state (400)."""

    status = 400
    type = "invalid_request_error"


class NotFoundError(ApiError):
    """No such object for this caller (404); objects of other tenants are reported the same way."""

    status = 404
    type = "invalid_request_error"

    def __init__(self, kind: str, object_id: str) -> None:
        shown = "".join(char for char in object_id[:64] if char.isprintable()) + ("…" if len(object_id) > 64 else "")
        super().__init__(f"No {kind} found with id '{shown}'.")


class AuthenticationError(ApiError):
    """Missing or unknown API key (401)."""

    status = 401
    type = "invalid_request_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_api_key")


class RelayedError(ApiError):
    """The upstream's refusal of a forwarded request (Files, Vector Stores, Models), relayed with its status; the
    message is the upstream's, redacted."""

    type = "invalid_request_error"

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, param=param, code=code)
        self.status = status


class ServiceUnavailableError(ApiError):
    """A backing service (store, upstream) failed in a way the client may retry (503)."""

    status = 503
    type = "server_error"


class ConcurrencyError(Exception):
    """A conditional write lost a race: the document changed (or appeared) since it was read.

    Not an :class:`ApiError`: services catch it and re-read, so a client never sees it directly.
    """


class UpstreamError(Exception):
    """The Responses API call failed (HTTP error, timeout, broken stream, or an ``error`` event).

    ``code`` is the upstream error code when there is one; ``message`` is safe to show (no keys, no URLs).
    """

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
