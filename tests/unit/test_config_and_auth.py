"""Settings parsing and API-key authentication."""

from __future__ import annotations

import pytest

from core.config import Settings, parse_api_keys
from core.domain.errors import AuthenticationError
from core.http.auth import tenant_for


def test_provider_defaults_to_what_is_configured() -> None:
    assert Settings.from_env({}).database_provider == "memory"
    assert Settings.from_env({"REDIS_URL": "redis://x"}).database_provider == "redis"
    assert Settings.from_env({"REDIS_URL": "redis://x", "COSMOS_ENDPOINT": "https://c"}).database_provider == "cosmos"
    with pytest.raises(ValueError, match="needs REDIS_URL"):
        Settings.from_env({"DATABASE_PROVIDER": "redis"})


def test_keys_map_to_tenants_without_revealing_the_key() -> None:
    keys = parse_api_keys("team-a:sk-a, sk-b")
    assert keys["sk-a"] == "team-a"
    assert keys["sk-b"].startswith("t_") and "sk-b" not in keys["sk-b"]
    assert "sk-a" not in repr(Settings(api_keys=keys))


def test_an_unresolved_key_vault_reference_accepts_no_key() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/api-keys)"
    assert Settings.from_env({"API_KEYS": reference}).api_keys == {}


def test_bearer_and_api_key_headers() -> None:
    keys = {"sk-a": "team-a"}
    assert tenant_for({"authorization": "Bearer sk-a"}, keys) == "team-a"
    assert tenant_for({"api-key": "sk-a"}, keys) == "team-a"
    for headers in ({}, {"authorization": "Bearer sk-x"}, {"authorization": "Basic sk-a"}):
        with pytest.raises(AuthenticationError):
            tenant_for(headers, keys)


@pytest.mark.parametrize("entry", ["team:sk-a:extra", ":sk-a", "team:", "bad tenant:sk-a", "sk a", "t" * 65 + ":sk-a"])
def test_a_malformed_api_keys_entry_accepts_nothing_and_is_reported_by_position(entry: str) -> None:
    settings = Settings.from_env({"API_KEYS": f"good:sk-good, {entry}"})
    assert settings.api_keys == {"sk-good": "good"}
    [problem] = settings.problems
    assert "API_KEYS entry 2 is malformed" in problem
    assert "sk-a" not in problem and "sk-good" not in problem  # never the key itself


def test_an_unresolved_key_vault_reference_is_reported() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/api-keys)"
    [problem] = Settings.from_env({"API_KEYS": reference}).problems
    assert "Key Vault" in problem and "kv-x" not in problem


def test_sdk_loggers_stay_quiet_unless_debugging() -> None:
    import logging

    from core.logs import configure_logging

    try:
        configure_logging("INFO")
        quiet = ("azure.core.pipeline.policies.http_logging_policy", "httpx", "openai", "uvicorn.access")
        assert all(logging.getLogger(name).level == logging.WARNING for name in quiet)
        configure_logging("DEBUG")
        assert logging.getLogger("httpx").level == logging.DEBUG
    finally:
        configure_logging("INFO")


def test_the_queue_uri_of_the_host_wins_over_the_account_name() -> None:
    settings = Settings.from_env({"AzureWebJobsStorage__queueServiceUri": "https://q.example/",
                                  "AzureWebJobsStorage__accountName": "acct"})
    assert settings.storage_queue_uri == "https://q.example/" and settings.storage_account == "acct"


def test_under_the_functions_worker_logs_go_through_its_root_handler_as_json_lines(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import logging
    import sys
    import types

    from core import logs

    captured: list[logging.LogRecord] = []

    class WorkerHandler(logging.Handler):  # the worker's handler sends record.getMessage() to the host
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    handler = WorkerHandler()
    app_logger = logging.getLogger("assistants")
    monkeypatch.setitem(sys.modules, "azure_functions_worker", types.ModuleType("azure_functions_worker"))
    monkeypatch.setattr(logs, "_worker_filter", None)
    monkeypatch.setattr(app_logger, "propagate", app_logger.propagate)
    monkeypatch.setattr(app_logger, "filters", list(app_logger.filters))
    logging.getLogger().addHandler(handler)
    try:
        logs.configure_logging("INFO")
        logs.get_logger("runs").warning("upstream call failed", extra={"run_id": "run_1", "status": 500})
    finally:
        logging.getLogger().removeHandler(handler)
        for name in [*logging.Logger.manager.loggerDict, "assistants"]:  # leave no logger filtered for other tests
            if name.startswith("assistants"):
                named = logging.getLogger(name)
                named.filters = [kept for kept in named.filters if not isinstance(kept, logs._AsJsonLine)]
    [record] = captured
    line = json.loads(record.getMessage())
    assert line["message"] == "upstream call failed" and line["run_id"] == "run_1" and line["level"] == "WARNING"
    assert line["component"] == "assistants.runs"


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "COSMOS_KEY", "REDIS_URL"])
def test_every_unresolved_secret_reference_is_reported_and_never_used(name: str) -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/s)"
    settings = Settings.from_env({name: reference})
    assert reference not in repr(vars(settings))
    assert [problem for problem in settings.problems if problem.startswith(name)]
    with pytest.raises(ValueError, match="REDIS_URL"):
        Settings.from_env({"DATABASE_PROVIDER": "redis", "REDIS_URL": reference})


def test_a_line_made_json_for_the_worker_is_not_wrapped_again_by_the_local_formatter() -> None:
    import json
    import logging

    from core.logs import JsonFormatter, _AsJsonLine

    record = logging.LogRecord("assistants.runs", logging.INFO, __file__, 1, "run done", (), None)
    record.run_id = "run_1"
    _AsJsonLine().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "run done" and line["run_id"] == "run_1"
