"""Files through the real SDK (issue 9): upload (sync and async), list with ``purpose`` and paging, retrieve, content,
delete, the upload size limit (413) and a body that is not multipart (400). Uploads reach the upstream with the
service's own credentials and are recorded as the uploading tenant's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types import FileDeleted, FileObject

from core import bootstrap
from tests.e2e.conftest import Service
from tests.e2e.wire import upload
from tests.fake_responses import FakeResponsesServer


def test_upload_retrieve_content_delete(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    data = b"Returns are accepted within 30 days.\n" * 50
    created = client.files.create(file=("policy.txt", data), purpose="assistants")
    assert isinstance(created, FileObject) and created.id.startswith("file-")
    assert (created.filename, created.bytes, created.purpose) == ("policy.txt", len(data), "assistants")
    [sent] = fake.resource_requests_to("POST", "/v1/files")
    assert sent.headers["authorization"] == "Bearer sk-upstream-fake"  # the service's credentials, not the caller's
    assert sent.body["purpose"] == "assistants" and sent.body["file"]["bytes"] == len(data)
    assert fake.files.get(created.id) is not None

    assert client.files.retrieve(created.id) == created
    content = client.files.content(created.id)
    assert content.content == data
    assert created.id in [f.id for f in client.files.list()]

    assert client.files.delete(created.id) == FileDeleted(id=created.id, object="file", deleted=True)
    assert fake.files.get(created.id) is None
    for attempt in (client.files.retrieve, client.files.delete, client.files.content):
        with pytest.raises(openai.NotFoundError):
            attempt(created.id)
    assert created.id not in [f.id for f in client.files.list()]


def test_a_large_upload_streams_through_intact(client: openai.OpenAI) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB of every byte value
    created = client.files.create(file=("blob.bin", data, "application/octet-stream"), purpose="user_data")
    assert created.bytes == len(data)
    assert client.files.content(created.id).content == data


async def test_upload_with_the_async_client(async_client: openai.AsyncOpenAI, fake: FakeResponsesServer) -> None:
    async with async_client:
        created = await async_client.files.create(file=("a.md", b"# Title\n"), purpose="assistants")
        assert (await async_client.files.retrieve(created.id)).filename == "a.md"
        assert (await async_client.files.content(created.id)).content == b"# Title\n"
        listed = [f.id async for f in async_client.files.list(purpose="assistants")]
        assert created.id in listed
        assert (await async_client.files.delete(created.id)).deleted is True


def test_list_by_purpose_with_paging(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    mine = [upload(client, f"doc {i}".encode(), f"doc{i}.txt").id for i in range(5)]
    data = upload(client, b"a,b\n1,2\n", "table.csv", purpose="user_data").id

    newest_first = [f.id for f in client.files.list(purpose="assistants", limit=2)]  # auto-paginated, 2 a page
    assert newest_first[:5] == mine[::-1]
    assert data not in newest_first
    assert data in [f.id for f in client.files.list(purpose="user_data")]
    assert {data, *mine} <= {f.id for f in client.files.list()}

    page = client.files.list(purpose="assistants", limit=2)
    assert [f.id for f in page.data] == [mine[4], mine[3]] and page.has_more is True
    following = client.files.list(purpose="assistants", limit=2, after=mine[3])
    assert [f.id for f in following.data] == [mine[2], mine[1]]
    ascending = client.files.list(purpose="assistants", order="asc", after=mine[1], limit=3)
    assert [f.id for f in ascending.data] == mine[2:5] and ascending.has_more is False
    assert not any(r.path == "/v1/files" and r.method == "GET" for r in fake.resource_requests)  # listed from our store


def test_list_parameters_are_checked(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as limit:
        client.files.list(limit=0)
    assert limit.value.body["param"] == "limit"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as cursor:
        client.files.list(after="file-notoneofmine")
    assert cursor.value.body["param"] == "after"  # type: ignore[index]


def test_unknown_and_malformed_ids_are_404(client: openai.OpenAI) -> None:
    for file_id in ("file-doesnotexist", "not a file"):
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(file_id)
        with pytest.raises(openai.NotFoundError):
            client.files.content(file_id)
        with pytest.raises(openai.NotFoundError):
            client.files.delete(file_id)


def test_a_file_deleted_upstream_is_forgotten(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    created = upload(client)
    fake.files.reset()  # expired or deleted upstream
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    assert created.id not in [f.id for f in client.files.list()]


def test_an_upstream_refusal_is_relayed(client: openai.OpenAI, fake: FakeResponsesServer) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("x.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert refused.value.body["param"] == "purpose"  # type: ignore[index]


def test_a_body_that_is_not_multipart_is_400(service: Service, client: openai.OpenAI) -> None:
    before = [f.id for f in client.files.list()]
    headers = {"Authorization": f"Bearer {service.api_key}"}
    for content_type, content in (("application/json", b'{"file": "abc", "purpose": "assistants"}'),
                                  ("application/octet-stream", b"raw bytes"),
                                  ("multipart/form-data", b"--x--")):  # multipart without a boundary
        response = httpx.post(f"{service.base_url}/files", content=content, timeout=10,
                              headers={**headers, "Content-Type": content_type})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert [f.id for f in client.files.list()] == before


@pytest.fixture
def small_uploads(service: Service) -> Iterator[int]:
    """The running service with ``MAX_UPLOAD_BYTES`` = 4096 for this test."""
    if service.upstream is None:
        pytest.skip("changes the service's settings")
    container = bootstrap.get_container()
    original = container.settings
    container.settings = dataclasses.replace(original, max_upload_bytes=4096)
    try:
        yield 4096
    finally:
        container.settings = original


def test_an_upload_over_the_limit_is_413(client: openai.OpenAI, service: Service, fake: FakeResponsesServer,
                                         small_uploads: int) -> None:
    assert upload(client, b"x" * 1000).bytes == 1000
    with pytest.raises(openai.APIStatusError) as declared:
        upload(client, b"x" * (small_uploads + 1))
    assert declared.value.status_code == 413
    assert declared.value.body["code"] == "request_too_large"  # type: ignore[index]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced as the bytes arrive
        yield b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        for _ in range(10):
            yield b"y" * 1024
        yield b"\r\n--b--\r\n"

    streamed = httpx.post(f"{service.base_url}/files", content=chunks(), timeout=10,
                          headers={"Authorization": f"Bearer {service.api_key}",
                                   "Content-Type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["error"]["code"] == "request_too_large"
    assert [len(f.data) for f in fake.files.all()] == [1000]  # nothing larger reached the upstream
