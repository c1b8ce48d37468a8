"""The composition root: builds the object graph from settings, once per process, on first use.

Tests replace it with :func:`override` (e.g. services over a fresh in-memory store); nothing else constructs
adapters or services.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.config import Settings, get_settings
from core.logs import configure_logging, get_logger
from core.ports.clock import Clock, SystemClock
from core.ports.store import DocumentStore
from core.services._repository import Repository
from core.services.assistants import AssistantService
from core.services.messages import MessageService
from core.services.threads import ThreadService

__all__ = ["Container", "build", "build_store", "get_container", "override", "reset"]

_log = get_logger("bootstrap")


@dataclass
class Container:
    """Everything a request needs, built once."""

    settings: Settings
    store: DocumentStore
    assistants: AssistantService
    threads: ThreadService
    messages: MessageService
    api_keys: Mapping[str, str] = field(repr=False, default_factory=dict)


def build_store(settings: Settings) -> DocumentStore:
    """The configured store adapter; SDKs are imported here, not at module import."""
    if settings.database_provider == "redis":
        from core.adapters.redis.store import RedisStore

        assert settings.redis_url is not None
        return RedisStore.from_url(settings.redis_url)
    if settings.database_provider == "cosmos":
        from core.adapters.cosmos.store import CosmosStore

        return CosmosStore.from_settings(settings)
    from core.adapters.memory.store import MemoryStore

    _log.warning("using the in-memory store: data is lost on restart (set REDIS_URL or COSMOS_ENDPOINT)")
    return MemoryStore()


def build(settings: Settings, store: DocumentStore | None = None, clock: Clock | None = None) -> Container:
    store = store if store is not None else build_store(settings)
    clock = clock or SystemClock()
    repository = Repository(store)
    return Container(
        settings=settings,
        store=store,
        assistants=AssistantService(repository, clock),
        threads=ThreadService(repository, clock),
        messages=MessageService(repository, clock),
        api_keys=settings.api_keys,
    )


_container: Container | None = None
_lock = threading.Lock()


def get_container() -> Container:
    """The process-wide container, built on first call (building does no I/O; connections open lazily)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                settings = get_settings()
                configure_logging(settings.log_level)
                if not settings.api_keys:
                    _log.error("API_KEYS is empty: every request will be refused with 401")
                _container = build(settings)
                _log.info("container ready", extra={"store": settings.database_provider})
    return _container


def override(container: Container | None) -> None:
    """Install a container (tests), or ``None`` to rebuild from settings on next use."""
    global _container
    _container = container


def reset() -> None:
    override(None)
