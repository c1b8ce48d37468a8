"""Harness of the third-party upstream tier: the upstreams' own virtualenv, their processes, a recording proxy and the
service under test.

- :func:`upstreams_python`: a separate virtualenv (``tests/upstreams/.venv-upstreams``, git-ignored) holding exactly
  :data:`PACKAGES` and their dependencies, which must not meet the project's own ``.venv``. Created once and reused
  while its marker file matches; ``UPSTREAMS_PYTHON`` names an interpreter that already has them instead.
- :class:`UpstreamProcess`: a server of that virtualenv run as a subprocess on a free 127.0.0.1 port, in its own
  working directory, with an explicit environment (nothing of ours leaks into it, no real key reaches it), its
  output in a log file whose tail a failing test shows.
- :class:`RecordingProxy`: a transparent HTTP proxy in this process that records every request body the service
  sends to an upstream, and streams the answer back byte for byte (Server-Sent Events included).
- :func:`running_service`: the service in-process (registered functions on uvicorn, memory store), its upstream
  the given base URL, installed in ``core.bootstrap`` for as long as the block runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from core import bootstrap
from core.config import Settings, parse_api_keys
from core.http.local_host import build_app
from tests.servers import ServedApp, free_port, terminate, wait_for_port

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-upstreams"
#: Exactly what the tier installs into its own virtualenv (their dependencies come with them).
PACKAGES = ("llm-mock-api==0.1.2", "open-responses-server==0.4.1")
INSTALL_TIMEOUT_SECONDS = 600.0
STARTUP_SECONDS = 60.0

API_KEY = "sk-upstreams-client"
#: What the service sends upstream as its key: any non-empty text (these servers check none).
UPSTREAM_KEY = "sk-upstreams-dummy"
MODEL = "gpt-4o-mini"

Json = dict[str, Any]


class UpstreamsUnavailable(RuntimeError):
    """The upstreams' virtualenv could not be made; the message says why and what to do."""


# --- the upstreams' own virtualenv ----------------------------------------------------------------------------------


