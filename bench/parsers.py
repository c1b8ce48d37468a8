"""A/B of redis-py's reply parser on the Redis store: hiredis (C, used by redis-py whenever it is installed, for RESP2
and RESP3 alike) against redis-py's pure-Python parser, two service processes side by side on one redis-server.

    .venv/bin/python -m bench.parsers [--seconds 4] [--count 2000]

Prints the store's CPU per list read (thread + 20 messages, one script) in a client process of each kind, which a
busy machine disturbs least; then list 20 messages p50 at 1 connection (interleaved blocks) and requests/s with service
CPU per request at 16 connections (alternating rounds). ``python -m bench.parsers serve --port P`` is the service
with hiredis hidden, ``python -m bench.parsers client URL python|hiredis`` one client measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import runpy
import subprocess
import sys
import time

from bench import load, procs, reqcost
from bench.upstream import Upstream
from tests.servers import redis_server


def _serve_without_hiredis(argv: list[str]) -> None:
    sys.modules["hiredis"] = None  # type: ignore[assignment]  # import hiredis raises: redis-py falls back to Python
    sys.argv = ["core.http.local_host", *argv]
    runpy.run_module("core.http.local_host", run_name="__main__", alter_sys=True)


async def _client_cpu(url: str, reads: int = 3000) -> float:
    """CPU microseconds of this process per ``get_and_scan`` of a thread and a page of 20 messages of 200 characters."""
    from core.adapters.redis.store import RedisStore
    from core.domain.ids import new_id
    from core.domain.pagination import ListQuery
    from core.ports.store import INDEXES_FIELD, Create, Partition

    store = RedisStore.from_url(url)
    partition = Partition("threads", new_id("thread"))
    message = {"role": "user", "content": [{"type": "text", "text": {"value": "x" * 200, "annotations": []}}],
               "created_at": 1, "thread_id": partition.key, "tenant_id": "t", "metadata": {}}
    await store.commit(partition, [Create({"id": partition.key, INDEXES_FIELD: []}),
                                   *(Create({"id": new_id("msg"), INDEXES_FIELD: ["messages"], **message})
                                     for _ in range(30))])
    for _ in range(200):  # loads the script, fills the pool
        await store.get_and_scan(partition, [partition.key], "messages", ListQuery())
    started = time.process_time()
    for _ in range(reads):
        await store.get_and_scan(partition, [partition.key], "messages", ListQuery())
    used = time.process_time() - started
    await store.drop_partition(partition)
    await store.close()
    return used / reads * 1e6


def client_figures(url: str, rounds: int = 3) -> dict[str, float]:
    """Median CPU per read of a fresh client process of each kind, alternating."""
    samples: dict[str, list[float]] = {"hiredis": [], "python": []}
    for _ in range(rounds):
        for kind in samples:
            done = subprocess.run([sys.executable, "-m", "bench.parsers", "client", url, kind], cwd=procs.ROOT,
                                  capture_output=True, text=True, check=True, timeout=300)
            samples[kind].append(float(done.stdout.split()[-1]))
    return {kind: sorted(values)[len(values) // 2] for kind, values in samples.items()}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        _serve_without_hiredis(argv[1:])
        return
    if argv[:1] == ["client"]:
        if argv[2] == "python":
            sys.modules["hiredis"] = None  # type: ignore[assignment]
        print(f"{asyncio.run(_client_cpu(argv[1])):.1f}")
        return
    parser = argparse.ArgumentParser(prog="python -m bench.parsers", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of load per parser at 16 connections")
    parser.add_argument("--count", type=int, default=2000, help="requests per p50 figure")
    args = parser.parse_args(argv)
    if not procs.installed("hiredis"):
        raise SystemExit("hiredis is not installed (pip install -r requirements.txt)")
    load.ensure_autocannon()
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(Upstream())
        redis_url = stack.enter_context(redis_server())
        client = client_figures(redis_url)
        print(f"[redis] one list read (thread + 20 messages, one script) costs the client {client['hiredis']:.0f} us "
              f"of CPU with hiredis vs {client['python']:.0f} us with the Python parser: "
              f"x{client['hiredis'] / client['python']:.2f} (median of 3 fresh processes each)")
        env = procs.service_env("redis", upstream.url, redis_url)
        servers = {"hiredis": stack.enter_context(procs.service("redis", upstream.url, redis_url)),
                   "python": stack.enter_context(procs._server("bench.parsers", env, args=("serve",)))}
        threads = {name: reqcost.seed("redis", server, 100).small for name, server in servers.items()}
        paths = {name: f"/v1/threads/{thread}/messages?limit=20" for name, thread in threads.items()}
        p50 = load.interleaved_latencies({name: (server.port, load.Request("GET", paths[name]), procs.HEADERS)
                                          for name, server in servers.items()}, args.count)
        rounds: dict[str, list[load.Load]] = {name: [] for name in servers}
        for _ in range(2):
            for name, server in servers.items():
                rounds[name].append(load.autocannon(f"{server.url}{paths[name]}", headers=procs.HEADERS,
                                                    seconds=max(1, math.ceil(args.seconds / 2)),
                                                    server_cpu=server.cpu_seconds))
        for name in servers:
            done = rounds[name]
            requests = sum(item.requests for item in done)
            rps = requests / sum(item.seconds for item in done)
            cpu_us = sum(item.server_cpu for item in done) / max(1, requests) * 1e6
            print(f"[redis, {name} parser] list 20 messages p50 {p50[name]:.3f} ms at 1 connection; "
                  f"{rps:,.0f} req/s at 16 connections, service CPU {cpu_us:,.0f} us/request")
        print(f"[redis] hiredis vs Python parser, list 20 p50: x{p50['hiredis'] / p50['python']:.2f}")


if __name__ == "__main__":
    main()
