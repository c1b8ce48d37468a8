"""A stand-in for the Azure Functions host's queue triggers, as a process the fault tests can kill.

``python tests/faults/queue_worker.py --app-root ROOT --ready-file PATH`` (environment: the app's settings) loads the
app the way the Functions Python worker does (``from function_app import app``, then ``app.get_functions()``) and,
for every queue-triggered function (``runs_execute`` on ``run-jobs``, and any other, e.g. one on the poison queue),
behaves like the host's queue listener (Azure WebJobs ``QueueListener`` / ``QueueProcessor``):

- receives up to ``batchSize`` messages at a time (host.json ``extensions.queues``, default 16; a new batch once
  ``newBatchThreshold`` are left running), each invisible for ``--visibility`` seconds (4 by default, where the host
  uses 10 minutes: a message held by a killed worker reappears after at most that long), and renews that visibility
  every half of it while the function runs, as the host does;
- decodes the base64 text (the queue trigger's default encoding) and calls the user function with an
  ``azure.functions.QueueMessage`` carrying id, body, dequeue count, times and pop receipt;
- deletes the message only after the function returned; when it raised, makes the message visible again after
  host.json's ``visibilityTimeout`` (default 0) or, once it has been dequeued ``maxDequeueCount`` times (default 5),
  moves it to ``<queue>-poison``; a message received with a dequeue count above that maximum is moved to the poison
  queue without running.

Timer-triggered functions are not run here (the local host's own periodic sweep stands in for them). The worker writes
``--ready-file`` once the app is loaded and its queues reachable, and logs one line per message on stderr. SIGKILL is
the fault under test; SIGTERM just ends the process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import inspect
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the app's checkout unless --app-root names another
REQUIRED_FUNCTION = "runs_execute"


@dataclass(frozen=True)
class QueueOptions:
    """host.json ``extensions.queues``, with the Functions host's defaults."""

    max_dequeue_count: int = 5
    retry_visibility: float = 0.0  # visibilityTimeout: how long a failed message stays invisible before its retry
    batch_size: int = 16
    new_batch_threshold: int = 8


def _log(text: str) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
    print(f"{stamp} queue-worker[{os.getpid()}] {text}", file=sys.stderr, flush=True)


