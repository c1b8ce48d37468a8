"""The Bicep under infra/: it parses, the modules fit together, and the security and hosting choices hold.

There is no Bicep compiler on PyPI, npm or Debian (the CLI is a .NET binary downloaded from GitHub), so these tests
parse with pycep-parser and check by hand what the compiler would catch at the seams: module parameters and outputs,
files loaded with loadTextContent, and the azd parameters file. checkov (.ci/infra-checks.sh) adds policy checks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_support import (
    FUNCTION_APP_BICEP,
    INFRA,
    MAIN_BICEP,
    REPO_ROOT,
    bicep_files,
    function_app_settings,
    load_json,
    load_yaml,
    parse_bicep,
    resource_config,
    resources_of_type,
    role_definition_ids,
    the_resource,
)

MODULES = INFRA / "modules"

# Built-in Azure role definition ids.
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
COSMOS_BUILT_IN_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def _modules(parsed: dict[str, Any]) -> dict[str, tuple[Path, dict[str, Any]]]:
    """symbolic name -> (module file, parameters passed)"""
    found = {}
    for name, declaration in parsed.get("modules", {}).items():
        assert declaration["type"] == "local", f"module {name}: only local modules (no registry access at deploy time)"
        found[name] = (MAIN_BICEP.parent / declaration["detail"]["path"], resource_config(declaration)["params"])
    return found


def test_there_are_bicep_files() -> None:
    assert MAIN_BICEP.is_file()
    assert len(bicep_files()) > 1


@pytest.mark.parametrize("path", bicep_files(), ids=_rel)
def test_bicep_file_parses(path: Path) -> None:
    parsed = parse_bicep(path)
    assert parsed.get("resources") or parsed.get("modules"), f"{_rel(path)} declares nothing"


def test_main_is_subscription_scoped_and_creates_the_resource_group() -> None:
    parsed = parse_bicep(MAIN_BICEP)
    assert parsed["globals"]["scope"]["value"] == "subscription"
    resource_group = the_resource(parsed, "Microsoft.Resources/resourceGroups")
    assert resource_group["tags"] == "tags"
    assert parsed["variables"]["tags"]["value"] == {"'azd-env-name'": "environmentName"}


@pytest.mark.parametrize("path", bicep_files(), ids=_rel)
def test_modules_receive_exactly_their_parameters(path: Path) -> None:
    for name, (module_file, passed) in _modules(parse_bicep(path)).items():
        assert module_file.is_file(), f"{_rel(path)}: module {name} points at missing {module_file}"
        declared = parse_bicep(module_file).get("parameters", {})
        unknown = set(passed) - set(declared)
        assert not unknown, f"{_rel(path)}: module {name} passes unknown parameters {sorted(unknown)}"
        required = {param for param, spec in declared.items() if spec.get("default") is None}
        missing = required - set(passed)
        assert not missing, f"{_rel(path)}: module {name} misses required parameters {sorted(missing)}"


@pytest.mark.parametrize("path", bicep_files(), ids=_rel)
def test_module_outputs_that_are_used_exist(path: Path) -> None:
    modules = _modules(parse_bicep(path))
    for symbol, output in re.findall(r"\b([A-Za-z_]\w*)\.outputs\.(\w+)", path.read_text(encoding="utf-8")):
        assert symbol in modules, f"{_rel(path)}: {symbol}.outputs.{output} but {symbol} is not a module"
        outputs = parse_bicep(modules[symbol][0]).get("outputs", {})
        assert output in outputs, f"{_rel(path)}: {_rel(modules[symbol][0])} has no output {output}"


@pytest.mark.parametrize("path", bicep_files(), ids=_rel)
def test_loaded_files_exist(path: Path) -> None:
    for relative in re.findall(r"load(?:Text|Json|YamlText)?Content\('([^']+)'", path.read_text(encoding="utf-8")):
        assert (path.parent / relative).is_file(), f"{_rel(path)} loads missing file {relative}"


@pytest.mark.parametrize("path", bicep_files(), ids=_rel)
def test_parameters_and_variables_are_used(path: Path) -> None:
    """What the Bicep linter's no-unused-params / no-unused-vars rules would flag."""
    parsed = parse_bicep(path)
    text = re.sub(r"//.*", "", path.read_text(encoding="utf-8"))
    for name in [*parsed.get("parameters", {}), *parsed.get("variables", {})]:
        assert len(re.findall(rf"\b{name}\b", text)) > 1, f"{_rel(path)}: {name} is declared but never used"


