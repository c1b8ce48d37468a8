"""Azure Monitor (Application Insights) through the Azure Monitor OpenTelemetry distro, configured on first use.

Only when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (the Function App's host setting, from infra/): otherwise
this module imports nothing of OpenTelemetry and returns ``None``, so local runs and cold start pay nothing.

What the distro is told, and why:
- ``disable_logging``: the app's log lines already reach Application Insights through the Functions worker's handler,
  tied to their invocation (core/logs.py); a second, OpenTelemetry log pipeline would send each line twice.
- every automatic instrumentation off: the host already reports each HTTP invocation as a request (an instrumented
  ASGI app would report it again), and the traced store and gateway are the dependencies we want, with attributes we
  choose (the instrumentations would record URLs and headers we do not vet).
- the credential: the Application Insights resource accepts Entra ID ingestion only, so the worker authenticates
  the way ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` tells the host to (``ClientId=<id>;Authorization=AAD``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from core.logs import get_logger
from core.ports.telemetry import Telemetry

__all__ = ["CONNECTION_STRING", "from_environment"]

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
# The distro's instrumentations ("library names"), all turned off (see above).
_INSTRUMENTATIONS = ("azure_sdk", "django", "fastapi", "flask", "httpx", "psycopg2", "requests", "urllib", "urllib3")

_log = get_logger("telemetry")
_lock = threading.Lock()
_configured: Telemetry | None = None  # the distro installs global providers: once per process


def from_environment(env: Mapping[str, str] | None = None) -> Telemetry | None:
    """Telemetry exported to Azure Monitor when the connection string is set, else ``None``. A failure to set it up
    is logged and leaves telemetry off: it must never stop the app from serving."""
    global _configured
    env = os.environ if env is None else env
    connection_string = (env.get(CONNECTION_STRING) or "").strip()
    if not connection_string:
        return None
    with _lock:
        if _configured is None:
            try:
                _configured = _configure(connection_string, env.get(AUTHENTICATION_STRING))
            except Exception as error:  # a bad connection string, a missing package
                _log.error("telemetry is off: Azure Monitor could not be configured",
                           extra={"error_type": type(error).__name__})
                return None
        return _configured


def _configure(connection_string: str, authentication: str | None) -> Telemetry:
    from azure.monitor.opentelemetry import configure_azure_monitor

    from .otel import OpenTelemetry

    options: dict[str, Any] = {
        "connection_string": connection_string,
        "disable_logging": True,
        "instrumentation_options": {name: {"enabled": False} for name in _INSTRUMENTATIONS},
    }
    credential = _credential(authentication)
    if credential is not None:
        options["credential"] = credential
    # The Functions resource detector names the cloud role after the app, as the Python worker does for its own setup.
    os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")
    configure_azure_monitor(**options)
    _log.info("telemetry exported to Azure Monitor", extra={"entra_auth": credential is not None})
    return OpenTelemetry()


def _credential(authentication: str | None) -> Any:
    """A managed identity credential when the authentication string asks for Entra ID (AAD), else ``None``."""
    fields = dict(part.split("=", 1) for part in (authentication or "").split(";") if "=" in part)
    if fields.get("Authorization", "").strip().upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = fields.get("ClientId", "").strip()
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
