"""Structured logging: one JSON object per line with ISO timestamp, level, component, version and request id.

`configure_logging` is called by the composition root on first use, never at import. Only the fields passed via
``extra=`` and the message are written; nothing here ever formats request bodies or headers, so keys stay out of logs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from core import __version__

__all__ = ["REQUEST_ID", "JsonFormatter", "configure_logging", "get_logger", "under_functions_worker"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "_as_json", False):  # already a JSON line (see _AsJsonLine): never wrap it in another
            return record.getMessage()
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


_worker_filter: logging.Filter | None = None  # set when the Functions worker hosts the process


def get_logger(component: str) -> logging.Logger:
    logger = logging.getLogger(f"assistants.{component}")
    if _worker_filter is not None and _worker_filter not in logger.filters:
        logger.addFilter(_worker_filter)  # a logger's filters see only its own records, not its children's
    return logger


class _AsJsonLine(logging.Filter):
    """Turns a record's message into its JSON line, for handlers that print only the message (the Functions
    worker's), so Application Insights gets the same fields as a local stderr line."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = JsonFormatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_as_json", False):
            record.msg, record.args = self._formatter.format(record), ()
            record.exc_info = record.exc_text = None  # already in the line
            record._as_json = True
        return True


def under_functions_worker() -> bool:
    """Whether the Azure Functions Python worker hosts this process (its logging handler sits on the root logger)."""
    return any(name in sys.modules for name in ("azure_functions_worker", "proxy_worker"))


def configure_logging(level: str = "INFO") -> None:
    """The app's loggers as JSON lines: through the Functions worker's handler when it hosts the process (so each line
    is tied to its invocation in Application Insights), else on stderr (idempotent)."""
    logger = logging.getLogger("assistants")
    logger.setLevel(level)
    global _worker_filter
    if under_functions_worker():
        _worker_filter = _worker_filter or _AsJsonLine()
        ours = [name for name in logging.Logger.manager.loggerDict if name.startswith("assistants.")]
        for existing in [logger, *(logging.getLogger(name) for name in ours)]:
            if _worker_filter not in existing.filters:
                existing.addFilter(_worker_filter)
        logger.propagate = True
    else:
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