def test_parameters_file_fits_main() -> None:
    declared = parse_bicep(MAIN_BICEP)["parameters"]
    given = load_json(INFRA / "main.parameters.json")["parameters"]
    assert set(given) <= set(declared), f"unknown parameters: {sorted(set(given) - set(declared))}"
    required = {param for param, spec in declared.items() if spec.get("default") is None}
    assert required <= set(given), f"required but not in main.parameters.json: {sorted(required - set(given))}"
    assert given["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert given["location"]["value"] == "${AZURE_LOCATION}"
    for name, entry in given.items():
        value = entry["value"]
        assert isinstance(value, str) and re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}", value), (
            f"{name}: every value comes from the azd environment, never a literal (secrets included)"
        )


def test_outputs_are_upper_snake_case_and_hold_no_secret() -> None:
    outputs = parse_bicep(MAIN_BICEP)["outputs"]
    assert {"AZURE_LOCATION", "AZURE_FUNCTION_APP_NAME", "API_BASE_URL", "FUNCTION_APP_URL"} <= set(outputs)
    for name in outputs:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert not re.search(r"KEY|SECRET|PASSWORD|CONNECTION_STRING|TOKEN", name.replace("KEY_VAULT", "")), name
    for path in bicep_files():
        for name, spec in parse_bicep(path).get("outputs", {}).items():
            assert not any(d.get("type") == "secure" for d in spec.get("decorators", [])), f"{_rel(path)}: {name}"
            assert "listKeys" not in str(spec["value"]), f"{_rel(path)}: output {name} exposes a key"


def test_secure_parameters_are_marked_secure() -> None:
    for path in bicep_files():
        for name, spec in parse_bicep(path).get("parameters", {}).items():
            if re.search(r"(?i)apikey|password|secret", name) and not name.endswith("Uri"):
                assert any(d.get("type") == "secure" for d in spec["decorators"]), f"{_rel(path)}: {name}"


# ---------------------------------------------------------------------------------------------------- the Function App


