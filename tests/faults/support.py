"""Real processes for the fault tier, and the checks of what an Assistants API user sees after a fault.

Processes (each on free 127.0.0.1 ports, each with its output in a log file whose tail a failing test prints):

- :class:`RedisProcess`: ``redis-server`` with an fsync-always append-only file in its own directory, so its data
  survives ``kill -9``; killed, restarted on the same port and directory, frozen (SIGSTOP) or ``CLIENT PAUSE``d.
- :class:`ServiceProcess`: the app served by ``python -m core.http.local_host`` with an explicit environment;
  SIGKILLed and restarted on the same port with the same environment.
- :class:`QueueWorkerProcess`: ``tests/faults/queue_worker.py``, the Functions host's queue triggers (``runs_execute``
  and any other queue-triggered function; see that module), for ``RUN_QUEUE=storage``.

``FAULTS_APP_ROOT`` (default: this checkout) names the checkout whose app the service and the workers run, so the same
tests can be pointed at an export of another commit (``git archive <commit> | tar -x -C DIR``).

Checks (:func:`wait_for_terminal`, :func:`assert_recovered`, …) use only the public API through the real ``openai``
SDK, and tolerate what a store outage may legitimately show a client: 502/503/504 answers and broken connections.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
from openai.types.beta.threads import Message, Run

from tests.servers import free_port, terminate, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
#: The checkout whose app the service and queue-worker subprocesses run: this one, unless FAULTS_APP_ROOT names another.
APP_ROOT = Path(os.environ.get("FAULTS_APP_ROOT") or ROOT).resolve()

# --- the service's settings the contract is stated in, and the bounds derived from them -------------------------
LEASE_SECONDS = 3  # RUN_LEASE_SECONDS
MAX_ATTEMPTS = 3  # RUN_MAX_ATTEMPTS
IDLE_TIMEOUT_SECONDS = 4  # UPSTREAM_IDLE_TIMEOUT_SECONDS
#: After a fault ends, the run is terminal and its thread takes a new run within this long: 2 leases + slack.
RECOVERY_SECONDS = 2 * LEASE_SECONDS + 6
#: A stalled upstream stream fails its run within this long of its last event: the idle timeout + slack.
HANG_SECONDS = IDLE_TIMEOUT_SECONDS + 6
#: A cancel of a run whose owner is gone shows ``cancelled`` this soon ("at once", with room for a loaded machine).
CANCEL_SECONDS = 3.0
#: A fresh run on a healthy service with an instant upstream completes within this long.
NEW_RUN_SECONDS = 15.0
#: How long a process may take to start (imports on a loaded 2-core machine).
STARTUP_SECONDS = 30.0
POLL_SECONDS = 0.2

API_KEY = "sk-fault-alice"
UPSTREAM_KEY = "sk-upstream-fake-key-0123456789"
MODEL = "gpt-4o-mini"
TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
TRANSIENT_STATUSES = frozenset({502, 503, 504})

_T = TypeVar("_T")


# --- processes ----------------------------------------------------------------------------------------------------


class LoggedProcess:
    """A child process whose stdout and stderr go to one log file (appended to across restarts)."""

    name = "process"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self, argv: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {self.name} start #{self.starts} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                argv, cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _failed_to_start(self, why: str) -> RuntimeError:
        return RuntimeError(f"{self.name} did not start: {why}\n--- log tail ---\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        terminate(process, timeout=5)


class RedisProcess(LoggedProcess):
    """``redis-server`` on a free loopback port, persisting every write (AOF, fsync always) in ``directory``."""

    name = "redis-server"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / "redis.log")
        self.directory = directory
        self.port = free_port()
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server; .ci/run does this)")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self._spawn([
            str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", str(self.directory), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--logfile", "",
        ])
        try:
            wait_for_port(self.port, timeout=STARTUP_SECONDS, process=self.process)
            self._wait_loaded()
        except (RuntimeError, TimeoutError) as error:
            raise self._failed_to_start(str(error)) from error
        return self

    def _wait_loaded(self) -> None:
        """Until the server answers PING (it answers LOADING while it replays the append-only file)."""
        import redis

        deadline = time.monotonic() + STARTUP_SECONDS
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2) as admin:
            while True:
                try:
                    if admin.ping():
                        return
                except redis.exceptions.RedisError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.05)

    def restart(self) -> RedisProcess:
        """Start again on the same port and directory (the append-only file brings the data back)."""
        self.kill()
        return self.start()

    def pause(self, seconds: float) -> None:
        """Freeze the server (SIGSTOP) for ``seconds``: it accepts connections but answers nothing, so clients time
        out. Returns when it runs again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            self.process.send_signal(signal.SIGCONT)

    def client_pause(self, seconds: float) -> None:
        """``CLIENT PAUSE <ms> ALL``: every client's commands wait ``seconds`` (the server stays responsive to the
        kernel, unlike :meth:`pause`). Returns when the pause is over."""
        import redis

        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5) as admin:
            admin.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")
            ends = time.monotonic() + seconds
        time.sleep(max(0.0, ends - time.monotonic()))


