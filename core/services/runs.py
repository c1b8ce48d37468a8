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
from core.domain.models import JSON, Assistant, Run, Thread
from core.domain.pagination import ListQuery, Page
from core.domain.run_status import ACTIVE
from core.ports.clock import Clock

from ._model_catalog import ModelCatalog
from ._objects import merge_metadata, new_message, new_thread
from ._repository import Body, Repository, assistants_of, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle, lapsed, overdue
from ._run_state import RUN_EXPIRY_SECONDS
from ._tool_files import ToolFiles, search_attachments, with_search_store

__all__ = ["RunService", "settled"]


def settled(run: Body, now: int) -> bool:
    """Whether reading the stored run leaves it as it is (:meth:`RunLifecycle.attend` would change nothing), so it
    can be shown without loading it as a model. Only active runs are looked at more closely."""
    if run.get("status") not in ACTIVE:
        return True
    model = Run.model_construct(**run)  # overdue() and lapsed() decide, so this cannot drift from attend()
    return not (overdue(model, now) or lapsed(model, now))


def _merged_resources(*sources: JSON) -> JSON:
    """Union of file_search vector stores and code_interpreter files over ``sources`` (the files messages attach
    for code_interpreter join at each call: :func:`~.translation.build_request`)."""
    stores: list[str] = []
    files: list[str] = []
    for source in sources:
        stores += (source.get("file_search") or {}).get("vector_store_ids") or []
        files += (source.get("code_interpreter") or {}).get("file_ids") or []
    resources: JSON = {}
    if stores:
        resources["file_search"] = {"vector_store_ids": list(dict.fromkeys(stores))}
    if files:
        resources["code_interpreter"] = {"file_ids": list(dict.fromkeys(files))}
    return resources


class RunService:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle, models: ModelCatalog,
                 tool_files: ToolFiles) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle
        self._models = models
        self._tool_files = tool_files

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
        await self._check(tenant_id, options, additional_messages, "additional_messages")
        run_id = new_id("run")
        store_id: str | None = None
        if search_attachments(additional_messages):
            thread = await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
            await self._refuse_if_busy(thread)
            store_id = await self._tool_files.index_attachments(tenant_id, thread, additional_messages)

        async def attempt() -> Run:
            thread = await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
            await self._refuse_if_busy(thread)
            thread.tool_resources = with_search_store(thread.tool_resources, store_id)
            now = self._clock.now()
            extra = [new_message(tenant_id, thread_id, now, fields) for fields in additional_messages]
            resources = _merged_resources(assistant.tool_resources, thread.tool_resources)
            run = self._new_run(run_id, assistant, thread, options, resources)
            thread.active_run_id = run.id
            await self._repository.save(thread_partition(thread_id), create=[*extra, run], replace=[thread])
            return run

        return await self._registered(tenant_id, thread_id, run_id, attempt)

    async def create_thread_and_run(self, tenant_id: str, thread_spec: Mapping[str, Any],
                                    options: Mapping[str, Any]) -> tuple[Thread, Run]:
        assistant = await self._assistant(tenant_id, options["assistant_id"])
        await self._check(tenant_id, options, thread_spec.get("messages", ()), "thread.messages")
        await self._tool_files.check(tenant_id, resources=thread_spec.get("tool_resources"),
                                     where="thread.tool_resources")
        await self._tool_files.check(tenant_id, resources=options.get("tool_resources"))
        thread_resources = await self._tool_files.stored(tenant_id, thread_spec.get("tool_resources"), for_thread=True)
        thread, messages = new_thread(tenant_id, self._clock.now(), thread_spec.get("metadata"), thread_resources,
                                      thread_spec.get("messages", ()))
        store_id = await self._tool_files.index_attachments(tenant_id, thread, thread_spec.get("messages", ()))
        thread.tool_resources = with_search_store(thread.tool_resources, store_id)
        requested = await self._tool_files.stored(tenant_id, options.get("tool_resources"))
        base = requested if requested is not None else assistant.tool_resources
        run = self._new_run(new_id("run"), assistant, thread, options,
                            _merged_resources(base, thread.tool_resources))
        thread.active_run_id = run.id

        async def store() -> Run:
            await self._repository.save(thread_partition(thread.id), create=[thread, *messages, run])
            return run

        return thread, await self._registered(tenant_id, thread.id, run.id, store)

    async def _check(self, tenant_id: str, options: Mapping[str, Any], messages: Sequence[Mapping[str, Any]],
                     messages_at: str) -> None:
        if options.get("model"):
            await self._models.check(options["model"])
        await self._tool_files.check(tenant_id, messages=messages, messages_at=messages_at)

    async def _refuse_if_busy(self, thread: Thread) -> None:
        active = await self._lifecycle.blocking_run(thread)
        if active is not None:
            raise InvalidRequestError(f"Thread {thread.id} already has an active run {active.id}.")

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
        _, run = await self._repository.load_many(thread_partition(thread_id), tenant_id, (Thread, thread_id),
                                                  (Run, run_id))  # one read (404: thread, then run)
        return await self._lifecycle.attend(run)

    async def retrieve_stored(self, tenant_id: str, thread_id: str, run_id: str) -> Body:
        """:meth:`retrieve`, as the stored document; a run that reading would change (expire, take over) goes through
        :meth:`retrieve` and comes back as it was then stored."""
        _, run = await self._repository.load_documents(thread_partition(thread_id), tenant_id, (Thread, thread_id),
                                                       (Run, run_id))
        if settled(run.body, self._clock.now()):
            return run.body
        return (await self.retrieve(tenant_id, thread_id, run_id)).model_dump(mode="json")

    async def list(self, tenant_id: str, thread_id: str, query: ListQuery) -> Page[Run]:
        await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
        return await self._repository.page(Run, thread_partition(thread_id), "runs", query)

    async def list_stored(self, tenant_id: str, thread_id: str, query: ListQuery) -> Page[Body]:
        """:meth:`list`, as stored documents (runs in a list are shown as stored, as :meth:`list` does)."""
        _, page = await self._repository.page_documents(thread_partition(thread_id), tenant_id, [(Thread, thread_id)],
                                                        "runs", query)
        return page

    async def update(self, tenant_id: str, thread_id: str, run_id: str, metadata: dict[str, str] | None) -> Run:
        async def attempt() -> Run:
            run = await self.retrieve(tenant_id, thread_id, run_id)
            run.metadata = merge_metadata(run.metadata, metadata or {})
            await self._repository.save(thread_partition(thread_id), replace=[run])
            return run

        return await retry_on_conflict(attempt)
