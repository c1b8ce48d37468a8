"""Benchmarks: figures with baselines measured in the same run, printed as ratios (never asserted).

    .venv/bin/python -m bench.run [--store memory|redis] [--requests 300]

1. Cold start: importing ``function_app`` (what the Functions host indexes) vs importing what any HTTP-streams app
   must (``azure.functions`` and the FastAPI extension), so the ratio is this project's own import cost.
2. Request cost: creating an assistant, and listing 20 messages of a short vs a long thread (O(limit) means the
   ratio stays near 1), vs the unauthenticated health endpoint that touches no store (the HTTP floor).
3. Streaming overhead: a streamed run through this service vs the same answer streamed straight from the upstream.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import httpx
import openai
import uvicorn

from core import bootstrap
from core.config import Settings, parse_api_keys
from core.http.local_host import build_app
from tests.fake_responses import FakeResponsesServer
from tests.servers import free_port, redis_server, wait_for_port

KEY = "sk-bench"


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _import_ms(module: str, repeat: int = 5) -> float:
    def once() -> None:
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return _median_ms(once, repeat)


@contextmanager
def _service(store: str, upstream: FakeResponsesServer) -> Iterator[str]:
    context = redis_server() if store == "redis" else nullcontext(None)
    with context as redis_url:
        settings = Settings(database_provider=store, redis_url=redis_url,  # type: ignore[arg-type]
                            api_keys=parse_api_keys(KEY), openai_base_url=f"{upstream.url}/v1",
                            openai_api_key="sk-upstream", upstream_max_retries=0, log_level="WARNING")
        bootstrap.override(bootstrap.build(settings))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(build_app(), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for_port(port)
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            bootstrap.reset()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", choices=["memory", "redis"], default="memory")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)  # every Assistants method of the SDK warns
    n = args.requests

    baseline = _import_ms("azure.functions, azurefunctions.extensions.http.fastapi")
    app_import = _import_ms("function_app")
    print(f"cold start: import function_app {app_import:.0f} ms vs the Functions + HTTP-streams floor "
          f"{baseline:.0f} ms "
          f"(x{app_import / baseline:.2f})")

    with FakeResponsesServer() as upstream, _service(args.store, upstream) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        http = httpx.Client(base_url=base_url)
        health = _median_ms(lambda: http.get("/health"), n)
        create = _median_ms(lambda: client.beta.assistants.create(model="gpt-4o-mini"), n)
        short, long = client.beta.threads.create(), client.beta.threads.create()
        for _ in range(30):
            client.beta.threads.messages.create(short.id, role="user", content="hello")
        for _ in range(30):
            client.beta.threads.create(messages=[])  # unrelated traffic
        batch = [{"role": "user", "content": f"m{i}"} for i in range(32)]
        long = client.beta.threads.create(messages=batch)
        for _ in range(30):
            client.beta.threads.messages.create(long.id, role="user", content="more")
        for _ in range(29):
            client.beta.threads.messages.create(long.id, role="user", content="x" * 200)
        list_short = _median_ms(lambda: client.beta.threads.messages.list(short.id, limit=20), n)
        list_long = _median_ms(lambda: client.beta.threads.messages.list(long.id, limit=20, after=None), n)
        print(f"[{args.store}] health (HTTP floor) {health:.2f} ms")
        print(f"[{args.store}] assistants.create {create:.2f} ms (x{create / health:.2f} the floor)")
        print(f"[{args.store}] messages.list limit=20: 30-message thread {list_short:.2f} ms, "
              f"91-message thread {list_long:.2f} ms (x{list_long / list_short:.2f})")

        assistant = client.beta.assistants.create(model="gpt-4o-mini")
        text = "word " * 200
        direct = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="x", max_retries=0)

        def upstream_only() -> None:
            upstream.reply_text(text, chunks=[text[i:i + 10] for i in range(0, len(text), 10)])
            with direct.responses.create(model="m", input="hi", stream=True) as stream:
                for _ in stream:
                    pass

        def through_service() -> None:
            upstream.reply_text(text, chunks=[text[i:i + 10] for i in range(0, len(text), 10)])
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
                stream.until_done()

        runs = max(5, n // 20)
        raw = _median_ms(upstream_only, runs)
        ours = _median_ms(through_service, runs)
        print(f"[{args.store}] streamed run of 100 deltas: {ours:.1f} ms vs upstream alone {raw:.1f} ms "
              f"(x{ours / raw:.2f}; includes thread create + run bookkeeping)")


if __name__ == "__main__":
    main()
