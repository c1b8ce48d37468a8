"""The HTTP functions function_app.py registers are exactly the operations of infra/openapi.yaml (method, path,
operationId = function name), and the storage queues the functions use are the ones infra/ creates.

This imports the real app: if function_app.py is missing or fails to import, these tests fail (in Azure that would
index zero functions). The import runs in a child Python process, because ``FunctionApp.get_functions()`` may be called
only once per app object (azure-functions 1.x records the names and rejects them the second time), and other tests
(the local host) call it too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from typing import Any

from core.http._routes import FAMILIES
from tests.infra.bicep_support import (
    MAIN_BICEP,
    OPENAPI,
    REPO_ROOT,
    function_app_settings,
    load_yaml,
    parse_bicep,
    resource_config,
    route_prefix,
)

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Operation = tuple[str, str, str]  # (METHOD, /full/path/{param}, operationId)


_LIST_FUNCTIONS = """
import json
import function_app

print(json.dumps([
    [function.get_function_name(), [binding.get_dict_repr() for binding in function.get_bindings()]]
    for function in function_app.app.get_functions()
], default=lambda value: getattr(value, "value", str(value))))
"""


@cache
def _registered() -> list[tuple[str, list[dict[str, Any]]]]:
    """(function name, bindings) of every function in function_app.app, read in a child process."""
    child = subprocess.run(
        [sys.executable, "-c", _LIST_FUNCTIONS], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert child.returncode == 0, f"importing function_app failed:\n{child.stderr}"
    return [(name, bindings) for name, bindings in json.loads(child.stdout.strip().splitlines()[-1])]


def _functions() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield from _registered()


def _normalize(path: str) -> str:
    path = re.sub(r"\{([^}:?=]+)[^}]*\}", r"{\1}", path)  # drop route constraints and defaults: {id:alpha} -> {id}
    return "/" + "/".join(segment for segment in path.split("/") if segment)


def _registered_http_operations() -> set[Operation]:
    prefix = route_prefix()
    operations: set[Operation] = set()
    for name, bindings in _functions():
        for binding in bindings:
            if binding["type"] != "httpTrigger":
                continue
            methods = binding.get("methods")
            assert methods, f"{name} accepts every HTTP method; register the methods explicitly"
            route = binding.get("route") or name
            for method in methods:
                verb = str(getattr(method, "value", method)).upper()
                operations.add((verb, _normalize(f"{prefix}/{route}"), name))
    return operations


def _documented_operations() -> set[Operation]:
    """Every path under every server (route family), its operation id with the family's function-name suffix."""
    document = load_yaml(OPENAPI)
    suffixes = {f"/{family.prefix}": family.suffix for family in FAMILIES}
    return {
        (method.upper(), _normalize(server["url"] + path), operation["operationId"] + suffixes[server["url"]])
        for server in document["servers"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_openapi_operations_are_the_registered_http_functions() -> None:
    registered = _registered_http_operations()
    documented = _documented_operations()
    assert registered, "function_app registers no HTTP function"
    assert documented == registered, (
        f"only in infra/openapi.yaml: {sorted(documented - registered)}; "
        f"only in function_app.py: {sorted(registered - documented)}"
    )


def test_route_families_are_the_openapi_servers_and_the_api_management_paths() -> None:
    assert route_prefix() == "", "the route families carry the prefixes (core/http/_routes.py); host.json adds none"
    prefixes = [family.prefix for family in FAMILIES]
    assert [server["url"] for server in load_yaml(OPENAPI)["servers"]] == [f"/{prefix}" for prefix in prefixes]
    apim = (MAIN_BICEP.parent / "modules" / "apim.bicep").read_text()
    assert re.findall(r"path: '([^']+)', displayName", apim) == prefixes


def test_storage_queue_bindings_use_infra_queues_and_the_identity_based_connection() -> None:
    storage_params = resource_config(parse_bicep(MAIN_BICEP)["modules"]["storage"])["params"]
    # The host creates a trigger's poison queue itself, next to the queue infra/ creates.
    queues = {storage_params["runQueueName"], storage_params["runQueueName"] + "-poison"}
    host, _ = function_app_settings()
    for name, bindings in _functions():
        for binding in bindings:
            if binding["type"] not in ("queueTrigger", "queue"):
                continue
            assert binding["queueName"] in queues, f"{name}: queue {binding['queueName']} is not created in infra/"
            connection = binding.get("connection") or "AzureWebJobsStorage"
            assert f"{connection}__accountName" in host or f"{connection}__queueServiceUri" in host, (
                f"{name}: connection {connection} has no identity-based settings in functionapp.bicep"
            )
