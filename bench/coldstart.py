"""Cold start: the import cost of ``function_app`` over what any HTTP-streams Functions app must import, and the first
streamed run of a freshly started service process vs its second."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench import procs
from bench.runs import MODEL, sync_client
from tests.fake_responses import FakeResponsesServer

BASELINE_IMPORTS = "azure.functions, azurefunctions.extensions.http.fastapi"


def _import_once(modules: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {modules}"], check=True, cwd=procs.ROOT)
    return (time.perf_counter() - started) * 1000


def import_ms(repeat: int) -> tuple[float, float]:
    """Median wall time of a fresh interpreter importing ``function_app`` vs the Functions + HTTP-streams floor,
    alternating one of each; (function_app ms, floor ms)."""
    _import_once(BASELINE_IMPORTS)  # warm the OS file cache and the bytecode caches
    _import_once("function_app")
    app, floor = [], []
    for _ in range(repeat):
        floor.append(_import_once(BASELINE_IMPORTS))
        app.append(_import_once("function_app"))
    return statistics.median(app), statistics.median(floor)


@dataclass
class FreshProcess:
    listening_ms: float  # process spawned -> port accepts connections
    first: tuple[float, float, float]  # first assistants.create, threads.create, streamed run (ms), once listening
    start_to_first_ms: float  # process spawned -> end of the first streamed run
    second: tuple[float, float, float]  # the same requests again on the now warm process

    @property
    def first_ms(self) -> float:
        return sum(self.first)

    @property
    def second_ms(self) -> float:
        return sum(self.second)


def first_streamed_run(upstream: FakeResponsesServer) -> FreshProcess:
    """Start a service process (memory store) and stream a run as soon as it listens, then another."""
    upstream.reset()
    with procs.service("memory", upstream.url, wait=False) as server:
        client = sync_client(f"{server.url}/v1", procs.KEY)

        def run_once() -> tuple[float, float, float]:
            marks = [time.perf_counter()]
            assistant = client.beta.assistants.create(model=MODEL)
            marks.append(time.perf_counter())
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            marks.append(time.perf_counter())
            with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
                stream.until_done()
            marks.append(time.perf_counter())
            return (marks[1] - marks[0]) * 1000, (marks[2] - marks[1]) * 1000, (marks[3] - marks[2]) * 1000

        procs.wait_listening(server)
        first = run_once()
        first_end = time.perf_counter()
        second = run_once()
        client.close()
        return FreshProcess(listening_ms=(server.listening_at - server.started_at) * 1000, first=first,
                            start_to_first_ms=(first_end - server.started_at) * 1000, second=second)
