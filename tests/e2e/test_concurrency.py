"""Concurrent clients on one thread: every write lands exactly once, nobody gets a server error."""

from __future__ import annotations

import asyncio

import openai


async def test_concurrent_message_creates_all_land(async_client: openai.AsyncOpenAI) -> None:
    thread = await async_client.beta.threads.create()
    created = await asyncio.gather(
        *(async_client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}") for i in range(25))
    )
    listed = [m.id async for m in async_client.beta.threads.messages.list(thread.id, order="asc", limit=100)]
    assert sorted(listed) == sorted(m.id for m in created)
    assert len(set(listed)) == 25


async def test_concurrent_assistant_updates_all_succeed(async_client: openai.AsyncOpenAI) -> None:
    assistant = await async_client.beta.assistants.create(model="gpt-4o-mini")
    results = await asyncio.gather(
        *(async_client.beta.assistants.update(assistant.id, metadata={"n": str(i)}) for i in range(15))
    )
    final = await async_client.beta.assistants.retrieve(assistant.id)
    assert final.metadata in [r.metadata for r in results]
