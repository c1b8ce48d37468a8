"""Reading the deployment files for the infrastructure tests: Bicep through pycep-parser, YAML, JSON. No network.

pycep turns a Bicep file into nested dicts: ``parameters``, ``variables``, ``resources``, ``modules``, ``outputs``.
Identifiers and string literals both come out as plain strings (``name: runQueueName`` and ``name: 'run-jobs'`` look
alike), object keys keep their quotes when they had them, and expressions are nested ``function`` / ``operator`` dicts.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MAIN_BICEP = INFRA / "main.bicep"
FUNCTION_APP_BICEP = INFRA / "modules" / "functionapp.bicep"
OPENAPI = INFRA / "openapi.yaml"

# An app-setting name as it appears as an object key: pycep's own structural keys are all lower case.
_SETTING_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse_bicep(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = BicepParser().parse(file_path=path)
    return result


def unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def resource_config(declaration: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource or module declaration, also when it is conditional (``= if (...) {...}``)."""
    config: dict[str, Any] = declaration["config"]
    if "condition" in config and "config" in config:
        config = config["config"]
    return config


def resources_of_type(parsed: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource_config(declaration)
        for name, declaration in parsed.get("resources", {}).items()
        if declaration["type"].lower() == resource_type.lower() and not declaration.get("existing")
    }


def the_resource(parsed: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of_type(parsed, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def setting_items(node: Any) -> dict[str, Any]:
    """Every ``NAME: value`` pair under ``node`` whose key looks like an app setting, through unions and ternaries."""
    found: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            name = unquote(key)
            if _SETTING_NAME.match(name):
                found[name] = value
            found.update(setting_items(value))
    elif isinstance(node, list):
        for item in node:
            found.update(setting_items(item))
    return found


def union_arguments(expression: Any) -> list[str]:
    """The identifiers passed to ``union(a, b, ...)``."""
    assert isinstance(expression, dict) and expression.get("function", {}).get("type") == "union", expression
    return list(expression["function"]["parameters"].values())


def function_app_settings() -> tuple[dict[str, Any], dict[str, Any]]:
    """(host settings, core settings) as the Function App module defines them: name -> Bicep value."""
    parsed = parse_bicep(FUNCTION_APP_BICEP)
    variables = parsed["variables"]
    app_settings = the_resource(parsed, "Microsoft.Web/sites/config")
    assert app_settings["name"] == "appsettings"
    assert union_arguments(app_settings["properties"]) == ["hostSettings", "coreSettings"]
    host = setting_items(variables["hostSettings"]["value"])
    core: dict[str, Any] = {}
    for part in union_arguments(variables["coreSettings"]["value"]):
        core.update(setting_items(variables[part]["value"]))
    return host, core


def role_definition_ids(parsed: dict[str, Any]) -> set[str]:
    """Built-in role GUIDs granted by the role assignments in one Bicep file (through its variables)."""
    variables = {name: spec["value"] for name, spec in parsed.get("variables", {}).items()}
    granted: set[str] = set()
    for config in resources_of_type(parsed, "Microsoft.Authorization/roleAssignments").values():
        role = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        granted.add(variables.get(role, role))
    return granted


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def route_prefix() -> str:
    """``extensions.http.routePrefix`` of host.json (the Functions default is ``api``)."""
    host = load_json(REPO_ROOT / "host.json")
    prefix: str = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return prefix.strip("/")
