"""Fixtures of the fault tier: real processes started, broken and cleaned up by each test.

Every test gets its own fake Responses upstream (in this process), its own ``redis-server`` (append-only file in the
test's tmp_path) and its own service subprocess; the storage-queue tests add Azurite and queue-worker subprocesses.
All of them listen on free 127.0.0.1 ports and are stopped in the fixtures' teardown, whatever the outcome. When a
test fails, the tail of each of its processes' logs is added to the report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path

import openai
import pytest

from core.config import RUN_QUEUE_NAME
from tests.fake_responses import FakeResponsesServer
from tests.faults.support import (
    MODEL,
    LoggedProcess,
    QueueWorkerProcess,
    RedisProcess,
    ServiceFactory,
    ServiceProcess,
    WorkerFactory,
    service_env,
)
from tests.servers import azurite_queue

_PROCESSES = pytest.StashKey[list[LoggedProcess]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault injection with real processes (redis-server, the service, queue workers) killed, "
        "frozen and restarted by the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        for process in item.stash.get(_PROCESSES, []):
            report.sections.append((f"{process.name} log (tail)", process.log_tail(80)))
    return report


def _track(request: pytest.FixtureRequest, process: LoggedProcess) -> None:
    request.node.stash.setdefault(_PROCESSES, []).append(process)


@pytest.fixture
def fake() -> Iterator[FakeResponsesServer]:
    """The scripted upstream (empty script: every call answers the fake's default text at once)."""
    with FakeResponsesServer() as upstream:
        yield upstream


@pytest.fixture
def redis_process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisProcess]:
    directory = tmp_path / "redis"
    directory.mkdir()
    process = RedisProcess(directory)
    _track(request, process)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def make_service(request: pytest.FixtureRequest, tmp_path: Path,
                 fake: FakeResponsesServer) -> Iterator[ServiceFactory]:
    """Start a service subprocess against ``fake``: ``make_service(redis_url=..., extra={...})``."""
    started: list[ServiceProcess] = []

    def make(*, redis_url: str | None = None, extra: Mapping[str, str] | None = None) -> ServiceProcess:
        env = service_env(redis_url=redis_url, upstream_base_url=fake.base_url, extra=extra)
        process = ServiceProcess(env, tmp_path / f"service-{len(started)}.log")
        _track(request, process)
        started.append(process)
        return process.start()

    try:
        yield make
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def service(make_service: ServiceFactory, redis_process: RedisProcess) -> ServiceProcess:
    """The service on Redis with the in-process run queue."""
    return make_service(redis_url=redis_process.url)


@pytest.fixture
def client(service: ServiceProcess) -> Iterator[openai.OpenAI]:
    with service.client() as sdk:
        yield sdk


@pytest.fixture
def assistant_id(client: openai.OpenAI) -> str:
    return client.beta.assistants.create(model=MODEL, instructions="Answer briefly.").id


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """Azurite's queue service, started once (it takes 5 s to stop); yields its connection string."""
    with azurite_queue() as connection:
        yield connection


@pytest.fixture
def storage_connection(azurite: str) -> str:
    """Azurite with the run queues emptied for this test."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.queue import QueueClient

    for name in (RUN_QUEUE_NAME, f"{RUN_QUEUE_NAME}-poison"):
        with QueueClient.from_connection_string(azurite, name) as queue, suppress(ResourceNotFoundError):
            queue.clear_messages()
    return azurite


@pytest.fixture
def storage_service(storage_connection: str, make_service: ServiceFactory,
                    redis_process: RedisProcess) -> ServiceProcess:
    """The service on Redis with RUN_QUEUE=storage: background runs go to the run-jobs queue on Azurite."""
    return make_service(redis_url=redis_process.url,
                        extra={"RUN_QUEUE": "storage", "AzureWebJobsStorage": storage_connection})


@pytest.fixture
def make_worker(request: pytest.FixtureRequest, tmp_path: Path,
                storage_service: ServiceProcess) -> Iterator[WorkerFactory]:
    """Start a queue worker with the storage service's environment (same Redis, upstream and queue)."""
    started: list[QueueWorkerProcess] = []

    def make() -> QueueWorkerProcess:
        worker = QueueWorkerProcess(storage_service.env, tmp_path / f"worker-{len(started)}.log")
        _track(request, worker)
        started.append(worker)
        return worker.start()

    try:
        yield make
    finally:
        for worker in started:
            worker.stop()
