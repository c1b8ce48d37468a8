"""Typed settings, read from the environment on first use and never at import time.

Every setting the app reads is a field of :class:`Settings`; ``SETTINGS`` lists them with a one-line meaning, and
`local.settings.json.example`, the README and `infra/` must name exactly the same set (a test compares them).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from core.http.entra import ENTRA_SETTINGS, EntraSettings

__all__ = ["RUN_QUEUE_NAME", "SETTINGS", "Settings", "get_settings", "parse_api_keys"]

DatabaseProvider = Literal["cosmos", "redis", "memory"]
RunQueueKind = Literal["in-process", "storage"]
RUN_QUEUE_NAME = "run-jobs"  # also in infra/modules/storage.bicep and the trigger of runs_execute

#: name -> meaning; the single list of settings this app reads.
SETTINGS: dict[str, str] = {
    "DATABASE_PROVIDER": "cosmos | redis | memory; unset: cosmos if COSMOS_ENDPOINT, else redis if REDIS_URL, "
    "else memory",
    "REDIS_URL": "Redis connection string (redis:// or rediss://)",
    "COSMOS_ENDPOINT": "Cosmos DB account endpoint",
    "COSMOS_DATABASE_ID": "Cosmos DB database name (default assistants)",
    "COSMOS_KEY": "Cosmos DB key, for the emulator only; managed identity when unset",
    "COSMOS_CREATE_CONTAINERS": "true: create the database and containers on first use (emulator/local only)",
    "OPENAI_API_KEY": "OpenAI upstream key",
    "OPENAI_BASE_URL": "OpenAI-compatible upstream base URL (default https://api.openai.com/v1)",
    "AZURE_OPENAI_ENDPOINT": "Azure OpenAI endpoint; selects Azure OpenAI as the upstream",
    "AZURE_OPENAI_API_KEY": "Azure OpenAI key; managed identity when unset",
    "AZURE_CLIENT_ID": "client id of a user-assigned managed identity",
    "API_KEYS": "comma-separated client keys, each 'key' or 'tenant:key'; every key is its own tenant",
    "MAX_REQUEST_BYTES": "largest request body accepted, in bytes (default 16777216); larger bodies get 413 before "
    "they are read",
    "MAX_UPLOAD_BYTES": "largest file upload accepted, in bytes (default 536870912, OpenAI's limit); streamed to "
    "the upstream, never held whole; larger uploads get 413",
    "RUN_QUEUE": "where non-streamed runs execute: in-process (default) or storage (the run-jobs queue of the "
    "AzureWebJobsStorage account, read by the queue-triggered function runs_execute)",
    "UPSTREAM_TIMEOUT_SECONDS": "timeout of one Responses API call (default 600)",
    "UPSTREAM_MAX_RETRIES": "retries on upstream 429/5xx/connection errors, with backoff (default 2)",
    "UPSTREAM_IDLE_TIMEOUT_SECONDS": "a streamed Responses call that sends no event for this long fails the run with "
    "server_error (default 120)",
    "UPSTREAM_OMIT_FIELDS": "comma-separated Responses request fields never sent upstream, for upstreams that refuse "
    "them (e.g. truncation,include,store); model and input cannot be omitted",
    "RUN_LEASE_SECONDS": "lease of the process executing a run, renewed while it works; a run whose lease lapsed is "
    "taken over (default 30)",
    "RUN_MAX_ATTEMPTS": "executions of one turn of a run (first try plus take-overs) before it fails with "
    "server_error (default 3)",
    "REDIS_MAX_CONNECTIONS": "size of the Redis connection pool; requests wait up to 10 s for a free connection "
    "(default 64)",
    "LOG_LEVEL": "DEBUG | INFO | WARNING | ERROR (default INFO)",
    **ENTRA_SETTINGS,  # ENTRA_TENANT_ID, ENTRA_AUDIENCE, ENTRA_ISSUER, ENTRA_JWKS_URL, ENTRA_REQUIRED_ROLES
}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


#: Settings whose values are secrets: in Azure they are Key Vault references, resolved by the platform.
_SECRET_SETTINGS = frozenset({"API_KEYS", "REDIS_URL", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "COSMOS_KEY"})


def _resolved(value: str | None) -> str | None:
    """``None`` for an App Service Key Vault reference that was not resolved (it arrives as its literal text, which
    must never become an accepted key)."""
    return None if value is not None and value.startswith("@Microsoft.KeyVault(") else value


_TENANT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEY = re.compile(r"[!-~]{1,256}")  # printable ASCII, no spaces; a comma or colon would be read as a separator


def parse_api_keys(raw: str, problems: list[str] | None = None) -> dict[str, str]:
    """Map each accepted client key to its tenant id.

    Entries are comma-separated, each ``key`` or ``tenant:key``: a tenant is 1-64 of ``A-Z a-z 0-9 _ . -``, a key
    8-256 printable ASCII characters without ``:`` or ``,``. A bare key gets a tenant id derived from a hash of the key,
    so the tenant id stored on every document never reveals it. A malformed entry accepts nothing and is reported in
    ``problems`` by its position (never its text, which holds a key).
    """
    keys: dict[str, str] = {}
    for position, entry in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not entry:
            continue
        fields = entry.split(":")
        if len(fields) == 1 and _KEY.fullmatch(entry):
            keys[entry] = "t_" + hashlib.sha256(entry.encode()).hexdigest()[:24]
        elif len(fields) == 2 and _TENANT.fullmatch(fields[0]) and _KEY.fullmatch(fields[1]):
            keys[fields[1]] = fields[0]
        elif problems is not None:
            problems.append(f"API_KEYS entry {position} is malformed (expected 'key' or 'tenant:key'; a tenant is "
                            "1-64 of A-Z a-z 0-9 _ . -, a key 1-256 printable characters without ':' or ','); it "
                            "accepts nothing")
    return keys


def _omit_fields(raw: str) -> frozenset[str]:
    fields = frozenset(name.strip() for name in raw.split(",") if name.strip())
    if fields & {"model", "input"}:
        raise ValueError("UPSTREAM_OMIT_FIELDS cannot omit model or input")
    return fields


@dataclass(frozen=True)
class Settings:
    """The app's configuration; build it with :func:`Settings.from_env` (or directly in tests)."""

    database_provider: DatabaseProvider = "memory"
    redis_url: str | None = None
    cosmos_endpoint: str | None = None
    cosmos_database_id: str = "assistants"
    cosmos_key: str | None = field(default=None, repr=False)
    cosmos_create_containers: bool = False
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: str | None = field(default=None, repr=False)
    azure_client_id: str | None = None
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    run_queue: RunQueueKind = "in-process"
    # The Functions host's own storage connection (host settings, read only when RUN_QUEUE=storage).
    storage_connection: str | None = field(default=None, repr=False)
    storage_account: str | None = None
    storage_queue_uri: str | None = None  # AzureWebJobsStorage__queueServiceUri, when the host is given one
    storage_client_id: str | None = None
    upstream_timeout_seconds: float = 600.0
    upstream_max_retries: int = 2
    upstream_idle_timeout_seconds: float = 120.0
    upstream_omit_fields: frozenset[str] = frozenset()
    max_request_bytes: int = 16 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024
    problems: tuple[str, ...] = ()  # configuration problems the service runs despite (health reports them)
    run_lease_seconds: int = 30
    run_max_attempts: int = 3
    redis_max_connections: int = 64
    log_level: str = "INFO"
    entra: EntraSettings | None = None  # None: Entra ID tokens are not accepted (ENTRA_TENANT_ID unset)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        problems: list[str] = []

        def raw(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        def get(name: str) -> str | None:
            """The setting, or ``None`` for an unresolved Key Vault reference (reported, never used as a value)."""
            value = raw(name)
            if value is not None and _resolved(value) is None:
                if name in _SECRET_SETTINGS:
                    problems.append(f"{name} is a Key Vault reference the platform did not resolve; it is not used")
                return None
            return value

        provider = get("DATABASE_PROVIDER")
        if provider is None:
            provider = "cosmos" if get("COSMOS_ENDPOINT") else "redis" if get("REDIS_URL") else "memory"
        provider = provider.lower()
        if provider not in ("cosmos", "redis", "memory"):
            raise ValueError(f"DATABASE_PROVIDER must be cosmos, redis or memory, not {provider!r}")
        if provider == "redis" and not get("REDIS_URL"):
            raise ValueError("DATABASE_PROVIDER=redis needs REDIS_URL (set, and resolved if a Key Vault reference)")
        if provider == "cosmos" and not get("COSMOS_ENDPOINT"):
            raise ValueError("DATABASE_PROVIDER=cosmos needs COSMOS_ENDPOINT")
        run_queue = (get("RUN_QUEUE") or "in-process").lower()
        if run_queue not in ("in-process", "storage"):
            raise ValueError(f"RUN_QUEUE must be in-process or storage, not {run_queue!r}")
        return cls(
            database_provider=provider,  # type: ignore[arg-type]
            run_queue=run_queue,  # type: ignore[arg-type]
            storage_connection=get("AzureWebJobsStorage"),
            storage_account=get("AzureWebJobsStorage__accountName"),
            storage_queue_uri=get("AzureWebJobsStorage__queueServiceUri"),
            storage_client_id=get("AzureWebJobsStorage__clientId"),
            redis_url=get("REDIS_URL"),
            cosmos_endpoint=get("COSMOS_ENDPOINT"),
            cosmos_database_id=get("COSMOS_DATABASE_ID") or "assistants",
            cosmos_key=get("COSMOS_KEY"),
            cosmos_create_containers=_flag(get("COSMOS_CREATE_CONTAINERS")),
            openai_api_key=get("OPENAI_API_KEY"),
            openai_base_url=get("OPENAI_BASE_URL"),
            azure_openai_endpoint=get("AZURE_OPENAI_ENDPOINT"),
            azure_openai_api_key=get("AZURE_OPENAI_API_KEY"),
            azure_client_id=get("AZURE_CLIENT_ID"),
            api_keys=parse_api_keys(get("API_KEYS") or "", problems),
            max_request_bytes=max(1024, int(get("MAX_REQUEST_BYTES") or 16 * 1024 * 1024)),
            max_upload_bytes=max(1024, int(get("MAX_UPLOAD_BYTES") or 512 * 1024 * 1024)),
            problems=tuple(dict.fromkeys(problems)),  # a setting read twice is reported once
            upstream_timeout_seconds=float(get("UPSTREAM_TIMEOUT_SECONDS") or 600),
            upstream_max_retries=int(get("UPSTREAM_MAX_RETRIES") or 2),
            upstream_idle_timeout_seconds=float(get("UPSTREAM_IDLE_TIMEOUT_SECONDS") or 120),
            upstream_omit_fields=_omit_fields(get("UPSTREAM_OMIT_FIELDS") or ""),
            run_lease_seconds=max(1, int(get("RUN_LEASE_SECONDS") or 30)),
            run_max_attempts=max(1, int(get("RUN_MAX_ATTEMPTS") or 3)),
            redis_max_connections=max(1, int(get("REDIS_MAX_CONNECTIONS") or 64)),
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            entra=EntraSettings.from_env(env),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings.from_env()