def service_env(*, redis_url: str | None = None, upstream_base_url: str,
                extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The service's (and queue worker's) environment: this process's without any of the app's settings, then the
    fault tier's settings."""
    from core.config import SETTINGS

    env = {name: value for name, value in os.environ.items()
           if name not in SETTINGS and not name.startswith("AzureWebJobsStorage") and not name.startswith("E2E_")}
    env.update({
        "OPENAI_BASE_URL": upstream_base_url,
        "OPENAI_API_KEY": UPSTREAM_KEY,
        "API_KEYS": f"alice:{API_KEY}",
        "RUN_LEASE_SECONDS": str(LEASE_SECONDS),
        "RUN_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "UPSTREAM_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT_SECONDS),
        "UPSTREAM_MAX_RETRIES": "0",
        "UPSTREAM_TIMEOUT_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
        "RUN_QUEUE": "in-process",
        "PYTHONUNBUFFERED": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    if redis_url is not None:
        env.update({"DATABASE_PROVIDER": "redis", "REDIS_URL": redis_url})
    env.update(extra or {})
    # Every other setting empty (= unset for the app), so the local host cannot fill it in from a developer's
    # local.settings.json (an Azure OpenAI endpoint there would send runs off this machine).
    for name in [*SETTINGS, "AzureWebJobsStorage", "AzureWebJobsStorage__accountName"]:
        env.setdefault(name, "")
    return env


class ServiceProcess(LoggedProcess):
    """The app as a subprocess (``python -m core.http.local_host``) on a fixed free port."""

    name = "service"

    def __init__(self, env: Mapping[str, str], log_path: Path, port: int | None = None) -> None:
        super().__init__(log_path)
        self.env = dict(env)
        self.port = port or free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ServiceProcess:
        self._spawn([sys.executable, "-m", "core.http.local_host", "--port", str(self.port)], env=self.env,
                    cwd=APP_ROOT)
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise self._failed_to_start(f"exited with {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.base_url}/health").status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    raise self._failed_to_start(f"GET /v1/health did not answer 200 within {STARTUP_SECONDS} s")
                time.sleep(0.1)

    def restart(self) -> ServiceProcess:
        """Start again on the same port with the same environment (after :meth:`kill` or :meth:`stop`)."""
        self.kill()
        return self.start()

    def client(self, timeout: float = 30.0) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=API_KEY, max_retries=0, timeout=timeout,
                             http_client=openai.DefaultHttpxClient(trust_env=False))


