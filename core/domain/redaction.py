"""Masking of credential-shaped text, so an upstream's error message can be shown to clients.

An upstream, or a gateway in front of it, may echo the request's headers in an error body or stream ``error``
event; copied verbatim into ``last_error.message``, that would hand the service's upstream key to every client.
Only the credential is replaced; the words around it stay, so the message still says what went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"

# Shorter configured values (placeholders such as "no-key") would blank ordinary words out of messages.
_MIN_SECRET_LENGTH = 8

# Three base64url segments whose header is a JSON object: a JWT (Entra ID tokens, most gateway tokens).
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# The token of an HTTP auth scheme (RFC 6750 b64token). The scheme word stays, so the message still names the header.
_SCHEME_TOKEN = re.compile(r"\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)
# A value labelled as a key, as a header (``api-key: …``), a query or form field (``api_key=…``) or JSON
# (``"api-key": "…"``). Brackets end the value too, so an earlier marker is never masked again.
_LABELLED_KEY = re.compile(
    r"""\b(api[-_ ]?key|subscription[-_]?key)(["']?\s*[:=]\s*["']?)([^\s"'&,;<>(){}\[\]]+)""", re.IGNORECASE
)
# OpenAI keys: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…; 20+ characters keeps names like "sk-learn" readable.
_OPENAI_KEY = re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}")
# Azure AI services (and Redis, Storage) keys of the older kind: 32 hex characters; longer hex runs are tokens too.
_HEX_KEY = re.compile(r"(?<![A-Za-z0-9_-])[0-9a-fA-F]{32,}(?![A-Za-z0-9_-])")
# Long base64/base64url runs (newer Azure keys are 84 characters). 40+ characters stays clear of OpenAI and Azure
# object ids; a run may not start with "/" so URL paths are left alone.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+_-][A-Za-z0-9+/_-]{39,}={0,2}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential-shaped part replaced by :data:`REDACTED`.

    Masked: each of ``secrets`` (exact matches; values shorter than 8 characters are ignored), the token after
    ``Bearer``/``Basic`` (any case), values labelled ``api-key``/``api_key``/``subscription-key`` (header, query or
    JSON form), OpenAI keys (``sk-…``), runs of 32+ hex characters, JWTs (``eyJ….….…``) and base64 runs of 40+
    characters mixing upper case, lower case and digits. Words, ids and URLs are kept.
    """
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)  # longest first, so a secret containing another goes whole
    text = _JWT.sub(REDACTED, text)
    text = _SCHEME_TOKEN.sub(_scheme_token, text)
    text = _LABELLED_KEY.sub(_labelled_key, text)
    text = _OPENAI_KEY.sub(REDACTED, text)
    text = _HEX_KEY.sub(_hex_key, text)
    return _LONG_TOKEN.sub(_long_token, text)


def _scheme_token(match: re.Match[str]) -> str:
    scheme, space, token = match.groups()
    value = token.rstrip(".")  # a dot ending the token ends the sentence; no credential ends in one
    # A word after the scheme is prose ("Bearer tokens are not accepted"); digits, symbols or inner capitals
    # ("dXNlcjpwYXNz") are not.
    looks_like_a_token = len(value) >= 24 or (
        len(value) >= 3 and (any(not c.isalpha() for c in value) or any(c.isupper() for c in value[1:]))
    )
    if not looks_like_a_token:
        return match.group(0)
    return f"{scheme}{space}{REDACTED}{token[len(value):]}"


def _labelled_key(match: re.Match[str]) -> str:
    label, separator, value = match.groups()
    if len(value) < _MIN_SECRET_LENGTH:  # "api_key=None", "api-key: missing" name no usable credential
        return match.group(0)
    return f"{label}{separator}{REDACTED}"


def _hex_key(match: re.Match[str]) -> str:
    value = match.group(0)
    # A long run of digits alone is a number, not a key.
    return REDACTED if any(c.isalpha() for c in value) and any(c.isdigit() for c in value) else value


def _long_token(match: re.Match[str]) -> str:
    value = match.group(0)
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)
    # Without all three it is a word list, a path or a lowercase id rather than random key material.
    return REDACTED if mixed else value