def _marker() -> str:
    return json.dumps({"packages": list(PACKAGES), "python": sys.version.split()[0]})


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(argv: Sequence[str], timeout: float, what: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UpstreamsUnavailable(f"{what} took longer than {timeout:.0f} s: {' '.join(argv)}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise UpstreamsUnavailable(f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n{tail}")


def upstreams_python() -> Path:
    """The interpreter of a virtualenv holding :data:`PACKAGES`, creating it on first use (a few seconds to a minute
    with PyPI reachable). Safe against concurrent test sessions (a file lock)."""
    given = os.environ.get("UPSTREAMS_PYTHON")
    if given:
        return Path(given)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    marker = VENV / ".installed"
    with open(HERE / ".venv-upstreams.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == _marker() and _venv_python(VENV).exists():
            return _venv_python(VENV)
        shutil.rmtree(VENV, ignore_errors=True)
        hint = ("The upstreams tier installs " + " ".join(PACKAGES) + " from PyPI into " + str(VENV) +
                " (set UPSTREAMS_PYTHON to an interpreter that has them, or deselect with -m 'not upstreams').")
        try:
            _run([sys.executable, "-m", "venv", str(VENV)], 120, "creating the upstreams virtualenv")
            _run([str(_venv_python(VENV)), "-m", "pip", "install", "--quiet", *PACKAGES], INSTALL_TIMEOUT_SECONDS,
                 "pip install of the upstream servers")
            _run([str(_venv_python(VENV)), "-c", "import llm_mock_api, open_responses_server.version"], 60,
                 "importing the installed upstream servers")
        except UpstreamsUnavailable as exc:
            shutil.rmtree(VENV, ignore_errors=True)
            raise UpstreamsUnavailable(f"{exc}\n{hint}") from None
        marker.write_text(_marker())
        return _venv_python(VENV)


# --- upstream server processes --------------------------------------------------------------------------------------


class UpstreamProcess:
    """A third-party server run by the upstreams' interpreter, output to ``<workdir>/server.log``."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], workdir: Path, port: int) -> None:
        self.name, self.argv, self.env, self.workdir, self.port = name, list(argv), dict(env), workdir, port
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(self.port, timeout=STARTUP_SECONDS, process=self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {exc}\n--- log tail ---\n{self.log_tail()}") from None
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def clean_env(**values: str) -> dict[str, str]:
    """A minimal environment for an upstream process: nothing of ours (no OPENAI_*/API keys) reaches it."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    env.update(HOME=os.environ.get("HOME", "/tmp"), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1")
    env.update(values)
    return env


@dataclass(frozen=True)
class Upstream:
    """A third-party server, the proxy in front of it, and the base URL the service is configured with."""

    name: str
    process: UpstreamProcess
    proxy: RecordingProxy
    base_url: str  # OPENAI_BASE_URL for the service: through the recording proxy


# --- a recording proxy ----------------------------------------------------------------------------------------------

_HOP_BY_HOP = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate", "accept-encoding"})


class RecordingProxy(ServedApp):
    """Forwards every request to ``target`` unchanged (path and query kept) and records it; the answer comes back
    as the upstream streams it. Lets a test see exactly what the service sent a third-party server."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = 0
        self._lock = threading.Lock()
        self._records: list[Json] = []
        self._client: httpx.AsyncClient | None = None

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
            try:
                yield
            finally:
                await self._client.aclose()

        self.app = Starlette(routes=[Route("/{path:path}", self._forward,
                                           methods=["GET", "POST", "PUT", "PATCH", "DELETE"])], lifespan=lifespan)

    @property
    def requests(self) -> list[Json]:
        """``{"method", "path", "body"}`` of each request so far (``body`` parsed from JSON when it is JSON)."""
        with self._lock:
            return list(self._records)

    def bodies(self, path_suffix: str = "/responses") -> list[Json]:
        """The JSON bodies of the POSTs to a path ending in ``path_suffix``."""
        return [record["body"] for record in self.requests
                if record["method"] == "POST" and record["path"].endswith(path_suffix)
                and isinstance(record["body"], dict)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    async def _forward(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self._records.append({"method": request.method, "path": request.url.path, "body": body})
        assert self._client is not None
        url = self.target + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {key: value for key, value in request.headers.items() if key.lower() not in _HOP_BY_HOP}
        headers["accept-encoding"] = "identity"  # the bytes pass through as they are: nothing to re-encode
        try:
            upstream = await self._client.send(
                self._client.build_request(request.method, url, headers=headers, content=raw), stream=True)
        except httpx.HTTPError as exc:
            return JSONResponse({"error": {"message": f"recording proxy: {exc!r}", "type": "proxy_error"}},
                                status_code=502)
        answer_headers = {key: value for key, value in upstream.headers.items() if key.lower() not in _HOP_BY_HOP}
        return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code, headers=answer_headers,
                                 background=BackgroundTask(upstream.aclose))



# --- the service under test -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_service(openai_base_url: str) -> Iterator[str]:
    """The service in this process over the memory store, its upstream at ``openai_base_url``; yields its ``/v1``
    base URL. The container is installed in ``core.bootstrap`` only while the block runs; whatever was installed
    before (a session fixture of another tier still alive) is put back afterwards, after this server stopped, since
    the local host's shutdown closes the container installed at that moment."""
    settings = Settings(database_provider="memory", api_keys=parse_api_keys(f"upstreams:{API_KEY}"),
                        openai_base_url=openai_base_url, openai_api_key=UPSTREAM_KEY, upstream_max_retries=0,
                        upstream_timeout_seconds=30.0, upstream_idle_timeout_seconds=15.0)
    previous = getattr(bootstrap, "_container", None)
    bootstrap.override(bootstrap.build(settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="service-under-test", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        bootstrap.override(previous)
