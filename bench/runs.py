"""Runs through the service vs the same answer asked of the fake upstream directly."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from tests.fake_responses import FakeResponsesServer

MODEL = "gpt-4o-mini"
SHORT = "A short answer."


def sync_client(base_url: str, api_key: str, on_request: Callable[[Any], None] | None = None) -> openai.OpenAI:
    hooks = {"request": [on_request]} if on_request else {}
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120,
                         http_client=openai.DefaultHttpxClient(event_hooks=hooks))


def async_client(base_url: str, api_key: str, connections: int = 300) -> openai.AsyncOpenAI:
    """An AsyncOpenAI whose connection pool lets every concurrent call have its own connection."""
    httpx_module = sys.modules[openai.DefaultAsyncHttpxClient.__mro__[1].__module__.partition(".")[0]]
    limits = httpx_module.Limits(max_connections=connections, max_keepalive_connections=connections)
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120,
                              http_client=openai.DefaultAsyncHttpxClient(limits=limits))


@dataclass
class Polled:
    ours_ms: float
    direct_ms: float
    reads_per_run: float
    failures: int


def create_and_poll(service_url: str, api_key: str, upstream: FakeResponsesServer, repeat: int,
                    delay: float = 0.2) -> Polled:
    """Median ``runs.create_and_poll`` of a run whose upstream answers after ``delay`` vs a direct non-streamed
    ``responses.create`` answered after the same delay, alternating one of each."""
    reads = 0

    def count(request: Any) -> None:
        nonlocal reads
        reads += request.method == "GET"

    client = sync_client(service_url, api_key, count)
    direct = sync_client(upstream.base_url, "sk-upstream")
    assistant = client.beta.assistants.create(model=MODEL)
    ours, theirs, failures = [], [], 0
    upstream.reset()
    for _ in range(repeat):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        upstream.reply_text(SHORT, delay=delay)
        started = time.perf_counter()
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        ours.append(time.perf_counter() - started)
        failures += run.status != "completed"
        upstream.reply_text(SHORT, delay=delay)
        started = time.perf_counter()
        direct.responses.create(model=MODEL, input="hi")
        theirs.append(time.perf_counter() - started)
    client.close()
    direct.close()
    return Polled(statistics.median(ours) * 1000, statistics.median(theirs) * 1000, reads / repeat, failures)


def streamed_deltas(service_url: str, api_key: str, upstream: FakeResponsesServer, repeat: int,
                    deltas: int = 100) -> tuple[float, float]:
    """Median of a streamed run (thread create + run) whose answer has ``deltas`` deltas vs the same answer
    streamed straight from the upstream; (ours ms, direct ms)."""
    client = sync_client(service_url, api_key)
    direct = sync_client(upstream.base_url, "sk-upstream")
    assistant = client.beta.assistants.create(model=MODEL)
    text = "word " * (2 * deltas)
    chunks = [text[i:i + 10] for i in range(0, len(text), 10)]
    ours, theirs = [], []
    upstream.reset()
    for _ in range(repeat):
        upstream.reply_text(text, chunks=chunks)
        started = time.perf_counter()
        with direct.responses.create(model=MODEL, input="hi", stream=True) as stream:
            for _ in stream:
                pass
        theirs.append(time.perf_counter() - started)
        upstream.reply_text(text, chunks=chunks)
        started = time.perf_counter()
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as run_stream:
            run_stream.until_done()
        ours.append(time.perf_counter() - started)
    client.close()
    direct.close()
    return statistics.median(ours) * 1000, statistics.median(theirs) * 1000


@dataclass
class Concurrent:
    wall_s: float
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0  # service CPU during the runs
    setup_cpu_s: float = 0.0  # service CPU while creating the threads (not in cpu_s)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def error_summary(self) -> str:
        return "; ".join(f"{count} x {kind}" for kind, count in self.errors.most_common(4))


async def _gather(n: int, call: Callable[[int], Awaitable[str | None]]) -> Concurrent:
    """Run ``call(0..n-1)`` concurrently; each returns None on success or what went wrong."""
    async def one(index: int) -> str | None:
        try:
            return await call(index)
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc)[:80]}"

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(index) for index in range(n)))
    return Concurrent(time.perf_counter() - started, Counter(outcome for outcome in outcomes if outcome))


async def concurrent_direct(upstream: FakeResponsesServer, n: int, delay: float) -> Concurrent:
    """``n`` concurrent streamed Responses calls straight to the fake, which answers each after ``delay``."""
    client = async_client(upstream.base_url, "sk-upstream")
    upstream.reset()
    for _ in range(n):
        upstream.reply_text(SHORT, delay=delay)

    async def call(index: int) -> str | None:
        last = None
        async with await client.responses.create(model=MODEL, input="hi", stream=True) as stream:
            async for event in stream:
                last = event.type
        return None if last == "response.completed" else f"ended with {last}"

    try:
        return await _gather(n, call)
    finally:
        await client.close()


async def concurrent_runs(service_url: str, api_key: str, upstream: FakeResponsesServer, n: int, delay: float,
                          cpu: Callable[[], float]) -> Concurrent:
    """``n`` concurrent streamed runs, each on its own (pre-created) thread, through the service."""
    client = async_client(service_url, api_key)
    try:
        assistant = await client.beta.assistants.create(model=MODEL)
        gate = asyncio.Semaphore(16)

        async def new_thread() -> str:
            async with gate:
                thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
                return thread.id

        setup_cpu = cpu()
        threads = await asyncio.gather(*(new_thread() for _ in range(n)))
        setup_cpu = cpu() - setup_cpu
        upstream.reset()
        for _ in range(n):
            upstream.reply_text(SHORT, delay=delay)

        async def call(index: int) -> str | None:
            last = None
            stream = await client.beta.threads.runs.create(thread_id=threads[index], assistant_id=assistant.id,
                                                           stream=True)
            async with stream:
                async for event in stream:
                    last = event.event
            return None if last == "thread.run.completed" else f"ended with {last}"

        before = cpu()
        result = await _gather(n, call)
        await asyncio.sleep(0.2)  # let the service finish what follows the last event (closing streams)
        result.cpu_s = cpu() - before
        result.setup_cpu_s = setup_cpu
        return result
    finally:
        await client.close()
