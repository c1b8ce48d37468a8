"""`runs_execute`: the queue-triggered function that executes background runs in Azure (RUN_QUEUE=storage)."""

# No `from __future__ import annotations` here: the Functions worker reads the trigger parameter's annotation as a
# class, and a postponed (string) annotation would not match the queue binding.
import azure.functions as func

from core.adapters.storage_queue.run_queue import decode_job
from core.bootstrap import get_container
from core.config import RUN_QUEUE_NAME
from core.logs import get_logger

bp = func.Blueprint()
_log = get_logger("jobs")


async def runs_execute(msg: func.QueueMessage) -> None:
    """Execute one queued run. A redelivered message finds the run no longer queued and does nothing; an
    exception makes the host retry the message (then move it to the poison queue), the run expiring meanwhile."""
    tenant_id, thread_id, run_id = decode_job(msg.get_body())
    run = await get_container().executor.execute(tenant_id, thread_id, run_id)
    _log.info("background run executed", extra={"run_id": run_id, "status": run.status if run else "not queued"})


bp.queue_trigger(arg_name="msg", queue_name=RUN_QUEUE_NAME, connection="AzureWebJobsStorage")(runs_execute)
