"""Reading run steps."""

from __future__ import annotations

from core.domain.errors import NotFoundError
from core.domain.models import RunStep, Thread
from core.domain.pagination import ListQuery, Page

from ._repository import Repository, thread_partition
from ._run_lifecycle import RunLifecycle

__all__ = ["FILE_SEARCH_CONTENT", "StepService"]

FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def _without_result_content(step: RunStep) -> RunStep:
    for call in step.step_details.get("tool_calls", []):
        for result in (call.get("file_search") or {}).get("results") or []:
            result.pop("content", None)
    return step


class StepService:
    def __init__(self, repository: Repository, lifecycle: RunLifecycle) -> None:
        self._repository = repository
        self._lifecycle = lifecycle

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