def _seconds(value: Any, default: float) -> float:
    """host.json time spans are "hh:mm:ss"; a bare number is taken as seconds."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    parts = [float(part) for part in str(value).split(":")]
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


def _host_queue_options(root: Path) -> QueueOptions:
    try:
        options = json.loads((root / "host.json").read_text()).get("extensions", {}).get("queues", {})
    except (OSError, ValueError):
        options = {}
    batch = int(options.get("batchSize", QueueOptions.batch_size))
    return QueueOptions(
        max_dequeue_count=int(options.get("maxDequeueCount", QueueOptions.max_dequeue_count)),
        retry_visibility=_seconds(options.get("visibilityTimeout"), QueueOptions.retry_visibility),
        batch_size=batch,
        new_batch_threshold=int(options.get("newBatchThreshold", batch // 2)),
    )


def _queue_functions(root: Path) -> list[tuple[str, Any, str, str]]:
    """(name, user function, queue name, connection setting name) of every queue-triggered function, as the worker
    indexes them."""
    os.chdir(root)
    sys.path.insert(0, str(root))
    from function_app import app

    found = []
    names = []
    for function in app.get_functions():
        names.append(function.get_function_name())
        trigger = function.get_trigger()
        if trigger.get_binding_name() == "queueTrigger":
            found.append((function.get_function_name(), function.get_user_function(), trigger.queue_name,
                          trigger.connection or "AzureWebJobsStorage"))
    if REQUIRED_FUNCTION not in [name for name, *_ in found]:
        raise SystemExit(f"no queue-triggered {REQUIRED_FUNCTION} in function_app (functions: {sorted(names)})")
    return found


class _Held:
    """A received message whose pop receipt changes with every visibility update."""

    def __init__(self, message: Any) -> None:
        self.message = message
        self.pop_receipt: str = message.pop_receipt
        self.lock = asyncio.Lock()
        self.settled = asyncio.Event()  # the function returned: stop renewing


class Listener:
    """One queue-triggered function on its queue."""

    def __init__(self, name: str, handler: Any, queue: Any, poison: Any, visibility: int,
                 options: QueueOptions) -> None:
        self.name = name
        self.handler = handler
        self.queue = queue
        self.poison = poison
        self.visibility = visibility
        self.max_dequeue = options.max_dequeue_count
        self.retry_visibility = options.retry_visibility
        self.options = options
        self.running: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        idle = 0.1
        while True:
            if len(self.running) > self.options.new_batch_threshold:
                await asyncio.sleep(0.05)
                continue
            try:
                messages = [message async for message in self.queue.receive_messages(
                    max_messages=min(self.options.batch_size, 32), visibility_timeout=self.visibility)]
            except Exception as error:  # the storage emulator restarting, say: the host backs off and polls again
                _log(f"{self.name}: receive failed: {error!r}")
                messages = []
            for message in messages:
                task = asyncio.create_task(self._process(_Held(message)))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            idle = 0.1 if messages else min(idle * 2, 0.5)  # the host polls with backoff (to 2 s in development)
            if not messages:
                await asyncio.sleep(idle)

    async def _renew(self, held: _Held) -> None:
        """Keep the message invisible while the function runs (never cancelled mid-update: the new pop receipt of
        an update that landed must not be lost)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(held.settled.wait(), self.visibility / 2)
                return
            async with held.lock:
                try:
                    updated = await self.queue.update_message(held.message.id, held.pop_receipt,
                                                              visibility_timeout=self.visibility)
                    held.pop_receipt = updated.pop_receipt
                except Exception as error:
                    _log(f"{self.name}: renewing {held.message.id} failed: {error!r}")

    async def _process(self, held: _Held) -> None:
        import azure.functions.queue as queue_binding

        message = held.message
        count = int(message.dequeue_count or 1)
        if count > self.max_dequeue:
            await self._to_poison(held, "dequeued more than maxDequeueCount before running")
            return
        body = message.content if isinstance(message.content, bytes) else str(message.content).encode()
        argument = queue_binding.QueueMessage(
            id=message.id, body=body, dequeue_count=count, pop_receipt=held.pop_receipt,
            expiration_time=message.expires_on, insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on)
        renewal = asyncio.create_task(self._renew(held))
        started = time.monotonic()
        _log(f"{self.name}: running {message.id} (dequeue count {count}): {body.decode(errors='replace')}")
        failed = False
        try:
            if inspect.iscoroutinefunction(self.handler):
                await self.handler(argument)
            else:
                await asyncio.to_thread(self.handler, argument)
        except Exception:
            failed = True
            elapsed = time.monotonic() - started
            _log(f"{self.name}: {message.id} raised after {elapsed:.2f} s:\n{traceback.format_exc()}")
        finally:
            held.settled.set()
            await renewal
        async with held.lock:
            try:
                if not failed:
                    await self.queue.delete_message(message.id, held.pop_receipt)
                    _log(f"{self.name}: {message.id} done in {time.monotonic() - started:.2f} s, deleted")
                elif count >= self.max_dequeue:
                    await self._to_poison(held, f"failed on dequeue {count} of {self.max_dequeue}", locked=True)
                else:
                    await self.queue.update_message(message.id, held.pop_receipt,
                                                    visibility_timeout=int(self.retry_visibility))
                    _log(f"{self.name}: {message.id} released for a retry in {self.retry_visibility:.0f} s")
            except Exception as error:
                _log(f"{self.name}: settling {message.id} failed: {error!r}")

    async def _to_poison(self, held: _Held, why: str, locked: bool = False) -> None:
        async def move() -> None:
            with contextlib.suppress(Exception):
                await self.poison.create_queue()
            await self.poison.send_message(held.message.content)
            await self.queue.delete_message(held.message.id, held.pop_receipt)
            _log(f"{self.name}: {held.message.id} moved to the poison queue: {why}")

        if locked:
            await move()
        else:
            async with held.lock:
                await move()


async def _main(args: argparse.Namespace) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
    from azure.storage.queue.aio import QueueClient

    root = Path(args.app_root).resolve()
    functions = _queue_functions(root)
    options = _host_queue_options(root)
    policies = {"message_encode_policy": TextBase64EncodePolicy(), "message_decode_policy": TextBase64DecodePolicy()}
    async with contextlib.AsyncExitStack() as stack:
        listeners = []
        for name, handler, queue_name, connection_setting in functions:
            connection = os.environ.get(connection_setting)
            if not connection:
                raise SystemExit(f"{connection_setting} (the connection of {name}) is not set")
            queue = await stack.enter_async_context(QueueClient.from_connection_string(connection, queue_name,
                                                                                       **policies))
            poison = await stack.enter_async_context(QueueClient.from_connection_string(
                connection, f"{queue_name}-poison", **policies))
            with contextlib.suppress(ResourceExistsError):
                await queue.create_queue()
            listeners.append(Listener(name, handler, queue, poison, args.visibility, options))
            _log(f"{name} listens on {queue_name} (visibility {args.visibility} s, {options})")
        Path(args.ready_file).write_text(str(os.getpid()))
        await asyncio.gather(*(listener.serve() for listener in listeners))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-root", default=str(ROOT), help="the checkout whose function_app to load")
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--visibility", type=int, default=4, help="seconds a received message stays invisible")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
