"""Load: autocannon (npm, pinned in bench/package-lock.json) for requests/s at many connections, and a lean
raw-socket HTTP/1.1 client for latency at one connection (autocannon records latencies in whole milliseconds, too
coarse for sub-millisecond medians)."""

from __future__ import annotations

import json
import resource
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUTOCANNON = HERE / "node_modules" / ".bin" / "autocannon"


def ensure_autocannon() -> str:
    """Install autocannon with ``npm ci`` on first use; returns its version."""
    if not AUTOCANNON.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not installed (Node 18+ is needed for autocannon)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True,
                       timeout=600)
    return str(json.loads((HERE / "node_modules" / "autocannon" / "package.json").read_text())["version"])


@dataclass
class Load:
    """One autocannon measurement."""

    rps: float
    requests: int
    seconds: float
    failures: int  # non-2xx + errors + timeouts
    generator_cpu: float  # fraction of one core autocannon used
    server_cpu: float  # CPU seconds the measured server process used
    failure_kinds: dict[str, int] = field(default_factory=dict)  # "HTTP 503" / "errors" / "timeouts" -> count

    def failure_summary(self) -> str:
        return ", ".join(f"{count} x {kind}" for kind, count in self.failure_kinds.items())

    @property
    def server_cpu_us(self) -> float:
        """Server CPU per request, in microseconds."""
        return self.server_cpu / max(1, self.requests) * 1e6


def autocannon(url: str, *, connections: int = 16, seconds: float = 5.0, amount: int | None = None,
               method: str = "GET", body: str | None = None, headers: Mapping[str, str] | None = None,
               server_cpu: Callable[[], float] = lambda: 0.0) -> Load:
    """Run autocannon against ``url`` (pipelining 1) and parse its ``--json`` report."""
    command = [str(AUTOCANNON), "--json", "--connections", str(connections), "--pipelining", "1",
               "--method", method, "--timeout", "30"]
    command += ["--amount", str(amount)] if amount else ["--duration", str(max(1, round(seconds)))]
    for name, value in (headers or {}).items():
        command += ["--headers", f"{name}={value}"]
    if body is not None:
        command += ["--headers", "content-type=application/json", "--body", body]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = server_cpu()
    completed = subprocess.run([*command, url], capture_output=True, text=True, timeout=600, check=False)
    cpu_after = server_cpu()
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"autocannon failed ({completed.returncode}): {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    elapsed = float(report["duration"])
    generator = (after_children.ru_utime + after_children.ru_stime
                 - before_children.ru_utime - before_children.ru_stime)
    ok = int(report.get("2xx", 0))
    kinds = {f"HTTP {code}": int(stats["count"]) for code, stats in report.get("statusCodeStats", {}).items()
             if not code.startswith("2")}
    kinds |= {name: int(report.get(name, 0)) for name in ("errors", "timeouts") if report.get(name)}
    failures = max(sum(kinds.values()), int(report.get("non2xx", 0)))
    return Load(rps=ok / elapsed, requests=ok, seconds=elapsed, failures=failures, generator_cpu=generator / elapsed,
                server_cpu=cpu_after - cpu_before, failure_kinds=kinds)


class Connection:
    """A keep-alive HTTP/1.1 connection sending pre-encoded requests and reading whole responses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def close(self) -> None:
        self.sock.close()

    def encode(self, method: str, path: str, headers: Mapping[str, str], body: str | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        payload = (body or "").encode()
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _take_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return line

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request, return (status, body)."""
        self.sock.sendall(request)
        status = int(self._take_line().split()[1])
        headers: dict[bytes, bytes] = {}
        while line := self._take_line():
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while size := int(self._take_line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take_line()
            while self._take_line():  # trailers, then the empty line
                pass
            return status, b"".join(parts)
        return status, self._take(int(headers.get(b"content-length", b"0")))


@dataclass
class Request:
    method: str
    path: str
    body: str | None = None


def interleaved_latencies(port_requests: Mapping[str, tuple[int, Request, Mapping[str, str]]], count: int,
                          blocks: int = 10, warmup: int = 50) -> dict[str, float]:
    """p50 latency (ms) of each named request at one connection each, measured in alternating blocks: the median of
    the blocks' medians, so that a block slowed down by other work on a shared machine weighs little."""
    connections = {name: Connection(port) for name, (port, _, _) in port_requests.items()}
    encoded = {name: connections[name].encode(request.method, request.path, headers, request.body)
               for name, (_, request, headers) in port_requests.items()}
    medians: dict[str, list[float]] = {name: [] for name in port_requests}
    try:
        for name, connection in connections.items():
            for _ in range(warmup):
                _check(name, *connection.exchange(encoded[name]))
        per_block = max(1, count // blocks)
        for _ in range(blocks):
            for name, connection in connections.items():
                request, samples = encoded[name], []
                for _ in range(per_block):
                    started = time.perf_counter()
                    status, body = connection.exchange(request)
                    samples.append((time.perf_counter() - started) * 1000)
                    _check(name, status, body)
                medians[name].append(statistics.median(samples))
    finally:
        for connection in connections.values():
            connection.close()
    return {name: statistics.median(values) for name, values in medians.items()}


def _check(name: str, status: int, body: bytes) -> None:
    if status >= 300:
        raise RuntimeError(f"{name}: HTTP {status}: {body[:300]!r}")