def test_function_app_is_flex_consumption_python_with_the_user_assigned_identity() -> None:
    parsed = parse_bicep(FUNCTION_APP_BICEP)
    plan = the_resource(parsed, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True

    site = the_resource(parsed, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    properties = site["properties"]
    assert properties["httpsOnly"] is True
    assert properties["keyVaultReferenceIdentity"] == "identityId"
    config = properties["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "pythonVersion"}
    parameters = parse_bicep(FUNCTION_APP_BICEP)["parameters"]
    assert parameters["pythonVersion"]["default"] == "3.12"  # 3.11 can lose a cancellation inside redis-py calls
    assert set(config["scaleAndConcurrency"]) == {"instanceMemoryMB", "maximumInstanceCount", "triggers"}
    http = config["scaleAndConcurrency"]["triggers"]["http"]
    assert http == {"perInstanceConcurrency": "httpPerInstanceConcurrency"}  # SSE streams hold invocation slots
    assert parameters["httpPerInstanceConcurrency"]["default"] >= 100
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    # Flex Consumption rejects these site properties (ARM error 51021 in newer regions).
    rejected = {"linuxFxVersion", "alwaysOn", "ftpsState", "use32BitWorkerProcess", "functionAppScaleLimit"}
    assert not rejected & set(properties.get("siteConfig", {}))


def test_function_app_is_the_azd_service_api() -> None:
    site = the_resource(parse_bicep(FUNCTION_APP_BICEP), "Microsoft.Web/sites")
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "serviceName"}
    main_modules = parse_bicep(MAIN_BICEP)["modules"]
    assert resource_config(main_modules["functionApp"])["params"]["serviceName"] == "api"

    azure_yaml = load_yaml(REPO_ROOT / "azure.yaml")
    assert azure_yaml["services"] == {
        "api": {"project": ".", "language": "python", "host": "function", "remoteBuild": True}
    }
    assert azure_yaml["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}


def test_host_settings_are_identity_based_and_enable_http_streams() -> None:
    host, _ = function_app_settings()
    assert host["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert host["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    assert host["PYTHON_ENABLE_INIT_INDEXING"] == "1"
    assert "AzureWebJobsStorage" not in host, "a connection string would need a storage key"


# ---------------------------------------------------------------------------------------------------- data and keys


def test_storage_is_key_less_with_deployment_container_and_run_queue() -> None:
    parsed = parse_bicep(MODULES / "storage.bicep")
    account = the_resource(parsed, "Microsoft.Storage/storageAccounts")["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert the_resource(parsed, "Microsoft.Storage/storageAccounts/blobServices/containers")["name"] == (
        "deploymentContainerName"
    )
    assert the_resource(parsed, "Microsoft.Storage/storageAccounts/queueServices/queues")["name"] == "runQueueName"
    storage_params = resource_config(parse_bicep(MAIN_BICEP)["modules"]["storage"])["params"]
    assert storage_params["runQueueName"] == "run-jobs"
    assert role_definition_ids(parsed) == {STORAGE_BLOB_DATA_OWNER, STORAGE_QUEUE_DATA_CONTRIBUTOR}


def test_monitoring_is_entra_only() -> None:
    parsed = parse_bicep(MODULES / "monitoring.bicep")
    assert the_resource(parsed, "Microsoft.Insights/components")["properties"]["DisableLocalAuth"] is True
    assert role_definition_ids(parsed) == {MONITORING_METRICS_PUBLISHER}


def test_cosmos_is_key_less_serverless_with_both_containers() -> None:
    parsed = parse_bicep(MODULES / "cosmos.bicep")
    account = the_resource(parsed, "Microsoft.DocumentDB/databaseAccounts")["properties"]
    assert account["disableLocalAuth"] is True
    assert account["disableKeyBasedMetadataWriteAccess"] is True
    assert account["minimalTlsVersion"] == "Tls12"
    assert parsed["parameters"]["serverless"]["default"] is True
    assert parsed["parameters"]["databaseName"]["default"] == "assistants"
    assert "EnableServerless" in str(account["capabilities"])

    containers = resources_of_type(parsed, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
    partition_keys = {c["name"]: c["properties"]["resource"]["partitionKey"]["paths"] for c in containers.values()}
    assert partition_keys == {"assistants": ["/tenant_id"], "threads": ["/thread_id"]}

    assignments = resources_of_type(parsed, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert assignments, "the app needs a data-plane role"
    assert parsed["variables"]["dataContributorRoleId"]["value"] == COSMOS_BUILT_IN_DATA_CONTRIBUTOR
    for assignment in assignments.values():
        assert assignment["properties"]["roleDefinitionId"].endswith("/sqlRoleDefinitions/${dataContributorRoleId}")


def test_key_vault_is_rbac_only_and_the_identity_reads_secrets() -> None:
    parsed = parse_bicep(MODULES / "keyvault.bicep")
    vault = the_resource(parsed, "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert "accessPolicies" not in vault
    assert role_definition_ids(parsed) == {KEY_VAULT_SECRETS_USER}


def test_azure_openai_is_key_less_with_a_deployment() -> None:
    parsed = parse_bicep(MODULES / "openai.bicep")
    account = the_resource(parsed, "Microsoft.CognitiveServices/accounts")
    assert account["kind"] == "OpenAI"
    assert account["properties"]["disableLocalAuth"] is True
    assert the_resource(parsed, "Microsoft.CognitiveServices/accounts/deployments")["properties"]["model"]
    assert role_definition_ids(parsed) == {COGNITIVE_SERVICES_OPENAI_USER}


def test_redis_is_tls_only_and_its_url_goes_to_key_vault() -> None:
    parsed = parse_bicep(MODULES / "redis.bicep")
    redis = the_resource(parsed, "Microsoft.Cache/redis")["properties"]
    assert redis["enableNonSslPort"] is False
    assert redis["minimumTlsVersion"] == "1.2"
    secret = the_resource(parsed, "Microsoft.KeyVault/vaults/secrets")
    assert secret["properties"]["value"].startswith("rediss://")
    assert "listKeys" not in str(parsed["outputs"])


def test_api_management_imports_the_openapi_document() -> None:
    parsed = parse_bicep(MODULES / "apim.bicep")
    api = the_resource(parsed, "Microsoft.ApiManagement/service/apis")["properties"]  # one per route family
    assert api["path"] == {"operator": {"type": "property_accessor", "operands": {"operand_1": "family",
                                                                                   "operand_2": "path"}}}
    assert api["format"] == "openapi"
    assert api["value"]["function"]["type"] == "load_text_content"
    assert api["value"]["function"]["parameters"]["file_path"] == "../openapi.yaml"
    assert api["serviceUrl"] == "${backendUrl}/${family.path}"
    assert api["subscriptionRequired"] == "subscriptionRequired"
    assert parsed["parameters"]["subscriptionRequired"]["default"] is False
    assert parsed["parameters"]["skuName"]["default"] == "Consumption"
    policy = (MODULES / "apim-policy.xml").read_text(encoding="utf-8")
    assert 'buffer-response="false"' in policy, "SSE frames must not be buffered"
    apim_params = resource_config(parse_bicep(MAIN_BICEP)["modules"]["apim"])["params"]
    assert "functionApp" in str(apim_params["backendUrl"]) and "/v1" not in str(apim_params["backendUrl"])


def test_checkov_suppressions_give_a_reason() -> None:
    pattern = re.compile(r"checkov:skip=([A-Z0-9_]+)(.*)")
    for path in [*bicep_files(), INFRA / "openapi.yaml"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = pattern.search(line)
            if match:
                reason = match.group(2).lstrip(":").strip()
                assert len(reason) >= 20, f"{_rel(path)}: {match.group(1)} needs a reason: {line.strip()}"
