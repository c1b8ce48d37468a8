"""Redis outages during a run, streamed or in the background: killed and restarted (its append-only file keeps the
data), frozen with SIGSTOP, or every client held by ``CLIENT PAUSE``.

What the user must see: the run ends terminal (``completed`` after an outage shorter than a lease; ``completed``, or
``failed`` with ``server_error``, after a longer one), never ``cancelled``; exactly one reply; no message left
``in_progress``; and within RECOVERY_SECONDS of Redis being back the thread takes a new run. A stream never announces a
cancel and does not outlive its run. While Redis is down any call may answer 503: the checks retry those.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import openai
import pytest

from tests.fake_responses import DEFAULT_TEXT, FakeResponsesServer, split_text
from tests.faults.support import (
    LEASE_SECONDS,
    RECOVERY_SECONDS,
    RedisProcess,
    StreamedRun,
    assert_recovered,
)

pytestmark = [pytest.mark.faults, pytest.mark.redis]

# Every call answers the same text, so a turn re-executed after a take-over gives the reply the run was expecting.
REPLY = DEFAULT_TEXT
# The first call sends its 8 deltas at once, then stalls END_SECONDS before response.completed. The fault starts as
# soon as the deltas are out, so the run's outcome is written early in the outage: within the first 0.5 s, when a
# Redis command still times out (5 s socket timeout) under a 5.5 s CLIENT PAUSE or an 8 s SIGSTOP, or while a killed
# Redis is still down. The lease renewals and cancel checks made meanwhile fall into the outage too.
END_SECONDS = 0.4
FIRST_CALL = {"chunks": split_text(REPLY, 8), "hang": END_SECONDS}
SHORT = frozenset({"completed"})  # an outage shorter than a lease is ridden out
LONG = frozenset({"completed", "failed"})  # a longer one may also end in a take-over that fails (server_error)


def _kill_and_restart(redis: RedisProcess) -> None:
    redis.kill()
    time.sleep(1.5)
    redis.start()


PAUSES: dict[str, tuple[Callable[[RedisProcess], None], float]] = {
    "sigstop-1.5s": (lambda redis: redis.pause(1.5), 1.5),
    "sigstop-8s": (lambda redis: redis.pause(8.0), 8.0),
    "client-pause-5.5s": (lambda redis: redis.client_pause(5.5), 5.5),
}


def _run_through_fault(mode: str, fault: Callable[[RedisProcess], None], allowed: frozenset[str],
                       client: openai.OpenAI, fake: FakeResponsesServer, redis: RedisProcess,
                       assistant_id: str) -> None:
    fake.reply_text(REPLY, **FIRST_CALL)  # later calls (a re-execution, the next run) get the fake's default: REPLY
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Tell me something."}])
    streamed: StreamedRun | None = None
    if mode == "stream":
        streamed = StreamedRun(client, thread.id, assistant_id).start()
        streamed.wait_for_delta(15)
        run_id = None
    else:
        run_id = client.beta.threads.runs.create(thread.id, assistant_id=assistant_id).id
        assert fake.wait_for_requests(1, timeout=15), "the run never called the upstream"
    fault(redis)
    ended = time.monotonic()
    if streamed is not None:
        run_id = streamed.find_run_id(ended + RECOVERY_SECONDS)
    assert run_id is not None
    final = assert_recovered(client, thread.id, run_id, assistant_id, ended, allowed=allowed, expected_text=REPLY)
    if streamed is not None:
        streamed.assert_ended_consistently(final, ended + RECOVERY_SECONDS)


@pytest.mark.parametrize("mode", ["stream", "background"])
def test_redis_killed_and_restarted_mid_run(mode: str, client: openai.OpenAI, fake: FakeResponsesServer,
                                            redis_process: RedisProcess, assistant_id: str) -> None:
    """kill -9 of redis-server, 1.5 s down, restarted from its append-only file: ridden out, the run completes."""
    _run_through_fault(mode, _kill_and_restart, SHORT, client, fake, redis_process, assistant_id)


@pytest.mark.parametrize("mode", ["stream", "background"])
@pytest.mark.parametrize("pause", list(PAUSES))
def test_redis_paused_mid_run(pause: str, mode: str, client: openai.OpenAI, fake: FakeResponsesServer,
                              redis_process: RedisProcess, assistant_id: str) -> None:
    """Redis frozen (SIGSTOP) for 1.5 s or 8 s, or all its clients paused for 5.5 s, while the run streams."""
    fault, seconds = PAUSES[pause]
    _run_through_fault(mode, fault, SHORT if seconds < LEASE_SECONDS else LONG, client, fake, redis_process,
                       assistant_id)
