"""Benchmarks of issue 12: every figure with a baseline measured in the same run, printed as a ratio with its target
next to it (never asserted).

    .venv/bin/python -m bench.run [--quick] [--stores memory,redis] [--seconds 5]

The service runs as its own process (``python -m core.http.local_host``) on the memory store and on a throwaway
redis-server, against the fake Responses upstream of tests/fake_responses.py served from this process (with
TCP_NODELAY, see bench/upstream.py); its CPU time is read from /proc. Baselines: a bare Starlette hello served by the
same uvicorn call (bench/hello.py), and the fake upstream called directly. Load at 16 connections comes from
autocannon (bench/package.json, ``npm ci`` on first use).

1. Request cost: list 20 messages at 1 connection (p50) and at 16 connections (req/s) vs the hello; health and
   assistants.create; O(limit) listing (a 10,000- vs a 100-message thread).
2. Runs: ``create_and_poll`` of a run whose upstream answers after 200 ms vs a direct Responses call; 200 concurrent
   streamed runs against a 1 s upstream vs 200 direct streamed calls (wall time, errors, service CPU per run); a
   streamed run of 100 deltas vs the upstream alone.
   On Redis also the client CPU of one list read with hiredis vs redis-py's Python parser (bench/parsers.py).
3. Cold start: ``import function_app`` vs the imports any HTTP-streams Functions app needs; the first streamed run of
   a freshly started service process vs its second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import time
import urllib.request
import warnings
from importlib.metadata import version

from bench import coldstart, load, parsers, procs, reqcost, runs
from bench.report import ISSUE_CPU_PER_RUN_MS, ms, ratio
from bench.upstream import Upstream
from tests.fake_responses import FakeResponsesServer
from tests.servers import redis_server


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer samples, 2 s loads, smaller threads")
    parser.add_argument("--stores", default="memory,redis", help="comma-separated: memory, redis (default both)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per autocannon load (default 5; 2 quick)")
    parser.add_argument("--concurrent", type=int, default=200, help="concurrent streamed runs (default 200)")
    args = parser.parse_args(argv)
    args.stores = [store.strip() for store in args.stores.split(",") if store.strip()]
    if not set(args.stores) <= {"memory", "redis"}:
        parser.error("--stores takes memory and/or redis")
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.latency_count = 600 if args.quick else 2000  # requests per p50 figure (each at 1 connection)
    args.big_thread = 1_000 if args.quick else 10_000
    args.polls = 5 if args.quick else 15
    args.deltas_repeat = 5 if args.quick else 15
    args.import_repeat = 3 if args.quick else 9
    return args


def _environment(hello: procs.Server, upstream: Upstream, autocannon_version: str) -> None:
    info = json.loads(urllib.request.urlopen(f"{hello.url}/info", timeout=10).read())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    installed = ", ".join(f"{name} {version(name)}" if procs.installed(name) else f"{name} not installed"
                          for name in ("uvloop", "httptools"))
    settings = ", ".join(f"{name}={value}" for name, value in info["settings"].items()) or "uvicorn defaults"
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; Python "
          f"{platform.python_version()}, uvicorn {version('uvicorn')}, starlette {version('starlette')}, "
          f"node {node}, autocannon {autocannon_version}")
    print(f"server: {installed}; the local host's uvicorn.run settings: {settings}")
    print(f"server: uvicorn resolved them to loop {info['loop']}, HTTP {info['http']} (bare hello process; "
          f"native modules mapped: {', '.join(hello.native_modules()) or 'none'})")
    print(f"upstream: the fake Responses server of tests/fake_responses.py in this process on port {upstream.port}, "
          "with TCP_NODELAY (bench/upstream.py: without it, +40 ms per reused connection)")


def _request_cost(store: str, service: procs.Server, hello: procs.Server, args: argparse.Namespace) -> None:
    threads = reqcost.seed(store, service, args.big_thread)
    reqcost.latency(store, service, hello, threads, args.latency_count)
    reqcost.throughput(store, service, hello, threads, args.seconds)


def _runs(store: str, service: procs.Server, upstream: FakeResponsesServer, args: argparse.Namespace) -> None:
    base_url = f"{service.url}/v1"
    polled = runs.create_and_poll(base_url, procs.KEY, upstream, args.polls)
    failed = f", {polled.failures} runs did not complete" if polled.failures else ""
    print(f"[{store}] create_and_poll, upstream answering after 200 ms: {ms(polled.ours_ms)} vs a direct Responses "
          f"call {ms(polled.direct_ms)}: {ratio(polled.ours_ms, polled.direct_ms, 1.3)} "
          f"({polled.reads_per_run:.1f} reads per run, median of {args.polls}{failed})")

    ours_ms, direct_ms = runs.streamed_deltas(base_url, procs.KEY, upstream, args.deltas_repeat)
    print(f"[{store}] streamed run of 100 deltas: {ms(ours_ms)} vs the upstream alone {ms(direct_ms)}: "
          f"{ratio(ours_ms, direct_ms)} (includes thread create + run bookkeeping)")

    n = args.concurrent
    direct = asyncio.run(runs.concurrent_direct(upstream, n, delay=1.0))
    ours = asyncio.run(runs.concurrent_runs(base_url, procs.KEY, upstream, n, 1.0, service.cpu_seconds))
    upstream.reset()
    per_run = ours.cpu_s / n * 1000
    print(f"[{store}] {n} concurrent streamed runs, upstream answering after 1 s: {ours.wall_s:.2f} s vs {n} direct "
          f"streamed calls {direct.wall_s:.2f} s: {ratio(ours.wall_s, direct.wall_s, 1.6)}")
    print(f"[{store}]   errors: {ours.error_count} (target 0{', ' + ours.error_summary() if ours.errors else ''}); "
          f"direct calls' errors: {direct.error_count}{' (' + direct.error_summary() + ')' if direct.errors else ''}")
    print(f"[{store}]   service CPU {per_run:.1f} ms per streamed run vs the issue's {ISSUE_CPU_PER_RUN_MS} ms: "
          f"{ratio(per_run, ISSUE_CPU_PER_RUN_MS, 0.5)}; creating the {n} threads beforehand: "
          f"{ours.setup_cpu_s / n * 1000:.1f} ms each (not included)")


def _cold_start(upstream: FakeResponsesServer, args: argparse.Namespace) -> None:
    app_ms, floor_ms = coldstart.import_ms(args.import_repeat)
    print(f"cold start: import function_app {ms(app_ms)} vs the Functions + HTTP-streams floor "
          f"({coldstart.BASELINE_IMPORTS}) {ms(floor_ms)}: {ratio(app_ms, floor_ms, 1.15)} "
          f"(median of {args.import_repeat}, fresh interpreters)")
    fresh = coldstart.first_streamed_run(upstream)
    print(f"cold start: fresh service process listening after {ms(fresh.listening_ms)}; first assistant + thread + "
          f"streamed run {ms(fresh.first_ms)} (process start to end of that run {ms(fresh.start_to_first_ms)}) vs "
          f"the same on the warm process {ms(fresh.second_ms)}: {ratio(fresh.first_ms, fresh.second_ms)}")
    print("cold start:   assistants.create / threads.create / streamed run: first "
          f"{' / '.join(ms(value) for value in fresh.first)}, second {' / '.join(ms(value) for value in fresh.second)}")


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    started, machine, own = time.perf_counter(), procs.machine_busy_seconds(), procs.own_seconds()
    procs.terminate_on_signals()
    warnings.simplefilter("ignore", DeprecationWarning)  # every Assistants method of the SDK warns
    autocannon_version = load.ensure_autocannon()
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(Upstream())
        hello = stack.enter_context(procs.hello_server())
        _environment(hello, upstream, autocannon_version)
        for store in args.stores:
            redis_url = stack.enter_context(redis_server()) if store == "redis" else None
            with procs.service(store, upstream.url, redis_url) as service:
                mapped = ", ".join(service.native_modules()) or "none of uvloop, httptools, hiredis"
                print(f"[{store}] service process {service.pid}: {mapped} mapped")
                _request_cost(store, service, hello, args)
                _runs(store, service, upstream, args)
            if redis_url is not None and procs.installed("hiredis"):
                client = parsers.client_figures(redis_url)
                print(f"[redis] one list read (thread + 20 messages, one script) costs the client "
                      f"{client['hiredis']:.0f} us of CPU with hiredis vs {client['python']:.0f} us with redis-py's "
                      f"Python parser: x{client['hiredis'] / client['python']:.2f} (bench/parsers.py for the A/B of "
                      "whole services)")
        _cold_start(upstream, args)
    elapsed = time.perf_counter() - started
    others = procs.machine_busy_seconds() - machine - (procs.own_seconds() - own)
    print(f"bench took {elapsed:.0f} s; other processes on the machine used {max(0.0, others):.0f} CPU-s meanwhile "
          f"({max(0.0, others) / elapsed:.0%} of one of the {os.cpu_count()} CPUs on average: figures are noisier the "
          "higher this is)")


if __name__ == "__main__":
    main()