class QueueWorkerProcess(LoggedProcess):
    """The Functions host's queue trigger of ``runs_execute`` (tests/faults/queue_worker.py) as a subprocess."""

    name = "queue-worker"

    def __init__(self, env: Mapping[str, str], log_path: Path, visibility_seconds: int = 4) -> None:
        super().__init__(log_path)
        self.env = dict(env)
        self.visibility_seconds = visibility_seconds
        self._ready = log_path.with_suffix(".ready")

    def start(self) -> QueueWorkerProcess:
        self._ready.unlink(missing_ok=True)
        self._spawn([sys.executable, str(Path(__file__).with_name("queue_worker.py")), "--app-root", str(APP_ROOT),
                     "--ready-file", str(self._ready), "--visibility", str(self.visibility_seconds)],
                    env=self.env, cwd=APP_ROOT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._ready.exists():
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._failed_to_start(f"exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise self._failed_to_start(f"not ready within {STARTUP_SECONDS} s")
            time.sleep(0.05)
        return self

    def restart(self) -> QueueWorkerProcess:
        self.kill()
        return self.start()


#: ``make_service(redis_url=..., extra={...})``: a started service subprocess (a fixture of conftest.py).
ServiceFactory = Callable[..., ServiceProcess]
#: ``make_worker()``: a started queue worker with the storage service's environment (a fixture of conftest.py).
WorkerFactory = Callable[[], QueueWorkerProcess]


# --- what a client sees -------------------------------------------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """What a store outage may show a client: a 502/503/504, a broken or timed-out connection."""
    if isinstance(error, openai.APIStatusError):
        return error.status_code in TRANSIENT_STATUSES
    return isinstance(error, openai.APIConnectionError | openai.APITimeoutError)


def retrying(call: Callable[[], _T], deadline: float, what: str) -> _T:
    """``call()``, retried every POLL_SECONDS while it fails transiently, until ``deadline`` (monotonic)."""
    last: BaseException | None = None
    while True:
        try:
            return call()
        except openai.OpenAIError as error:
            if not is_transient(error):
                raise
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still failing at the deadline: {last!r}")
        time.sleep(POLL_SECONDS)


def wait_for_terminal(client: openai.OpenAI, thread_id: str, run_id: str, deadline: float,
                      what: str = "the run") -> Run:
    """Poll the run every POLL_SECONDS (tolerating outages) until it is terminal; fail at ``deadline``."""
    seen: list[str] = []
    last_error: BaseException | None = None
    while True:
        try:
            run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            if not seen or seen[-1] != run.status:
                seen.append(run.status)
            if run.status in TERMINAL:
                return run
        except openai.OpenAIError as error:
            if not is_transient(error):
                raise
            last_error = error
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} is not terminal by the deadline: statuses seen {seen or 'none'}"
                + (f", last error {last_error!r}" if last_error else ""))
        time.sleep(POLL_SECONDS)


def list_messages(client: openai.OpenAI, thread_id: str, deadline: float, run_id: str | None = None) -> list[Message]:
    def page() -> list[Message]:
        kwargs: dict[str, Any] = {"order": "asc", "limit": 100}
        if run_id is not None:
            kwargs["run_id"] = run_id
        return list(client.beta.threads.messages.list(thread_id, **kwargs))

    return retrying(page, deadline, "listing messages")


def message_text(message: Message) -> str:
    return "".join(part.text.value for part in message.content if part.type == "text")


def describe(messages: list[Message]) -> list[tuple[str, str, str | None, str]]:
    return [(m.role, m.status or "", m.run_id, message_text(m)[:40]) for m in messages]


def assert_no_in_progress_message(client: openai.OpenAI, thread_id: str, deadline: float) -> None:
    messages = list_messages(client, thread_id, deadline)
    stuck = [m for m in messages if m.status == "in_progress"]
    assert not stuck, f"messages left in_progress: {describe(stuck)} (thread: {describe(messages)})"


def assert_one_reply(client: openai.OpenAI, thread_id: str, run: Run, deadline: float,
                     expected_text: str | None = None) -> None:
    """A completed run has exactly one assistant message, completed (with ``expected_text``); any other run at most
    one, none in_progress."""
    replies = [m for m in list_messages(client, thread_id, deadline, run_id=run.id) if m.role == "assistant"]
    if run.status == "completed":
        assert len(replies) == 1, f"a completed run must have exactly one reply, has {describe(replies)}"
        assert replies[0].status == "completed", f"the reply of a completed run is {describe(replies)}"
        if expected_text is not None:
            assert message_text(replies[0]) == expected_text, f"unexpected reply {describe(replies)}"
    else:
        assert len(replies) <= 1, f"a {run.status} run left several replies: {describe(replies)}"
    assert not [m for m in replies if m.status == "in_progress"], f"reply left in_progress: {describe(replies)}"


def assert_not_falsely_cancelled(run: Run) -> None:
    assert run.status not in ("cancelled", "cancelling"), (
        f"run {run.id} is {run.status} though nobody cancelled it (last_error={run.last_error})")


def assert_takes_new_run(client: openai.OpenAI, thread_id: str, assistant_id: str, deadline: float,
                         expected_text: str | None = None) -> Run:
    """The thread accepts a new run before ``deadline`` (a 400 "already has an active run" counts as not yet), and
    that run completes."""
    last: BaseException | None = None
    while True:
        try:
            created = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
            break
        except openai.OpenAIError as error:
            busy = isinstance(error, openai.BadRequestError) and "active" in str(error).lower()
            if not (busy or is_transient(error)):
                raise
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"the thread does not take a new run by the deadline: {last!r}")
        time.sleep(POLL_SECONDS)
    done = wait_for_terminal(client, thread_id, created.id, time.monotonic() + NEW_RUN_SECONDS, "the new run")
    assert done.status == "completed", f"the new run ended {done.status}: {done.last_error}"
    assert_one_reply(client, thread_id, done, time.monotonic() + NEW_RUN_SECONDS, expected_text)
    return done


