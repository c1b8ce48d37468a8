"""Telemetry in Azure: the host exports OpenTelemetry, and the app's own traces and metrics (core/adapters/telemetry)
find what they need in the Function App's settings: the connection string, Entra ID authentication (the Application
Insights resource refuses key ingestion) and the distro among the runtime requirements."""

from __future__ import annotations

import re

from core.adapters.telemetry.azure_monitor import AUTHENTICATION_STRING, CONNECTION_STRING, _credential
from tests.infra.bicep_support import REPO_ROOT, function_app_settings, load_json


def test_the_host_exports_opentelemetry() -> None:
    assert load_json(REPO_ROOT / "host.json")["telemetryMode"] == "OpenTelemetry"


def test_the_distro_is_a_runtime_requirement() -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^azure-monitor-opentelemetry[<>=]", requirements, re.MULTILINE)


def test_the_app_gets_the_connection_string_and_entra_authentication() -> None:
    host, _ = function_app_settings()
    assert host[CONNECTION_STRING]
    authentication = str(host[AUTHENTICATION_STRING])
    assert "Authorization=AAD" in authentication and authentication.startswith("ClientId=")
    assert type(_credential(authentication.replace("${identityClientId}", "0a1b2c3d"))).__name__ == \
        "ManagedIdentityCredential"
    assert _credential(None) is None and _credential("Authorization=Key") is None
