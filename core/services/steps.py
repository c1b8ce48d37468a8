"""Reading run steps."""

from __future__ import annotations

from core.domain.errors import NotFoundError
from core.domain.models import FILE_SEARCH_CONTENT, JSON, Run, RunStep, Thread
from core.domain.pagination import ListQuery, Page
from core.domain.run_status import ACTIVE
from core.ports.store import Document

from ._repository import Body, Repository, as_model, thread_partition
from ._run_lifecycle import RunLifecycle

__all__ = ["FILE_SEARCH_CONTENT", "StepService"]


def _strip_result_content(step_details: JSON) -> None:
    for call in step_details.get("tool_calls", []):
        for result in (call.get("file_search") or {}).get("results") or []:
            result.pop("content", None)


def _without_result_content(step: RunStep) -> RunStep:
    _strip_result_content(step.step_details)
    return step


class StepService:
    def __init__(self, repository: Repository, lifecycle: RunLifecycle) -> None:
        self._repository = repository
        self._lifecycle = lifecycle

    async def _attend(self, run: Document) -> None:
        """Reading steps meets their run, as :meth:`_check_run` does: an overdue or lapsed one is dealt with (only an
        active run can be, so only one is loaded as a model)."""
        if run.body.get("status") in ACTIVE:
            await self._lifecycle.attend(as_model(Run, run))

    async def _check_run(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
        await self._lifecycle.load(tenant_id, thread_id, run_id)

    async def list(self, tenant_id: str, thread_id: str, run_id: str, query: ListQuery,
                   include: frozenset[str] = frozenset()) -> Page[RunStep]:
        await self._check_run(tenant_id, thread_id, run_id)
        page = await self._repository.page(RunStep, thread_partition(thread_id), f"steps:{run_id}", query)
        if FILE_SEARCH_CONTENT not in include:
            page = Page([_without_result_content(step) for step in page.data], page.has_more)
        return page

    async def retrieve(self, tenant_id: str, thread_id: str, run_id: str, step_id: str,
                       include: frozenset[str] = frozenset()) -> RunStep:
        await self._check_run(tenant_id, thread_id, run_id)
        step = await self._repository.load(RunStep, thread_partition(thread_id), step_id, tenant_id)
        if step.run_id != run_id:
            raise NotFoundError("run step", step_id)
        return step if FILE_SEARCH_CONTENT in include else _without_result_content(step)

    async def list_stored(self, tenant_id: str, thread_id: str, run_id: str, query: ListQuery,
                          include: frozenset[str] = frozenset()) -> Page[Body]:
        """:meth:`list`, as stored documents; thread, run and page are one read where the store can."""
        [_, run], page = await self._repository.page_documents(
            thread_partition(thread_id), tenant_id, [(Thread, thread_id), (Run, run_id)], f"steps:{run_id}", query)
        await self._attend(run)
        if FILE_SEARCH_CONTENT not in include:
            for step in page.data:
                _strip_result_content(step["step_details"])
        return page

    async def retrieve_stored(self, tenant_id: str, thread_id: str, run_id: str, step_id: str,
                              include: frozenset[str] = frozenset()) -> Body:
        """:meth:`retrieve`, as the stored document; thread, run and step are one read where the store can."""
        _, run, step = await self._repository.load_documents(
            thread_partition(thread_id), tenant_id, (Thread, thread_id), (Run, run_id), (RunStep, step_id))
        await self._attend(run)
        if step.body.get("run_id") != run_id:
            raise NotFoundError("run step", step_id)
        if FILE_SEARCH_CONTENT not in include:
            _strip_result_content(step.body["step_details"])
        return step.body
