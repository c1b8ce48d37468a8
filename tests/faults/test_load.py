"""200 concurrent streamed runs, each on its own thread, against an upstream that takes ~1 s to answer: on Redis
(the pool must wait for a connection, not refuse) and on the Cosmos DB emulator.

What the user must see: every stream ends with ``thread.run.completed`` (none errors, none hangs pinging forever), and
afterwards every run reads ``completed``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import openai
import pytest

from core.config import Settings
from tests.fake_responses import DEFAULT_TEXT, FakeResponsesServer
from tests.faults.support import API_KEY, MODEL, RedisProcess, ServiceFactory, ServiceProcess, is_transient

pytestmark = [pytest.mark.faults]

RUNS = 200
UPSTREAM_DELAY_SECONDS = 1.0
#: All 200 streams end within this long (about 10 s on a 2-core machine; a hung run shows up as a timeout here).
LOAD_SECONDS = 60.0


@pytest.fixture
def redis_service(make_service: ServiceFactory, redis_process: RedisProcess) -> ServiceProcess:
    return make_service(redis_url=redis_process.url)


@pytest.fixture
def cosmos_service(make_service: ServiceFactory, cosmos_settings: Settings) -> Iterator[ServiceProcess]:
    from tests.integration.cosmos_support import drop_database

    settings = Settings(database_provider="cosmos", cosmos_endpoint=cosmos_settings.cosmos_endpoint,
                        cosmos_key=cosmos_settings.cosmos_key, cosmos_create_containers=True,
                        cosmos_database_id=f"faults-{uuid.uuid4().hex[:12]}")
    assert settings.cosmos_endpoint is not None and settings.cosmos_key is not None
    try:
        yield make_service(extra={
            "DATABASE_PROVIDER": "cosmos", "COSMOS_ENDPOINT": settings.cosmos_endpoint,
            "COSMOS_KEY": settings.cosmos_key, "COSMOS_DATABASE_ID": settings.cosmos_database_id,
            "COSMOS_CREATE_CONTAINERS": "true"})
    finally:
        asyncio.run(drop_database(settings))


async def _stream(client: openai.AsyncOpenAI, thread_id: str, assistant_id: str) -> tuple[str | None, str]:
    """(run id, how the stream ended: its last event, or the error that ended it)."""
    run_id: str | None = None
    last = "no events"
    try:
        stream = await client.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True)
        async with stream:
            async for event in stream:
                last = event.event
                if run_id is None and event.event == "thread.run.created":
                    run_id = event.data.id
    except openai.OpenAIError as error:
        status = getattr(error, "status_code", None)
        return run_id, f"{type(error).__name__}{f' {status}' if status else ''}"
    return run_id, last


async def _retrieve(client: openai.AsyncOpenAI, thread_id: str, run_id: str) -> str:
    for _ in range(50):
        try:
            return (await client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)).status
        except openai.OpenAIError as error:
            if not is_transient(error):
                raise
            await asyncio.sleep(0.2)
    return "unreadable"


async def _concurrent_streamed_runs(service: ServiceProcess, fake: FakeResponsesServer) -> None:
    for _ in range(RUNS):
        fake.reply_text(DEFAULT_TEXT, delay=UPSTREAM_DELAY_SECONDS)
    http = openai.DefaultAsyncHttpxClient(
        limits=httpx.Limits(max_connections=RUNS + 100, max_keepalive_connections=RUNS + 100), trust_env=False)
    async with openai.AsyncOpenAI(base_url=service.base_url, api_key=API_KEY, max_retries=0, timeout=60,
                                  http_client=http) as client:
        assistant = await client.beta.assistants.create(model=MODEL)
        limit = asyncio.Semaphore(20)

        async def new_thread(number: int) -> str:
            async with limit:
                content = f"Question {number}"
                return (await client.beta.threads.create(messages=[{"role": "user", "content": content}])).id

        threads = await asyncio.gather(*(new_thread(number) for number in range(RUNS)))
        started = time.monotonic()
        tasks = [asyncio.create_task(_stream(client, thread_id, assistant.id)) for thread_id in threads]
        done, pending = await asyncio.wait(tasks, timeout=LOAD_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.monotonic() - started
        endings = Counter(task.result()[1] for task in done)
        if pending:
            endings[f"still streaming after {LOAD_SECONDS:.0f} s"] = len(pending)
        assert endings == {"thread.run.completed": RUNS}, f"{RUNS} streams in {elapsed:.1f} s ended: {dict(endings)}"

        limit = asyncio.Semaphore(20)

        async def status(thread_id: str, run_id: str | None) -> str:
            assert run_id is not None
            async with limit:
                return await _retrieve(client, thread_id, run_id)

        results = [task.result() for task in tasks]
        statuses = Counter(await asyncio.gather(*(status(thread_id, run_id)
                                                  for thread_id, (run_id, _) in zip(threads, results, strict=True))))
        assert statuses == {"completed": RUNS}, f"runs read afterwards: {dict(statuses)}"


@pytest.mark.redis
async def test_200_concurrent_streamed_runs_on_redis(redis_service: ServiceProcess, fake: FakeResponsesServer) -> None:
    await _concurrent_streamed_runs(redis_service, fake)


@pytest.mark.cosmos
async def test_200_concurrent_streamed_runs_on_cosmos(cosmos_service: ServiceProcess,
                                                      fake: FakeResponsesServer) -> None:
    await _concurrent_streamed_runs(cosmos_service, fake)