def assert_recovered(client: openai.OpenAI, thread_id: str, run_id: str, assistant_id: str, fault_ended: float, *,
                     allowed: frozenset[str] = frozenset({"completed"}), expected_text: str | None = None) -> Run:
    """Within RECOVERY_SECONDS of ``fault_ended``: the run is terminal with an allowed status (never a cancel nobody
    asked for), has one reply at most (exactly one when completed), no message is left in_progress, and the thread
    takes a new run that completes."""
    deadline = fault_ended + RECOVERY_SECONDS
    run = wait_for_terminal(client, thread_id, run_id, deadline)
    assert_not_falsely_cancelled(run)
    assert run.status in allowed, f"run ended {run.status} (allowed: {sorted(allowed)}), last_error={run.last_error}"
    if run.status == "failed":
        assert run.last_error is not None and run.last_error.code == "server_error", run.last_error
    checks = max(deadline, time.monotonic() + 5)
    assert_one_reply(client, thread_id, run, checks, expected_text if run.status == "completed" else None)
    assert_no_in_progress_message(client, thread_id, checks)
    assert_takes_new_run(client, thread_id, assistant_id, deadline)
    assert_no_in_progress_message(client, thread_id, time.monotonic() + 5)
    return run


# --- a streamed run consumed in the background --------------------------------------------------------------------


@dataclass
class StreamedRun:
    """``runs.create(stream=True)`` read on a thread of its own, so a test can inject a fault meanwhile."""

    client: openai.OpenAI
    thread_id: str
    assistant_id: str
    events: list[str] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)  # each event's data as JSON, as the client received it
    run_statuses: list[str] = field(default_factory=list)
    run_id: str | None = None
    error: BaseException | None = None
    text: str = ""
    started: threading.Event = field(default_factory=threading.Event)
    first_delta: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def start(self) -> StreamedRun:
        threading.Thread(target=self._read, name=f"stream-{self.thread_id}", daemon=True).start()
        return self

    def _read(self) -> None:
        try:
            stream = self.client.beta.threads.runs.create(self.thread_id, assistant_id=self.assistant_id,
                                                          stream=True)
            self.started.set()
            with stream:
                for event in stream:
                    self.events.append(event.event)
                    self.payloads.append(event.data.model_dump_json())
                    if event.event.startswith("thread.run.") and not event.event.startswith("thread.run.step"):
                        self.run_id = self.run_id or event.data.id
                        self.run_statuses.append(event.data.status)
                    elif event.event == "thread.message.delta":
                        for part in event.data.delta.content or []:
                            if part.type == "text" and part.text is not None and part.text.value:
                                self.text += part.text.value
                        self.first_delta.set()
        except BaseException as error:  # recorded: what the client saw is the subject of the test
            self.error = error
        finally:
            self.started.set()
            self.ended.set()

    def wait_for_delta(self, timeout: float) -> None:
        if not self.first_delta.wait(timeout):
            raise AssertionError(f"no message delta within {timeout} s (events {self.events}, error {self.error!r})")

    def find_run_id(self, deadline: float) -> str:
        """The run's id from the stream, else from the thread's run list (a stream cut before thread.run.created)."""
        if self.run_id is not None:
            return self.run_id
        runs = retrying(lambda: list(self.client.beta.threads.runs.list(self.thread_id, limit=10)), deadline,
                        "listing runs")
        assert len(runs) == 1, f"expected the one streamed run on the thread, found {[r.id for r in runs]}"
        return runs[0].id

    def assert_ended_consistently(self, final: Run, deadline: float) -> None:
        """The stream ended by ``deadline`` (no endless pings), never announced a cancel, and any terminal status it
        announced is the one the run ended with."""
        assert self.ended.wait(max(0.0, deadline - time.monotonic())), (
            f"the stream was still open at the deadline though the run is {final.status} (events {self.events[-5:]})")
        cancels = [status for status in self.run_statuses if status in ("cancelling", "cancelled")]
        assert not cancels, f"the stream announced {cancels} though nobody cancelled (events {self.events})"
        announced = [status for status in self.run_statuses if status in TERMINAL]
        if announced:
            assert announced[-1] == final.status, (
                f"the stream announced {announced[-1]} but the run ended {final.status}")
