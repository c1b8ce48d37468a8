"""Threads and messages through the real SDK."""

from __future__ import annotations

import openai
import pytest
from openai.types.beta import Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted

from tests.e2e.wire import assert_wire_shape, upload


def test_thread_lifecycle(client: openai.OpenAI) -> None:
    file_id = upload(client).id  # referenced files must be the caller's own
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi! How can I help?"}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        ],
        metadata={"user": "42"},
        tool_resources={"code_interpreter": {"file_ids": [file_id]}},
    )
    assert isinstance(thread, Thread) and thread.id.startswith("thread_")
    assert thread.metadata == {"user": "42"}
    assert thread.tool_resources and thread.tool_resources.code_interpreter
    assert thread.tool_resources.code_interpreter.file_ids == [file_id]
    assert client.beta.threads.retrieve(thread.id) == thread

    messages = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in messages.data] == ["user", "assistant", "user"]
    first = messages.data[0]
    assert first.content[0].type == "text" and first.content[0].text.value == "Hello"  # type: ignore[union-attr]
    assert first.content[0].text.annotations == []  # type: ignore[union-attr]
    assert first.thread_id == thread.id and first.run_id is None and first.assistant_id is None
    assert first.status == "completed"
    assert messages.data[2].content[0].type == "image_url"

    updated = client.beta.threads.update(thread.id, metadata={"user": "43"})
    assert updated.metadata == {"user": "43"}
    assert client.beta.threads.delete(thread.id) == ThreadDeleted(id=thread.id, object="thread.deleted", deleted=True)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(first.id, thread_id=thread.id)


def test_message_crud_and_wire_shape(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    file_id = upload(client).id
    raw = client.beta.threads.messages.with_raw_response.create(
        thread.id, role="user", content="What is 2+2?", metadata={"k": "v"},
        attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}],
    )
    assert_wire_shape("thread.message", raw.http_response.json())
    message = raw.parse()
    assert isinstance(message, Message) and message.id.startswith("msg_")
    assert message.attachments and message.attachments[0].file_id == file_id
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread.id) == message

    changed = client.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"k": "w"})
    assert changed.metadata == {"k": "w"}
    listing = client.beta.threads.messages.with_raw_response.list(thread.id)
    assert_wire_shape("list", listing.http_response.json())

    gone = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert gone == MessageDeleted(id=message.id, object="thread.message.deleted", deleted=True)
    assert client.beta.threads.messages.list(thread.id).data == []


def test_message_listing_order_cursors_and_pages(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    ids = [client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(30)]
    assert [m.id for m in client.beta.threads.messages.list(thread.id, order="asc", limit=7)] == ids
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == ids[::-1]
    page = client.beta.threads.messages.list(thread.id, order="desc", limit=4, after=ids[20])
    assert [m.id for m in page.data] == ids[19:15:-1]
    assert page.has_more is True
    page = client.beta.threads.messages.list(thread.id, order="desc", limit=4, before=ids[20])
    assert [m.id for m in page.data] == ids[24:20:-1]
    last = client.beta.threads.messages.list(thread.id, order="asc", limit=5, after=ids[24])
    assert [m.id for m in last.data] == ids[25:]
    assert last.has_more is False
    both = client.beta.threads.messages.list(thread.id, order="asc", after=ids[3], before=ids[7])
    assert [m.id for m in both.data] == ids[4:7]


def test_messages_of_another_thread_are_not_found(client: openai.OpenAI) -> None:
    one, two = client.beta.threads.create(), client.beta.threads.create()
    message = client.beta.threads.messages.create(one.id, role="user", content="hi")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=two.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list("thread_missing")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.create("thread_missing", role="user", content="x")


@pytest.mark.parametrize(
    ("content", "param"),
    [("", "content"), ([], "content"), ([{"type": "text"}], "content[0].text"),
     ([{"type": "video", "video": {}}], "content[0]")],
)
def test_bad_message_content(client: openai.OpenAI, content: object, param: str) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(thread.id, role="user", content=content)  # type: ignore[arg-type]
    assert info.value.param == param
    assert client.beta.threads.messages.list(thread.id).data == []


def test_bad_thread_create_names_the_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.create(messages=[{"role": "user", "content": "ok"}, {"role": "robot", "content": "x"}])
    assert info.value.param == "messages[1].role"
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.create(metadata={"k": 1})  # type: ignore[dict-item]
    assert info.value.param == "metadata.k"


def test_thread_tenancy(client: openai.OpenAI, other_client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "secret"}])
    for call in (
        lambda: other_client.beta.threads.retrieve(thread.id),
        lambda: other_client.beta.threads.update(thread.id, metadata={}),
        lambda: other_client.beta.threads.delete(thread.id),
        lambda: other_client.beta.threads.messages.list(thread.id),
        lambda: other_client.beta.threads.messages.create(thread.id, role="user", content="x"),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert len(client.beta.threads.messages.list(thread.id).data) == 1
