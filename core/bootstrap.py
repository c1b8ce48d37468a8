"""The composition root: builds the object graph from settings, once per process, on first use.

Tests replace it with :func:`override` (e.g. services over a fresh in-memory store); nothing else constructs
adapters or services.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import Settings, get_settings
from core.http.entra import EntraValidator
from core.logs import configure_logging, get_logger
from core.ports.clock import Clock, SystemClock
from core.ports.responses import ResponsesGateway
from core.ports.run_queue import RunQueue
from core.ports.store import DocumentStore
from core.ports.telemetry import Telemetry
from core.ports.upstream_api import UpstreamApi

if TYPE_CHECKING:  # the services are imported by build(): importing the app (function indexing) stays cheap
    from core.services._model_catalog import ModelCatalog
    from core.services._run_lifecycle import RunLifecycle
    from core.services.assistants import AssistantService
    from core.services.files import FileService
    from core.services.messages import MessageService
    from core.services.run_control import RunControl
    from core.services.run_executor import RunExecutor
    from core.services.runs import RunService
    from core.services.steps import StepService
    from core.services.threads import ThreadService
    from core.services.vector_stores import VectorStoreService

__all__ = ["Container", "build", "build_gateway", "build_store", "build_upstream_api", "get_container", "override",
           "reset", "shutdown"]

_log = get_logger("bootstrap")


@dataclass
class Container:
    """Everything a request needs, built once."""

    settings: Settings
    store: DocumentStore
    assistants: AssistantService
    threads: ThreadService
    messages: MessageService
    runs: RunService
    run_control: RunControl
    executor: RunExecutor
    steps: StepService
    run_queue: RunQueue
    gateway: ResponsesGateway
    lifecycle: RunLifecycle
    files: FileService
    vector_stores: VectorStoreService
    models: ModelCatalog
    upstream: UpstreamApi
    entra: EntraValidator | None = None  # Entra ID access tokens, when ENTRA_TENANT_ID is set

    async def aclose(self) -> None:
        """Let background runs finish, then close connections (host shutdown, tests)."""
        await self.run_queue.close()
        await self.gateway.close()
        await self.upstream.close()
        await self.store.close()
        if self.entra is not None:
            await self.entra.aclose()


def build_store(settings: Settings) -> DocumentStore:
    """The configured store adapter; SDKs are imported here, not at module import."""
    if settings.database_provider == "redis":
        from core.adapters.redis.store import RedisStore

        assert settings.redis_url is not None
        return RedisStore.from_url(settings.redis_url, max_connections=settings.redis_max_connections)
    if settings.database_provider == "cosmos":
        from core.adapters.cosmos.store import CosmosStore

        return CosmosStore.from_settings(settings)
    from core.adapters.memory.store import MemoryStore

    _log.warning("using the in-memory store: data is lost on restart (set REDIS_URL or COSMOS_ENDPOINT)")
    return MemoryStore()


def build_gateway(settings: Settings) -> ResponsesGateway:
    from core.adapters.openai.gateway import OpenAIResponsesGateway

    return OpenAIResponsesGateway(settings)


def build_upstream_api(settings: Settings) -> UpstreamApi:
    from core.adapters.openai.upstream_api import HttpUpstreamApi

    return HttpUpstreamApi(settings)


def build_entra(settings: Settings) -> EntraValidator | None:
    """Entra ID token validation over the tenant's signing keys, or ``None`` when ENTRA_TENANT_ID is unset. No I/O
    here: the keys are fetched on the first token."""
    if settings.entra is None:
        return None
    from core.adapters.jwks.client import JwksSigningKeys

    entra = settings.entra
    keys = (JwksSigningKeys(jwks_url=entra.jwks_url) if entra.jwks_url is not None
            else JwksSigningKeys(openid_configuration_url=entra.openid_configuration_url))
    return EntraValidator(entra, keys)


def _warm_up_openai() -> None:
    """Import the openai SDK (about 0.7 s) on a background thread once the process serves, so the first run does not
    wait for it; a run that starts sooner waits on the import lock for the rest, never imports twice."""
    if "openai" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("openai",), name="warm openai", daemon=True).start()


def build_run_queue(settings: Settings, execute: Callable[[str, str, str], Awaitable[object]]) -> RunQueue:
    """In Azure, the storage queue read by ``runs_execute``; elsewhere, tasks of this process."""
    if settings.run_queue == "storage":
        from core.adapters.storage_queue.run_queue import StorageQueueRunQueue

        return StorageQueueRunQueue.from_settings(settings)
    from core.adapters.memory.run_queue import InProcessRunQueue

    return InProcessRunQueue(execute)


# db.system.name of each store adapter, for the store spans (OpenTelemetry's names where one exists).
_DB_SYSTEMS = {"cosmos": "azure.cosmosdb", "redis": "redis", "memory": "memory"}


def _build_telemetry() -> Telemetry | None:
    """Traces and metrics to Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure); else
    ``None``, with nothing of OpenTelemetry imported."""
    from core.adapters.telemetry.azure_monitor import from_environment

    return from_environment()


def build(
    settings: Settings,
    store: DocumentStore | None = None,
    clock: Clock | None = None,
    gateway: ResponsesGateway | None = None,
    entra: EntraValidator | None = None,
    upstream: UpstreamApi | None = None,
    telemetry: Telemetry | None = None,
) -> Container:
    """The object graph; pass ``store``/``clock``/``gateway`` to replace the configured ones (tests)."""
    from core.services._cancel import CancelSignals
    from core.services._model_catalog import ModelCatalog
    from core.services._owned import Ownership
    from core.services._repository import Repository
    from core.services._run_lifecycle import RunLifecycle
    from core.services._tool_files import ToolFiles
    from core.services.assistants import AssistantService
    from core.services.files import FileService
    from core.services.messages import MessageService
    from core.services.run_control import RunControl
    from core.services.run_executor import RunExecutor
    from core.services.runs import RunService
    from core.services.steps import StepService
    from core.services.threads import ThreadService
    from core.services.vector_stores import VectorStoreService

    store = store if store is not None else build_store(settings)
    clock = clock or SystemClock()
    gateway = gateway if gateway is not None else build_gateway(settings)
    if telemetry is not None:  # traced ports only when telemetry is on: locally, calls go straight through
        store = telemetry.traced_store(store, _DB_SYSTEMS[settings.database_provider])
        gateway = telemetry.traced_gateway(gateway, "azure.ai.openai" if settings.azure_openai_endpoint else "openai")
    repository = Repository(store)
    signals = CancelSignals()
    upstream = upstream if upstream is not None else build_upstream_api(settings)
    ownership = Ownership(store)
    tool_files = ToolFiles(ownership, upstream)
    models = ModelCatalog(upstream)

    # The queue executes with the executor, and the lifecycle re-queues lapsed runs through the queue: the closure
    # resolves `executor` when a job runs, after the graph is built.
    async def execute(tenant_id: str, thread_id: str, run_id: str) -> object:
        return await executor.execute(tenant_id, thread_id, run_id)

    run_queue = build_run_queue(settings, execute)
    lease = settings.run_lease_seconds
    lifecycle = RunLifecycle(repository, clock, run_queue, lease_seconds=lease, max_attempts=settings.run_max_attempts)
    executor = RunExecutor(repository, lifecycle, gateway, clock, signals, beat_seconds=min(1.0, lease / 3),
                           idle_timeout_seconds=settings.upstream_idle_timeout_seconds, tool_files=tool_files)
    if telemetry is not None:
        executor.telemetry = telemetry  # one span and duration per run execution
    return Container(
        settings=settings,
        store=store,
        assistants=AssistantService(repository, clock, models, tool_files),
        threads=ThreadService(repository, clock, lifecycle, tool_files),
        messages=MessageService(repository, clock, lifecycle, tool_files),
        runs=RunService(repository, clock, lifecycle, models, tool_files),
        run_control=RunControl(repository, clock, lifecycle, signals),
        executor=executor,
        steps=StepService(repository, lifecycle),
        run_queue=run_queue,
        gateway=gateway,
        lifecycle=lifecycle,
        files=FileService(ownership, upstream),
        vector_stores=VectorStoreService(ownership, upstream),
        models=models,
        upstream=upstream,
        entra=entra if entra is not None else build_entra(settings),
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
                for problem in settings.problems:
                    _log.error("configuration problem", extra={"problem": problem})
                if not settings.api_keys and settings.entra is None:
                    _log.error("API_KEYS is empty and ENTRA_TENANT_ID unset: every request will be refused with 401")
                _container = build(settings, telemetry=_build_telemetry())
                _warm_up_openai()
                _log.info("container ready", extra={"store": settings.database_provider})
    return _container


def override(container: Container | None) -> None:
    """Install a container (tests), or ``None`` to rebuild from settings on next use."""
    global _container
    _container = container


def reset() -> None:
    override(None)


async def shutdown() -> None:
    """Close the process-wide container if one was built."""
    if _container is not None:
        await _container.aclose()
