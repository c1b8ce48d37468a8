"""Property-based bad input: every operation of infra/openapi.yaml, fed generated data (valid and invalid),
answers without a server error, and refuses with OpenAI's error envelope (schemathesis strategies, bounded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.e2e.conftest import Service

SPEC = Path(__file__).resolve().parents[2] / "infra" / "openapi.yaml"


def test_no_server_errors_and_openai_shaped_refusals(service: Service) -> None:
    if service.store != "memory":
        pytest.skip("the generated traffic exercises validation, which no store changes; one store is enough")
    headers = {"Authorization": f"Bearer {service.api_key}"}
    operations = [result.ok() for result in schemathesis.openapi.from_path(SPEC).get_all_operations()]
    assert len(operations) >= 24
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                response = case.call(base_url=service.base_url, headers=headers, timeout=10)
                assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
                if response.status_code >= 400:
                    error = response.json()["error"]
                    assert set(error) == {"message", "type", "param", "code"}
                    assert error["message"]

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong, e.g. GET /health has no input

