"""Files and vector stores when Redis or the upstream fails (issue 9): a refusal the client can retry, and nothing
left behind that no tenant owns or that a tenant owns but cannot see."""

from __future__ import annotations

import time

import openai
import pytest

from tests.fake_responses import FakeResponsesServer
from tests.faults.support import RECOVERY_SECONDS, RedisProcess, retrying

pytestmark = [pytest.mark.faults, pytest.mark.redis]


def test_an_upload_while_redis_is_down_is_a_503_and_leaves_no_upstream_file(
        client: openai.OpenAI, fake: FakeResponsesServer, redis_process: RedisProcess) -> None:
    redis_process.kill()
    try:
        with pytest.raises(openai.APIStatusError) as refused:
            client.files.create(file=("notes.txt", b"while the store is down"), purpose="assistants")
        assert refused.value.status_code == 503
        [upload] = fake.resource_requests_to("POST", "/v1/files")  # it reached the upstream ...
        deletes = [r for r in fake.resource_requests if r.method == "DELETE" and r.path.startswith("/v1/files/")]
        assert len(deletes) == 1 and upload.body["file"]["filename"] == "notes.txt"
        assert fake.files.all() == []  # ... and was deleted again: nobody could have deleted it later
    finally:
        redis_process.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    assert retrying(lambda: client.files.list().data, deadline, "list files") == []
    uploaded = retrying(lambda: client.files.create(file=("notes.txt", b"again"), purpose="assistants"), deadline,
                        "upload")
    assert [file.id for file in client.files.list()] == [uploaded.id]
    assert client.files.content(uploaded.id).read() == b"again"


def test_with_the_upstream_gone_lists_still_answer_and_reads_are_a_safe_503(
        client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    uploaded = client.files.create(file=("notes.txt", b"kept"), purpose="assistants")
    store = client.vector_stores.create(name="docs", file_ids=[uploaded.id])
    fake.stop()
    assert [file.id for file in client.files.list()] == [uploaded.id]  # the tenant's records, not the upstream
    assert [listed.id for listed in client.vector_stores.list()] == [store.id]  # shown as last seen
    for read in (lambda: client.files.retrieve(uploaded.id), lambda: client.files.content(uploaded.id),
                 lambda: client.vector_stores.retrieve(store.id)):
        with pytest.raises(openai.APIStatusError) as refused:
            read()
        assert refused.value.status_code == 503
        assert "127.0.0.1" not in refused.value.message and "sk-" not in refused.value.message
