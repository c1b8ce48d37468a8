"""Structured logging: one JSON object per line with ISO timestamp, level, component, version and request id.

`configure_logging` is called by the composition root on first use, never at import. Only the fields passed via
``extra=`` and the message are written; nothing here ever formats request bodies or headers, so keys stay out of logs.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

from core import __version__

__all__ = ["REQUEST_ID", "JsonFormatter", "configure_logging", "get_logger"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": record.name,
            "version": __version__,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


#: Libraries that log a line per HTTP call at INFO; kept at WARNING unless LOG_LEVEL=DEBUG.
_THIRD_PARTY = ("azure", "azure.core.pipeline.policies.http_logging_policy", "httpx", "httpcore", "urllib3", "openai")


def get_logger(component: str) -> logging.Logger:
    return logging.getLogger(f"assistants.{component}")


def configure_logging(level: str = "INFO") -> None:
    """Send the app's loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("assistants")
    logger.setLevel(level)
    if not any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False
    # The endpoint wrapper logs one line per request itself; uvicorn's access line (the HTTP-streams extension's
    # server logs one at INFO) and the SDKs' per-request lines would flood Application Insights.
    chatty = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in _THIRD_PARTY:
        logging.getLogger(name).setLevel(chatty)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
