"""infra/openapi.yaml, the document API Management imports: valid OpenAPI 3.0, with the Assistants wire shapes."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.infra.bicep_support import OPENAPI, load_yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
STREAMING = {"runs_create", "threads_create_and_run", "runs_submit_tool_outputs"}
BINARY = {"files_content"}  # a file's bytes, as uploaded


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_document_is_valid_openapi_3() -> None:
    spec, _ = read_from_filename(str(OPENAPI))
    validate(spec)
    assert str(spec["openapi"]).startswith("3.0")


def test_every_operation_has_a_unique_id() -> None:
    document = load_yaml(OPENAPI)
    ids = [
        operation.get("operationId")
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert None not in ids
    assert len(ids) == len(set(ids))


def test_security_schemes_are_bearer_and_api_key_header() -> None:
    document = load_yaml(OPENAPI)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"] == {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header", "name": "api-key"}
    assert document["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert _operations(document)["health_check"]["security"] == [], "the liveness probe needs no key"


def test_only_the_streaming_operations_answer_with_event_streams() -> None:
    document = load_yaml(OPENAPI)
    for operation_id, operation in _operations(document).items():
        ok = _resolve(document, operation["responses"]["200"])
        content_types = set(ok["content"])
        if operation_id in BINARY:
            assert content_types == {"application/octet-stream"}, operation_id
        elif operation_id in STREAMING:
            assert content_types == {"application/json", "text/event-stream"}, operation_id
            assert _resolve(document, ok["content"]["application/json"]["schema"])["properties"]["object"]["enum"] == [
                "thread.run"
            ]
        else:
            assert content_types == {"application/json"}, operation_id


def test_errors_use_the_openai_envelope() -> None:
    document = load_yaml(OPENAPI)
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"message", "type", "param", "code"}
    for operation_id, operation in _operations(document).items():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = _resolve(document, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (operation_id, status)


def test_object_schemas_name_their_object_type() -> None:
    schemas = load_yaml(OPENAPI)["components"]["schemas"]
    expected = {
        "Assistant": "assistant",
        "Thread": "thread",
        "Message": "thread.message",
        "Run": "thread.run",
        "RunStep": "thread.run.step",
        "AssistantDeleted": "assistant.deleted",
        "ThreadDeleted": "thread.deleted",
        "MessageDeleted": "thread.message.deleted",
        "ListEnvelope": "list",
        "File": "file",
        "VectorStore": "vector_store",
        "VectorStoreDeleted": "vector_store.deleted",
        "VectorStoreFile": "vector_store.file",
        "VectorStoreFileDeleted": "vector_store.file.deleted",
        "VectorStoreFileBatch": "vector_store.files_batch",
        "Model": "model",
    }
    for name, object_type in expected.items():
        assert schemas[name]["properties"]["object"]["enum"] == [object_type], name
        assert "object" in schemas[name]["required"], name
