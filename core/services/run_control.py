"""Changing a run from outside its execution: cancel it, or hand it the outputs of the tools it asked for."""

from __future__ import annotations

from collections.abc import Sequence

from core.domain.errors import InvalidRequestError
from core.domain.models import Run, RunStep, Thread
from core.ports.clock import Clock

from ._cancel import CancelSignals
from ._repository import Repository, thread_partition
from ._retry import retry_on_conflict
from ._run_lifecycle import RunLifecycle, lapsed
from ._run_state import move, settle_step

__all__ = ["RunControl"]


class RunControl:
    def __init__(self, repository: Repository, clock: Clock, lifecycle: RunLifecycle, signals: CancelSignals) -> None:
        self._repository = repository
        self._clock = clock
        self._lifecycle = lifecycle
        self._signals = signals

    async def _load(self, tenant_id: str, thread_id: str, run_id: str) -> Run:
        await self._repository.load(Thread, thread_partition(thread_id), thread_id, tenant_id)
        return await self._lifecycle.load(tenant_id, thread_id, run_id)

    async def cancel(self, tenant_id: str, thread_id: str, run_id: str) -> Run:
        """Move an active run to ``cancelling``; a run with nothing in flight (queued, waiting for tool outputs, or
        whose executor is gone) goes on to ``cancelled`` at once."""

        async def attempt() -> tuple[Run, bool]:
            run = await self._load(tenant_id, thread_id, run_id)
            if run.status == "cancelling":
                return run, False
            if run.status not in ("queued", "in_progress", "requires_action"):
                raise InvalidRequestError(f"Cannot cancel run with status '{run.status}'.")
            idle = run.status != "in_progress" or lapsed(run, self._clock.now())
            move(run, "cancelling", self._clock.now())
            await self._repository.save(thread_partition(thread_id), replace=[run])
            return run, idle

        run, idle = await retry_on_conflict(attempt)
        self._signals.fire(run.id)
        if idle:
            shown = run.model_copy(deep=True)
            await retry_on_conflict(lambda: self._finish_cancel(tenant_id, thread_id, run_id))
            return shown
        return run

    async def _finish_cancel(self, tenant_id: str, thread_id: str, run_id: str) -> None:
        run = await self._load(tenant_id, thread_id, run_id)
        if run.status == "cancelling":
            await self._lifecycle.finish(run, "cancelled")

    async def submit_tool_outputs(
        self, tenant_id: str, thread_id: str, run_id: str, outputs: Sequence[tuple[str, str]]
    ) -> tuple[Run, RunStep]:
        """Record every pending call's output (all in one request), complete the tool step and re-queue the run."""

        async def attempt() -> tuple[Run, RunStep]:
            run = await self._load(tenant_id, thread_id, run_id)
            if run.status != "requires_action":
                raise InvalidRequestError(f'Runs in status "{run.status}" do not accept tool outputs.')
            pending = {call.id: call for call in run.pending_tool_calls}
            given: dict[str, str] = {}
            for position, (call_id, output) in enumerate(outputs):
                param = f"tool_outputs[{position}].tool_call_id"
                if call_id not in pending:
                    raise InvalidRequestError(f"No tool call found with id '{call_id}'.", param=param)
                if call_id in given:
                    raise InvalidRequestError(f"Duplicate output for tool call '{call_id}'.", param=param)
                given[call_id] = output
            missing = [call_id for call_id in pending if call_id not in given]
            if missing:
                raise InvalidRequestError(
                    f"Expected tool outputs for call ids {sorted(pending)}, missing {missing}.", param="tool_outputs"
                )
            assert run.pending_step_id is not None
            step = await self._repository.load(RunStep, thread_partition(thread_id), run.pending_step_id, tenant_id)
            for call in step.step_details["tool_calls"]:
                if call["id"] in given:
                    call["function"]["output"] = given[call["id"]]
            now = self._clock.now()
            settle_step(step, "completed", now, usage=run.pending_usage)
            run.output_items = [
                *run.output_items,
                *({"type": "function_call_output", "call_id": call_id, "output": given[call_id]}
                  for call_id in pending),
            ]
            run.pending_tool_calls, run.pending_step_id, run.pending_usage = [], None, None
            move(run, "queued", now)
            self._lifecycle.queued(run)
            await self._repository.save(thread_partition(thread_id), replace=[run, step])
            return run, step

        return await retry_on_conflict(attempt)
