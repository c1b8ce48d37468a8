"""`core.domain.redaction.redact`: credentials out, the rest of an upstream error message kept as written."""

from __future__ import annotations

import pytest

from core.domain.redaction import REDACTED, redact

R = REDACTED
KEY = "sk-upstream-fake"  # the e2e service's upstream key: too short and too plain for the sk- pattern alone
OPENAI_KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90"
SVCACCT_KEY = "sk-svcacct-0123456789abcdefABCDEF_-xyz"
AZURE_HEX_KEY = "0123456789abcdef0123456789abcdef"
AZURE_NEW_KEY = "9xQv2LmN8pR4tY7wZ1aB3cD5eF6gH0jK2lM4nP6qR8sT0uV2wX4yZ6aB8cD0eF2gH4jK6lM8nP0qR2sT4uV6wX8y"
JWT = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzIn0"
       ".c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA")

REDACTED_CASES: dict[str, tuple[str, str]] = {
    "configured key mid-sentence": (
        f"The key {KEY} is not valid for this model.", f"The key {R} is not valid for this model."),
    "authorization header echo": (
        f"Incorrect header: Authorization: Bearer {KEY}", f"Incorrect header: Authorization: Bearer {R}"),
    "bearer with an OpenAI key": (
        "Authorization: Bearer sk-abc123def456", f"Authorization: Bearer {R}"),
    "bearer in any case, sentence dot kept": (
        "got BEARER abc.def-123.", f"got BEARER {R}."),
    "basic credentials": (
        "Authorization: Basic dXNlcjpwYXNz was refused", f"Authorization: Basic {R} was refused"),
    "bearer JWT": (
        f"token Bearer {JWT} expired", f"token Bearer {R} expired"),
    "bare JWT": (
        f"Token {JWT} has expired.", f"Token {R} has expired."),
    "OpenAI project key": (
        f"Key {OPENAI_KEY} was revoked.", f"Key {R} was revoked."),
    "OpenAI service-account key": (
        f"Key {SVCACCT_KEY} lacks the scope.", f"Key {R} lacks the scope."),
    "api-key header": (
        f"Headers: api-key: {AZURE_HEX_KEY}; host: x", f"Headers: api-key: {R}; host: x"),
    "api-key header, short opaque value": (
        "API-KEY: secretvalue99", f"API-KEY: {R}"),
    "api_key query parameter": (
        "GET /v1/models?api_key=abcdefgh12&x=1 failed", f"GET /v1/models?api_key={R}&x=1 failed"),
    "JSON header echo": (
        f'{{"headers": {{"api-key": "{AZURE_HEX_KEY}", "accept": "*/*"}}}}',
        f'{{"headers": {{"api-key": "{R}", "accept": "*/*"}}}}'),
    "JSON authorization echo": (
        f'request headers {{"Authorization": "Bearer {OPENAI_KEY}"}}',
        f'request headers {{"Authorization": "Bearer {R}"}}'),
    "subscription key header": (
        "Ocp-Apim-Subscription-Key: 1234abcd5678efgh", f"Ocp-Apim-Subscription-Key: {R}"),
    "bare Azure hex key": (
        f"Access denied for key {AZURE_HEX_KEY}.", f"Access denied for key {R}."),
    "bare long Azure key": (
        f"Access denied for key {AZURE_NEW_KEY}.", f"Access denied for key {R}."),
    "several credentials in one message": (
        f"api-key={AZURE_HEX_KEY} and Bearer {OPENAI_KEY}", f"api-key={R} and Bearer {R}"),
}

UNCHANGED = [
    "The model produced invalid content.",
    "Invalid value for 'temperature': expected a number between 0 and 2.",
    "Bearer tokens are not accepted by this endpoint.",
    "Missing bearer token.",
    "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    "The api_key=None setting is not supported.",
    "The model gpt-4o-mini-2024-07-18 does not exist or you do not have access to it.",
    "No file found with id 'file-AbC123dEf456GhI789jKl0'.",
    "Item 'msg_67ccd3acc8d48190a77525dc6de64b4104becd2b8ff34f21' not found.",
    "Response resp_0123456789abcdef0123456789abcdef0123456789abcdef is not stored.",
    "Tool call call_AbCdEf0123456789GhIjKlMn has no output.",
    "Request req_4f1e2d3c4b5a69788796a5b4c3d2e1f0 failed; retry later.",
    "See https://learn.microsoft.com/azure/ai-services/openai/reference-preview#responses for details.",
    "Path /openai/deployments/MyDeployment2024/responses/ResponsesAPIEndpoint1 was not found.",
    "Install sk-learn or scikit-learn.",
    "The input is 123456789012345678901234567890123456 tokens long.",
    "",
]


@pytest.mark.parametrize(("text", "expected"), list(REDACTED_CASES.values()), ids=list(REDACTED_CASES))
def test_credentials_are_replaced_and_the_rest_kept(text: str, expected: str) -> None:
    assert redact(text, [KEY]) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact(text, [KEY]) == text


def test_every_configured_secret_is_replaced_wherever_it_occurs() -> None:
    plain = "CorrectHorseBatteryStaple"  # no pattern would catch it: only the secrets list does
    text = f"{plain} failed; retried with {plain}, then {AZURE_HEX_KEY}"
    assert redact(text, [plain, AZURE_HEX_KEY]) == f"{R} failed; retried with {R}, then {R}"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    assert redact("key: abcdefgh-12345678", ["abcdefgh", "abcdefgh-12345678"]) == f"key: {R}"


def test_short_and_empty_secrets_are_ignored() -> None:
    # Placeholders such as "no-key" would otherwise blank ordinary words out of every message.
    assert redact("no-key was given, so no key", ["", "no-key", "key"]) == "no-key was given, so no key"


def test_redacting_twice_changes_nothing_more() -> None:
    for text, _ in REDACTED_CASES.values():
        once = redact(text, [KEY])
        assert redact(once, [KEY]) == once


def test_secrets_may_be_any_iterable() -> None:
    assert redact(f"x {KEY} y", iter([KEY])) == f"x {R} y"
    assert redact(f"x {KEY} y") == f"x {KEY} y"  # no pattern matches it without the configured list
