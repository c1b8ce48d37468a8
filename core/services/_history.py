"""The Responses request of a run's next turn: the thread's history before the run, trimmed to its budgets (§4.3)."""

from __future__ import annotations

import json
from typing import Any

from core.domain.ids import creation_key
from core.domain.models import JSON, Message, Run, RunStep
from core.domain.pagination import ListQuery, Page

from ._repository import Repository, thread_partition
from .translation import MAX_HISTORY_MESSAGES, MIN_OUTPUT_TOKENS, build_request

__all__ = ["history_request"]


async def history_request(repository: Repository, run: Run) -> tuple[JSON | None, str | None]:
    """(the request, ``None``), or (``None``, the budget that stops the run ``incomplete`` before any call)."""
    budget = run.max_completion_tokens
    if budget is not None and budget - run.accrued_usage.completion_tokens < MIN_OUTPUT_TOKENS:
        return None, "max_completion_tokens"
    if run.max_prompt_tokens is not None and run.accrued_usage.prompt_tokens >= run.max_prompt_tokens:
        return None, "max_prompt_tokens"
    history = await _history(repository, run)
    first_call = run.upstream_calls == 0
    request = build_request(run, history, first_call=first_call)
    if run.max_prompt_tokens is not None:
        while len(history) > 1 and _estimated_tokens(request) > run.max_prompt_tokens:  # keep the latest turn
            history = history[1:]
            request = build_request(run, history, first_call=first_call)
        if _estimated_tokens(request) > run.max_prompt_tokens:
            return None, "max_prompt_tokens"
    return request, None


async def _history(repository: Repository, run: Run) -> list[Message | RunStep]:
    """The thread before this run: recent messages and earlier tool steps, oldest first."""
    partition = thread_partition(run.thread_id)
    limit = MAX_HISTORY_MESSAGES
    if run.truncation_strategy.get("type") == "last_messages" and run.truncation_strategy.get("last_messages"):
        limit = min(limit, int(run.truncation_strategy["last_messages"]))
    recent: list[Page[Any]] = await repository.pages(
        partition, (Message, "messages", ListQuery(limit, "desc")), (RunStep, "tool_steps", ListQuery(100, "desc")))
    recent_messages: list[Message] = recent[0].data
    recent_steps: list[RunStep] = recent[1].data
    messages = [message for message in recent_messages if message.run_id != run.id]
    oldest = creation_key(messages[-1].id if messages else run.id)
    steps = [step for step in recent_steps if step.run_id != run.id and creation_key(step.id) > oldest]
    merged: list[Message | RunStep] = [*messages, *steps]
    return sorted(merged, key=lambda entry: creation_key(entry.id))


def _estimated_tokens(request: JSON) -> int:
    """A cheap upper-bound-ish estimate (4 characters a token) used to honour ``max_prompt_tokens``."""
    return (len(json.dumps(request.get("input", []))) + len(request.get("instructions") or "")) // 4
