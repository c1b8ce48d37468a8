"""Use cases of runs: create (alone or with a new thread), list, read, update.

Creating a run claims the thread (``thread.active_run_id``, written conditionally on the thread's etag) in the same
atomic commit that stores the run, so two concurrent creates cannot both start a run. Cancelling and tool outputs
are :mod:`.run_control`'s; execution is the :class:`~core.services.run_executor.RunExecutor`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from core.domain.errors import InvalidRequestError
from core.domain.ids import new_id
from core.domain.models import JSON, Assistant, Message, Run, Thread
from core.domain.pagination import ListQuery, Page
from core.ports.clock import Clock

from ._objects import merge_metadata, new_message, new_thread
from ._repository import Repository, assistants_of, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle
from ._run_state import RUN_EXPIRY_SECONDS

__all__ = ["RunService"]


def _merged_resources(*sources: JSON, attachments: Sequence[Message] = ()) -> JSON:
    """Union of file_search vector stores and code_interpreter files over ``sources`` and message attachments."""
    stores: list[str] = []
    files: list[str] = []
    for source in sources:
        stores += (source.get("file_search") or {}).get("vector_store_ids") or []
        files += (source.get("code_interpreter") or {}).get("file_ids") or []
    for message in attachments:
        for attachment in message.attachments:
            if any(tool.get("type") == "code_interpreter" for tool in attachment.get("tools", [])):
                files.append(attachment["file_id"])
    resources: JSON = {}
    if stores:
        resources["file_search"] = {"vector_store_ids": list(dict.fromkeys(stores))}
    if files:
        resources["code_interpreter"] = {"file_ids": list(dict.fromkeys(files))}
    return resources


class RunService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle

    def _new_run(self, run_id: str, assistant: Assistant, thread: Thread, options: Mapping[str, Any],
                 resources: JSON) -> Run:
        now = self._clock.now()
        instructions = [options.get("instructions") or assistant.instructions or "",
                        options.get("additional_instructions") or ""]
        tools = options["tools"] if options.get("tools") is not None else assistant.tools
        choice = options.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            names = {tool["function"]["name"] for tool in tools if tool["type"] == "function"}
            if choice["function"]["name"] not in names:
                raise InvalidRequestError(
                    f"tool_choice names function '{choice['function']['name']}', which is not among the run's tools.",
                    param="tool_choice",
                )
        run = Run(
            id=run_id, created_at=now, tenant_id=thread.tenant_id, thread_id=thread.id,
            assistant_id=assistant.id, expires_at=now + RUN_EXPIRY_SECONDS,
            model=options.get("model") or assistant.model,
            instructions="\n\n".join(part for part in instructions if part),
            tools=tools,
            metadata=options.get("metadata") or {},
            temperature=options.get("temperature", assistant.temperature),
            top_p=options.get("top_p", assistant.top_p),
            response_format=options.get("response_format", assistant.response_format),
            reasoning_effort=options.get("reasoning_effort", assistant.reasoning_effort),
            tool_resources=resources,
        )
        for name in ("max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "tool_choice",
                     "parallel_tool_calls"):
            if name in options:
                setattr(run, name, options[name])
        self._lifecycle.queued(run)
        return run

    async def _assistant(self, tenant_id: str, assistant_id: str) -> Assistant:
        return await self._repository.load(Assistant, assistants_of(tenant_id), assistant_id, tenant_id)

    async def create(self, tenant_id: str, thread_id: str, options: Mapping[str, Any],
                     additional_messages: Sequence[Mapping[str, Any]] = ()) -> Run:
        """Store a queued run (and its additional messages), claiming the thread; 400 if it has an active run."""
        assistant = await self._assistant(tenant_id, options["assistant_id"])
        run_id = new_id("run")

        async def attempt() -> Run:
            thread = await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
            active = await self._lifecycle.blocking_run(thread)
            if active is not None:
                raise InvalidRequestError(f"Thread {thread_id} already has an active run {active.id}.")
            now = self._clock.now()
            extra = [new_message(tenant_id, thread_id, now, fields) for fields in additional_messages]
            resources = _merged_resources(assistant.tool_resources, thread.tool_resources, attachments=extra)
            run = self._new_run(run_id, assistant, thread, options, resources)
            thread.active_run_id = run.id
            await self._repository.save(thread_partition(thread_id), create=[*extra, run], replace=[thread])
            return run

        return await self._registered(tenant_id, thread_id, run_id, attempt)

    async def create_thread_and_run(self, tenant_id: str, thread_spec: Mapping[str, Any],
                                    options: Mapping[str, Any]) -> tuple[Thread, Run]:
        assistant = await self._assistant(tenant_id, options["assistant_id"])
        thread, messages = new_thread(tenant_id, self._clock.now(), thread_spec.get("metadata"),
                                      thread_spec.get("tool_resources"), thread_spec.get("messages", ()))
        base = options["tool_resources"] if options.get("tool_resources") is not None else assistant.tool_resources
        run = self._new_run(new_id("run"), assistant, thread, options,
                            _merged_resources(base, thread.tool_resources, attachments=messages))
        thread.active_run_id = run.id

        async def store() -> Run:
            await self._repository.save(thread_partition(thread.id), create=[thread, *messages, run])
            return run

        return thread, await self._registered(tenant_id, thread.id, run.id, store)

    async def _registered(self, tenant_id: str, thread_id: str, run_id: str,
                          create: Callable[[], Awaitable[Run]]) -> Run:
        """Register the run with the sweep first, so no stored run escapes it; withdraw it if the run is refused."""
        await self._lifecycle.register(tenant_id, thread_id, run_id)
        try:
            return await retry_on_conflict(create)
        except BaseException:
            await self._lifecycle.unregister(run_id)
            raise

    async def retrieve(self, tenant_id: str, thread_id: str, run_id: str) -> Run:
        await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
        return await self._lifecycle.load(tenant_id, thread_id, run_id)

    async def list(self, tenant_id: str, thread_id: str, query: ListQuery) -> Page[Run]:
        await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
        return await self._repository.page(Run, thread_partition(thread_id), "runs", query)

    async def update(self, tenant_id: str, thread_id: str, run_id: str, metadata: dict[str, str] | None) -> Run:
        async def attempt() -> Run:
            run = await self.retrieve(tenant_id, thread_id, run_id)
            run.metadata = merge_metadata(run.metadata, metadata or {})
            await self._repository.save(thread_partition(thread_id), replace=[run])
            return run

        return await retry_on_conflict(attempt)
