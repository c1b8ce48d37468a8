"""The health endpoint and the host's own errors."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Service


def test_health_needs_no_key_and_names_the_version(service: Service) -> None:
    response = httpx.get(f"{service.base_url}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"]


def test_unknown_route_is_an_openai_shaped_404(service: Service) -> None:
    response = httpx.get(f"{service.base_url}/nothing-here", headers={"Authorization": f"Bearer {service.api_key}"})
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_malformed_json_is_a_400(service: Service) -> None:
    response = httpx.post(
        f"{service.base_url}/assistants", content=b"{not json",
        headers={"Authorization": f"Bearer {service.api_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_api_key_header_is_accepted(service: Service) -> None:
    response = httpx.get(f"{service.base_url}/assistants", headers={"api-key": service.api_key})
    assert response.status_code == 200
    assert response.json()["object"] == "list"


def test_assistants_v1_is_refused(service: Service) -> None:
    response = httpx.get(f"{service.base_url}/assistants",
                         headers={"Authorization": f"Bearer {service.api_key}", "OpenAI-Beta": "assistants=v1"})
    assert response.status_code == 400
    assert "v2" in response.json()["error"]["message"]
