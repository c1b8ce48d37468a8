"""The service driven by the real **Node** ``openai`` SDK, the way a Node Assistants app drives it.

``tests/node/`` pins the SDK (``package.json`` + ``package-lock.json``, installed by ``npm ci`` on first use) and holds
the apps: ``assistants_flow.mjs`` (Files, a vector store filled by ``fileBatches.uploadAndPoll``, an assistant with
``file_search``, a thread whose message attaches a file, ``runs.createAndPoll`` then ``runs.stream`` with its event
handlers, messages, ``files.content``, models) and ``azure_flow.mjs`` (``AzureOpenAI({endpoint, apiVersion})`` on the
``/openai`` routes). Each prints what it observed as one JSON object, which these tests check as a user would.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Service
from tests.fake_responses import FakeResponsesServer

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SDK = NODE_DIR / "node_modules" / "openai" / "package.json"
NOTES = "The warranty lasts two years from the date of purchase."
MANUAL = "Returns are accepted within 30 days."
WARRANTY_ANSWER = "The warranty lasts two years."
RETURNS_ANSWER = "Returns are accepted within 30 days."
TIMEOUT = 60.0


def _installed() -> bool:
    return SDK.is_file()


@pytest.fixture(scope="session")
def node() -> str:
    """``node``, with the pinned SDK installed in tests/node by ``npm ci`` if it is not there yet."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node SDK tests need Node.js 20+ (.ci/system-deps.sh installs it)")
    if not _installed():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not: cannot install the Node openai SDK (tests/node)")
        lock_path = Path(tempfile.gettempdir()) / "assistants-tests-node-sdk.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _installed():
                result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                                        capture_output=True, text=True, timeout=300, check=False)
                if result.returncode != 0 or not _installed():
                    pytest.fail(f"npm ci in {NODE_DIR} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return node


def _run(node: str, script: str, **env: str) -> dict[str, Any]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "AZURE_"))}
    environment.update(env, NO_PROXY="127.0.0.1,localhost")
    result = subprocess.run([node, script], cwd=NODE_DIR, env=environment, capture_output=True, text=True,
                            timeout=TIMEOUT, check=False)
    assert result.returncode == 0, f"{script} failed ({result.returncode}):\n{result.stderr[-4000:]}"
    observed: dict[str, Any] = json.loads(result.stdout)
    return observed


def _assert_cites(message: dict[str, Any], *file_ids: str) -> None:
    """The message cites exactly these files, each annotation bracketing its marker in the text."""
    annotations = message["annotations"]
    assert sorted(a["file_id"] for a in annotations) == sorted(file_ids)
    assert all(a["type"] == "file_citation" and a["brackets"] and a["text"] in message["text"] for a in annotations)


def test_node_assistants_app_with_file_search(node: str, service: Service, fake: FakeResponsesServer) -> None:
    fake.reply_file_search(WARRANTY_ANSWER)  # results: what the fake finds in the stores the request names
    fake.reply_file_search(RETURNS_ANSWER)

    seen = _run(node, "assistants_flow.mjs", BASE_URL=service.base_url, API_KEY=service.api_key, NOTES=NOTES,
                MANUAL=MANUAL)

    notes_id = seen["file"]["id"]
    assert (seen["file"]["filename"], seen["file"]["bytes"], seen["file"]["purpose"]) == (
        "notes.txt", len(NOTES.encode()), "assistants")
    assert seen["file"]["retrieved_filename"] == "notes.txt"
    assert base64.b64decode(seen["content_base64"]) == NOTES.encode()  # what was uploaded, byte for byte

    store = seen["vector_store"]
    assert store["batch_status"] == "completed"
    assert store["batch_counts"]["completed"] == 2 and store["batch_counts"]["failed"] == 0
    store_files = {f["id"]: f["status"] for f in store["files"]}
    assert notes_id in store_files and set(store_files.values()) == {"completed"} and len(store_files) == 2
    [manual_id] = set(store_files) - {notes_id}
    assert seen["assistant"]["vector_store_ids"] == [store["id"]]

    # The attachment gave the thread a vector store of its own, holding the attached file.
    [thread_store] = seen["thread"]["vector_store_ids"]
    assert thread_store != store["id"]
    assert fake.vector_stores.file_ids(thread_store) == [notes_id]

    polled = seen["polled"]
    assert polled["status"] == "completed", polled["last_error"]
    assert polled["rendered"] == f"{WARRANTY_ANSWER}[0][1]"  # the docs' footnote loop renders the citations
    _assert_cites(polled, notes_id, manual_id)
    assert seen["steps"] == ["tool_calls", "message_creation"]

    # The upstream was asked to search both stores, the assistant's and the thread's.
    first, second = fake.requests
    [tool] = [tool for tool in first["tools"] if tool["type"] == "file_search"]
    assert set(tool["vector_store_ids"]) == {store["id"], thread_store}
    assert second["stream"] is True

    streamed = seen["streamed"]
    assert streamed["status"] == "completed"
    [done] = streamed["done"]
    assert done["rendered"] == f"{RETURNS_ANSWER}[0][1]"
    _assert_cites(done, notes_id, manual_id)
    assert len(streamed["deltas"]) > 1  # streamed in pieces, not in one block
    assert "".join(streamed["deltas"]) == done["text"]  # the deltas add up to the message, markers included
    assert streamed["events"][0] == "thread.run.created" and streamed["events"][-1] == "thread.run.completed"
    assert {"thread.message.delta", "thread.run.step.completed", "thread.message.completed"} <= set(streamed["events"])

    messages = seen["messages"]  # auto-paginated two at a time
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "How long is the warranty?"),
        ("assistant", polled["text"]),
        ("user", "And returns?"),
        ("assistant", done["text"]),
    ]
    assert messages[0]["attachments"] == [notes_id]
    assert [m["run_id"] for m in messages if m["role"] == "assistant"] == [polled["id"], streamed["id"]]
    assert messages[3]["id"] == done["id"] and messages[3]["annotations"] == done["annotations"]

    assert seen["models"] and "gpt-4o-mini" in seen["models"]


def test_node_azure_openai_client(node: str, service: Service, fake: FakeResponsesServer) -> None:
    fake.reply_text("Hello, Azure caller.")

    seen = _run(node, "azure_flow.mjs", ENDPOINT=service.base_url.removesuffix("/v1"), API_KEY=service.api_key,
                API_VERSION="2024-05-01-preview")

    assert seen["base_url"].endswith("/openai")
    assert seen["assistant"]["name"] == "Azure Node helper"
    assert seen["message"]["thread_id"] == seen["thread"]["id"]
    run = seen["run"]
    assert run["status"] == "completed", run["last_error"]
    assert (run["thread_id"], run["assistant_id"]) == (seen["thread"]["id"], seen["assistant"]["id"])
    assert seen["messages"] == [{"role": "user", "text": "Hi from Azure"},
                                {"role": "assistant", "text": "Hello, Azure caller."}]
    [request] = fake.requests
    assert request["model"] == "gpt-4o-mini"
