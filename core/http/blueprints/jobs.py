"""Background work in Azure: ``runs_execute`` executes queued runs (RUN_QUEUE=storage), ``runs_poisoned`` fails the
runs whose job could not be delivered, ``runs_sweep`` takes over runs whose executor is gone (every 30 s)."""

# No `from __future__ import annotations` here: the Functions worker reads the trigger parameter's annotation as a
# class, and a postponed (string) annotation would not match the queue binding.
import azure.functions as func

from core.bootstrap import get_container
from core.config import RUN_QUEUE_NAME
from core.logs import get_logger
from core.ports.run_queue import RunJob

bp = func.Blueprint()
_log = get_logger("jobs")
SWEEP_SCHEDULE = "*/30 * * * * *"  # NCRONTAB with seconds; well inside the default 30 s lease


class RunStillLeased(Exception):
    """Raised so the host redelivers the job later (``visibilityTimeout``): its run is leased by an executor that is
    probably gone with the worker that first took this message, and can be taken over once the lease lapses."""


async def runs_execute(msg: func.QueueMessage) -> None:
    """Execute one queued run. A job for a run that is gone, waiting or over does nothing (so a duplicate message is
    harmless); one for a run whose executor died takes it over. Failures of the run itself end the run, not the
    message; an unreachable store, or a redelivered job whose run is still leased, makes the host retry it."""
    job = RunJob.from_json(msg.get_body())
    container = get_container()
    run = await container.executor.execute(job.tenant_id, job.thread_id, job.run_id)
    if run is None and (msg.dequeue_count or 1) > 1 and await container.lifecycle.held_by_another(
            job.tenant_id, job.thread_id, job.run_id):
        raise RunStillLeased(f"run {job.run_id} is leased; retry after the lease lapses")
    _log.info("background run executed", extra={"run_id": job.run_id, "status": run.status if run else "not ours"})


async def runs_poisoned(msg: func.QueueMessage) -> None:
    """A job the host gave up on (``maxDequeueCount`` failures): its run must not wait in ``queued`` until expiry."""
    job = RunJob.from_json(msg.get_body())
    run = await get_container().lifecycle.fail_undelivered(job.tenant_id, job.thread_id, job.run_id)
    _log.error("run job poisoned", extra={"run_id": job.run_id, "status": run.status if run else "gone"})


async def runs_sweep(timer: func.TimerRequest) -> None:
    """Attend every active run: expire the overdue, end orphaned cancels, hand lapsed runs to take-over."""
    active = await get_container().lifecycle.sweep()
    _log.info("runs swept", extra={"active": active})


bp.queue_trigger(arg_name="msg", queue_name=RUN_QUEUE_NAME, connection="AzureWebJobsStorage")(runs_execute)
bp.queue_trigger(arg_name="msg", queue_name=f"{RUN_QUEUE_NAME}-poison",
                 connection="AzureWebJobsStorage")(runs_poisoned)
bp.timer_trigger(arg_name="timer", schedule=SWEEP_SCHEDULE, run_on_startup=False)(runs_sweep)
