"""The fake Responses upstream of tests/fake_responses.py, served from the bench process (it sets ``TCP_NODELAY`` on
its connections, so it answers a reused connection like a real server instead of after a delayed ACK)."""

from __future__ import annotations

from tests.fake_responses import FakeResponsesServer

__all__ = ["Upstream"]


class Upstream(FakeResponsesServer):
    pass
