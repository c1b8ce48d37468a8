"""Callers signed in with Entra ID (`azure_ad_token_provider`, what DefaultAzureCredential setups use) beside API
keys: each principal its own tenant, bad tokens a 401 in OpenAI's envelope."""

from __future__ import annotations

import time

import httpx
import jwt
import openai
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.conftest import Service
from tests.fake_responses import FakeResponsesServer
from tests.jwks import OID, token

OTHER_OID = "0c2a9a3e-5b1d-4f6e-8a7b-9c0d1e2f3a4b"


def _azure(service: Service, bearer: str) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=service.base_url.removesuffix("/v1"), api_version="2024-05-01-preview",
                              azure_ad_token_provider=lambda: bearer, max_retries=0, timeout=10)


def test_a_signed_in_principal_runs_the_flow_in_its_own_tenant(service: Service, client: openai.OpenAI,
                                                               fake: FakeResponsesServer) -> None:
    with _azure(service, token()) as azure, _azure(service, token(oid=OTHER_OID)) as other:
        assistant = azure.beta.assistants.create(model="gpt-4o-mini", name="entra")
        thread = azure.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        fake.reply_text("Hello, principal")
        run = azure.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                      poll_interval_ms=50)
        assert run.status == "completed"
        assert azure.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "Hello, principal"  # type: ignore[union-attr]
        with pytest.raises(openai.NotFoundError):
            other.beta.assistants.retrieve(assistant.id)  # another principal is another tenant
        with pytest.raises(openai.NotFoundError):
            client.beta.threads.retrieve(thread.id)  # and so is every API key
    assert OID not in str(assistant.model_dump())


@pytest.mark.parametrize("bad", ["expired", "audience", "signature", "none"])
def test_bad_tokens_are_401(service: Service, bad: str) -> None:
    if service.upstream is None:
        pytest.skip("the tokens are signed with the test's own keys, which only the local service trusts")
    if bad == "expired":
        bearer = token(exp=int(time.time()) - 3600)
    elif bad == "audience":
        bearer = token(aud="api://someone-else")
    elif bad == "signature":
        bearer = token(private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    else:
        bearer = jwt.encode({"oid": OID, "aud": "api://assistants", "exp": int(time.time()) + 600}, key=None,
                            algorithm="none")
    response = httpx.get(f"{service.base_url}/assistants", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and bearer not in error["message"]


async def test_the_async_azure_client_with_a_token_provider(service: Service, fake: FakeResponsesServer) -> None:
    async def provider() -> str:
        return token()

    async with openai.AsyncAzureOpenAI(azure_endpoint=service.base_url.removesuffix("/v1"), max_retries=0,
                                       api_version="2025-04-01-preview", azure_ad_token_provider=provider,
                                       timeout=10) as azure:
        assistant = await azure.beta.assistants.create(model="gpt-4o-mini")
        thread = await azure.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        fake.reply_text("Async hello")
        async with azure.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            await stream.until_done()
            final = await stream.get_final_run()
        assert final.status == "completed"
        [message] = [m async for m in azure.beta.threads.messages.list(thread.id) if m.role == "assistant"]
        assert message.content[0].text.value == "Async hello"  # type: ignore[union-attr]
