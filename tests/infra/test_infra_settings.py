"""One list of settings, four places: ``core.config.SETTINGS`` (what the app reads), local.settings.json.example,
the Function App's app settings in infra/modules/functionapp.bicep, and the README's settings table.

The differences are explicit allowlists below, each with its reason. The README table is the markdown table whose
header's first cell says "setting"; each row's first cell names one or more settings in backticks, e.g.

    | setting | meaning |
    |---|---|
    | `DATABASE_PROVIDER` | `cosmos` \\| `redis` \\| `memory` ... |
    | `COSMOS_ENDPOINT`, `COSMOS_DATABASE_ID` | ... |
"""

from __future__ import annotations

import re

from core.config import SETTINGS
from tests.infra.bicep_support import (
    REPO_ROOT,
    bicep_files,
    function_app_settings,
    load_json,
)

# Settings core/config.py reads that are never set in Azure.
NOT_IN_AZURE = {
    "COSMOS_KEY": "emulator only: in Azure, Cosmos DB key auth is disabled and the app uses its managed identity",
    "COSMOS_CREATE_CONTAINERS": "emulator/local only: in Azure the containers come from Bicep",
    "AZURE_OPENAI_API_KEY": "the Azure OpenAI account has local auth disabled: the app uses its managed identity",
}

# Settings for the Functions host, not for core/config.py, that local.settings.json.example may carry.
LOCAL_HOST_SETTINGS = {
    "AzureWebJobsStorage",
    "AzureWebJobsFeatureFlags",
    "AzureWebJobsSecretStorageType",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "PYTHON_ENABLE_INIT_INDEXING",
    "PYTHON_ISOLATE_WORKER_DEPENDENCIES",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}

# Settings for the Functions host and platform that functionapp.bicep sets (its hostSettings), exactly.
BICEP_HOST_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "PYTHON_ENABLE_INIT_INDEXING",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
}

# Settings whose values are secrets: in Azure they are Key Vault references, never literals.
SECRETS = {"API_KEYS", "OPENAI_API_KEY", "REDIS_URL"}


def _readme_settings() -> set[str]:
    readme = REPO_ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    names: set[str] = set()
    table: list[str] = []
    for line in [*readme.read_text(encoding="utf-8").splitlines(), ""]:
        if line.lstrip().startswith("|"):
            table.append(line.strip())
            continue
        if len(table) > 2 and "setting" in table[0].strip("|").split("|")[0].lower():
            for row in table[2:]:
                names |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row.strip("|").split("|")[0]))
        table = []
    return names


def test_allowlists_name_real_settings() -> None:
    assert set(NOT_IN_AZURE) <= set(SETTINGS)
    assert not BICEP_HOST_SETTINGS & set(SETTINGS)
    assert not LOCAL_HOST_SETTINGS & set(SETTINGS)
    assert set(SECRETS) <= set(SETTINGS)


def test_local_settings_example_names_every_setting() -> None:
    values = load_json(REPO_ROOT / "local.settings.json.example")["Values"]
    app_settings = set(values) - LOCAL_HOST_SETTINGS
    assert app_settings == set(SETTINGS), (
        f"missing from local.settings.json.example: {sorted(set(SETTINGS) - app_settings)}; "
        f"not in core.config.SETTINGS (nor a known host setting): {sorted(app_settings - set(SETTINGS))}"
    )


def test_bicep_sets_every_setting_that_applies_in_azure() -> None:
    _, core = function_app_settings()
    expected = set(SETTINGS) - set(NOT_IN_AZURE)
    assert set(core) == expected, (
        f"missing from functionapp.bicep: {sorted(expected - set(core))}; "
        f"not in core.config.SETTINGS or not for Azure: {sorted(set(core) - expected)}"
    )


def test_bicep_host_settings_are_the_known_ones() -> None:
    host, _ = function_app_settings()
    assert set(host) == BICEP_HOST_SETTINGS


def test_local_only_settings_never_reach_azure() -> None:
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        for name in NOT_IN_AZURE:
            assert not re.search(rf"\b{name}\b", text), f"{path.relative_to(REPO_ROOT)} mentions {name}"


def test_secrets_are_key_vault_references() -> None:
    _, core = function_app_settings()
    for name in SECRETS:
        assert str(core[name]).startswith("@Microsoft.KeyVault(SecretUri=${"), f"{name}: {core[name]!r}"


def test_readme_settings_table_names_every_setting() -> None:
    documented = _readme_settings()
    assert documented == set(SETTINGS), (
        f"missing from the README settings table: {sorted(set(SETTINGS) - documented)}; "
        f"not in core.config.SETTINGS: {sorted(documented - set(SETTINGS))}"
    )
