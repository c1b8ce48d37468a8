"""Property-based bad input: every operation of infra/openapi.yaml, fed generated data (valid and invalid),
answers without a server error, and refuses with OpenAI's error envelope (schemathesis strategies, bounded).

It runs on every store: validation is shared, but what passes it reaches Redis and Cosmos DB, whose adapters refuse
other things than the memory store (sizes, characters, numbers); a cursor holding a `/` was a 500 on Cosmos DB only.
The two real stores get a smaller budget: on the 2-core CI machine about 8-11 s on memory and 4-6 s each on Redis and
the Cosmos DB emulator (the limit is about a minute per store)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.e2e.conftest import Service

SPEC = Path(__file__).resolve().parents[2] / "infra" / "openapi.yaml"
#: examples per operation and generation mode; "deployed" (E2E_BASE_URL) gets the small budget too
MAX_EXAMPLES = {"memory": 8}
SMALL_BUDGET = 4


def test_no_server_errors_and_openai_shaped_refusals(service: Service) -> None:
    headers = {"Authorization": f"Bearer {service.api_key}"}
    examples = MAX_EXAMPLES.get(service.store, SMALL_BUDGET)
    operations = [result.ok() for result in schemathesis.openapi.from_path(SPEC).get_all_operations()]
    assert len(operations) >= 24
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                response = case.call(base_url=service.base_url, headers=headers, timeout=10)
                where = f"[{service.store}] {case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
                if response.status_code >= 400:
                    error = response.json()["error"]
                    assert set(error) == {"message", "type", "param", "code"}, where
                    assert error["message"], where

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong, e.g. GET /health has no input
