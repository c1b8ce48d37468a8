"""Server processes for the bench: the service (``python -m core.http.local_host``) and the bare hello baseline
(``python -m bench.hello``), each its own process on a free loopback port, so that the load generator shares no GIL
with them and their CPU time can be read from /proc. Every process started here is stopped on the way out."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port, terminate

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_NATIVE = ("uvloop", "httptools", "hiredis")


@dataclass
class Server:
    """A server process listening on 127.0.0.1:port."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started_at: float  # perf_counter() just before the process was spawned
    listening_at: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far."""
        return cpu_seconds(self.pid)

    def native_modules(self) -> list[str]:
        """Which of uvloop / httptools the process has loaded (their shared objects are mapped)."""
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        return [name for name in _NATIVE if f"/{name}/" in maps]

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; fields[0] is the state (field 3)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14 and 15)


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent so far (from /proc/stat: everything but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def own_seconds() -> float:
    """CPU time of this process and of every child it has waited for."""
    import resource

    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def service_env(store: str, upstream_url: str, redis_url: str | None) -> dict[str, str]:
    """The service's settings: everything that local.settings.json.example would otherwise fill in is explicit."""
    env = dict(os.environ)
    env.update({
        "API_KEYS": f"bench:{KEY}",
        "DATABASE_PROVIDER": store,
        "REDIS_URL": redis_url or "",
        "COSMOS_ENDPOINT": "",
        "OPENAI_BASE_URL": f"{upstream_url}/v1",
        "OPENAI_API_KEY": "sk-upstream",
        "AZURE_OPENAI_ENDPOINT": "",
        "RUN_QUEUE": "in-process",
        "UPSTREAM_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def wait_listening(server: Server, timeout: float = 60.0) -> None:
    """Poll the port every few ms (the cold-start figure depends on noticing it quickly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server process exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
            server.listening_at = time.perf_counter()
            return
        time.sleep(0.003)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{server.port} after {timeout} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it lingers."""
    terminate(process)


@contextlib.contextmanager
def _server(module: str, env: dict[str, str], wait: bool = True, args: tuple[str, ...] = ()) -> Iterator[Server]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        log = Path(workdir) / "server.log"
        with log.open("wb") as sink:
            started_at = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args, "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            )
        server = Server(process, port, log, started_at)
        try:
            if wait:
                wait_listening(server)
            yield server
        finally:
            stop(process)


@contextlib.contextmanager
def service(store: str, upstream_url: str, redis_url: str | None = None, wait: bool = True) -> Iterator[Server]:
    """``python -m core.http.local_host`` on the given store, talking to the fake upstream."""
    with _server("core.http.local_host", service_env(store, upstream_url, redis_url), wait) as server:
        yield server


@contextlib.contextmanager
def hello_server() -> Iterator[Server]:
    """The bare Starlette hello app under the local host's own uvicorn configuration (bench/hello.py)."""
    env = dict(os.environ, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    with _server("bench.hello", env) as server:
        yield server


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def terminate_on_signals() -> None:
    """SIGTERM/SIGHUP unwind the bench like Ctrl-C does, so every ``finally`` stops what it started."""
    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)
