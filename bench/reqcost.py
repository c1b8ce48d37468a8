"""Request cost: latency at one connection and requests/s at 16 connections, against the bare hello app served by
the same uvicorn configuration, plus the older floor (health) and O(limit) figures."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from bench import load, procs
from bench.procs import HEADERS, Server
from bench.report import ISSUE_RPS, RPS_FACTOR, ms, ratio
from bench.runs import MODEL, sync_client


@dataclass
class Threads:
    small: str  # 30 messages: the list-20 figures
    hundred: str
    big: str
    big_count: int


def _fill(store: str, service: Server, thread_id: str, count: int) -> None:
    """Add ``count`` messages to a thread at 16 connections (autocannon, so a 10,000-message thread takes seconds);
    any that fail are reported and added again one at a time."""
    body = {"role": "user", "content": "x" * 200}
    result = load.autocannon(f"{service.url}/v1/threads/{thread_id}/messages", amount=count, method="POST",
                             body=json.dumps(body), headers=HEADERS)
    if result.failures:
        print(f"[{store}] NOTE: adding {count:,} messages to one thread at 16 connections: {result.failure_summary()} "
              f"({result.failures / count:.2%}); added again one at a time")
        client = sync_client(f"{service.url}/v1", procs.KEY)
        for _ in range(count - result.requests):
            client.beta.threads.messages.create(thread_id, **body)  # type: ignore[arg-type]
        client.close()


def seed(store: str, service: Server, big: int) -> Threads:
    client = sync_client(f"{service.url}/v1", procs.KEY)
    small = client.beta.threads.create(messages=[{"role": "user", "content": f"hello {i}"} for i in range(30)])
    hundred = client.beta.threads.create()
    large = client.beta.threads.create()
    client.close()
    _fill(store, service, hundred.id, 100)
    _fill(store, service, large.id, big)
    return Threads(small.id, hundred.id, large.id, big)


def _list(thread_id: str) -> load.Request:
    return load.Request("GET", f"/v1/threads/{thread_id}/messages?limit=20")


def latency(store: str, service: Server, hello: Server, threads: Threads, count: int) -> None:
    """p50 at one connection, all requests measured in alternating blocks."""
    p50 = load.interleaved_latencies({
        "hello": (hello.port, load.Request("GET", "/hello"), {}),
        "health": (service.port, load.Request("GET", "/v1/health"), {}),
        "list": (service.port, _list(threads.small), HEADERS),
        "create": (service.port, load.Request("POST", "/v1/assistants", json.dumps({"model": MODEL})), HEADERS),
        "list100": (service.port, _list(threads.hundred), HEADERS),
        "listbig": (service.port, _list(threads.big), HEADERS),
    }, count)
    target = 2.5 if store == "memory" else None
    print(f"[{store}] list 20 messages, p50 at 1 connection: {ms(p50['list'])} vs bare hello {ms(p50['hello'])} "
          f"under the same uvicorn: {ratio(p50['list'], p50['hello'], target)}")
    print(f"[{store}] health (the service's HTTP floor) p50 {ms(p50['health'])} ({ratio(p50['health'], p50['hello'])}"
          f" the hello); assistants.create p50 {ms(p50['create'])} ({ratio(p50['create'], p50['health'])} health)")
    print(f"[{store}] O(limit): list 20 of a {threads.big_count:,}-message thread {ms(p50['listbig'])} vs of a "
          f"100-message thread {ms(p50['list100'])}: {ratio(p50['listbig'], p50['list100'])}")


def _pooled(loads: list[load.Load]) -> load.Load:
    seconds = sum(item.seconds for item in loads)
    requests = sum(item.requests for item in loads)
    return load.Load(rps=requests / seconds, requests=requests, seconds=seconds,
                     failures=sum(item.failures for item in loads),
                     generator_cpu=sum(item.generator_cpu * item.seconds for item in loads) / seconds,
                     server_cpu=sum(item.server_cpu for item in loads))


def _spread(loads: list[load.Load]) -> float:
    rates = [item.rps for item in loads]
    return max(rates) / min(rates) - 1 if min(rates) else float("inf")


def throughput(store: str, service: Server, hello: Server, threads: Threads, seconds: float) -> None:
    """Requests/s at 16 connections for list 20 and for the hello: a 1 s warm-up each, then two rounds of half the
    time each, alternating, pooled (so drift of a shared machine weighs on both alike)."""
    url = f"{service.url}/v1/threads/{threads.small}/messages?limit=20"
    half = max(1, math.ceil(seconds / 2))
    load.autocannon(f"{hello.url}/hello", seconds=1)
    load.autocannon(url, seconds=1, headers=HEADERS)
    bases, ourses = [], []
    for _ in range(2):
        bases.append(load.autocannon(f"{hello.url}/hello", seconds=half, server_cpu=hello.cpu_seconds))
        ourses.append(load.autocannon(url, seconds=half, headers=HEADERS, server_cpu=service.cpu_seconds))
    base, ours = _pooled(bases), _pooled(ourses)
    issue = ISSUE_RPS[store]
    failed = [f"{item.failure_summary()} ({name})" for name, item in (("list", ours), ("hello", base)) if item.failures]
    failures = f"; FAILED requests: {', '.join(failed)}" if failed else ""
    print(f"[{store}] list 20 messages at 16 connections: {ours.rps:,.0f} req/s vs bare hello {base.rps:,.0f} req/s: "
          f"{ratio(ours.rps, base.rps)}; vs the issue's {issue:,.0f} req/s: "
          f"{ratio(ours.rps, issue, RPS_FACTOR[store], higher_is_better=True)}{failures}")
    print(f"[{store}]   {ours.seconds:.0f} s + {base.seconds:.0f} s in 2 alternating rounds (round-to-round spread "
          f"{_spread(ourses):.0%} / {_spread(bases):.0%}); service CPU {ours.server_cpu_us:,.0f} us/request (hello "
          f"{base.server_cpu_us:,.0f} us); autocannon used {ours.generator_cpu:.0%} / {base.generator_cpu:.0%} "
          "of a core")
