"""Fixtures of the third-party upstream tier: real Responses servers from PyPI, started on loopback.

- ``llm-mock-api`` 0.1.2 (``python -m llm_mock_api.cli start``), answering by the keyword rules of
  ``llm_mock_rules.json5``;
- ``open-responses-server`` 0.4.1 (``python -m open_responses_server.cli start``, i.e. ``otc start``), bridging the
  Responses API to chat completions; its backend is :class:`~tests.upstreams.chat_stub.ChatCompletionsStub`, in
  this process, scripted per test.

Both run from their own virtualenv (see :func:`tests.upstreams.support.upstreams_python`), each behind a
:class:`~tests.upstreams.support.RecordingProxy` that shows a test what the service sent. The servers live for the
session; the service under test is started per test module (see the modules' ``service`` fixtures). When a test
fails, the tail of each server's log is added to its report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.upstreams.chat_stub import ChatCompletionsStub
from tests.upstreams.support import (
    HERE,
    RecordingProxy,
    Upstream,
    UpstreamProcess,
    UpstreamsUnavailable,
    clean_env,
    upstreams_python,
)

_STARTED: dict[str, UpstreamProcess] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "upstreams: the Assistants flow against real third-party Responses servers from PyPI "
        "(llm-mock-api, open-responses-server), installed into their own virtualenv on first use")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        names: list[str] = getattr(item, "fixturenames", [])
        for fixture, process in _STARTED.items():
            if fixture in names:
                report.sections.append((f"{process.name} log (tail)", process.log_tail(80)))
    return report


@pytest.fixture(scope="session")
def upstreams_interpreter() -> Path:
    try:
        return upstreams_python()
    except UpstreamsUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def llm_mock(upstreams_interpreter: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """llm-mock-api on a free port: no latency between SSE frames, text streamed in 8-character deltas."""
    workdir = tmp_path_factory.mktemp("llm-mock-api")
    port = free_port()
    argv = [str(upstreams_interpreter), "-m", "llm_mock_api.cli", "start",
            "--config", str(workdir / "config.json"),  # absent: CLI options and defaults only
            "--host", "127.0.0.1", "--port", str(port), "--rules", str(HERE / "llm_mock_rules.json5"),
            "--latency", "0", "--chunk-size", "8", "--log-level", "info"]
    with UpstreamProcess("llm-mock-api", argv, clean_env(), workdir, port) as process:
        _STARTED["llm_mock"] = process
        with RecordingProxy(process.url) as proxy:
            yield Upstream("llm-mock-api", process, proxy, f"{proxy.url}/v1")
        _STARTED.pop("llm_mock", None)


@pytest.fixture(scope="session")
def chat_stub() -> Iterator[ChatCompletionsStub]:
    with ChatCompletionsStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def ors(upstreams_interpreter: Path, chat_stub: ChatCompletionsStub,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """open-responses-server on a free port, its chat-completions backend the stub, no MCP servers.

    It serves ``POST /responses`` at its root (``/v1/responses`` falls through to its catch-all proxy, which forwards
    to the backend's ``/v1/v1/responses``), so the service's base URL is the server's root, without ``/v1``."""
    workdir = tmp_path_factory.mktemp("open-responses-server")  # it writes ./log/api_adapter.log
    (workdir / "servers_config.json").write_text(json.dumps({"mcpServers": {}}))
    port = free_port()
    env = clean_env(API_ADAPTER_HOST="127.0.0.1", API_ADAPTER_PORT=str(port),
                    OPENAI_BASE_URL_INTERNAL=chat_stub.url, OPENAI_BASE_URL=f"http://127.0.0.1:{port}",
                    OPENAI_API_KEY="sk-ors-backend-dummy", MCP_SERVERS_CONFIG_PATH=str(workdir / "servers_config.json"))
    argv = [str(upstreams_interpreter), "-m", "open_responses_server.cli", "start"]
    with UpstreamProcess("open-responses-server", argv, env, workdir, port) as process:
        _STARTED["ors"] = process
        with RecordingProxy(process.url) as proxy:
            yield Upstream("open-responses-server", process, proxy, proxy.url)
        _STARTED.pop("ors", None)
