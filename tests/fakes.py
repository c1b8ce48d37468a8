"""In-memory fakes for unit tests (no sockets): a settable clock and a scripted Responses gateway."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from core.domain.errors import UpstreamError

__all__ = ["FakeClock", "ScriptedGateway", "text_events"]


class FakeClock:
    def __init__(self, now: int = 1_700_000_000) -> None:
        self.current = now

    def now(self) -> int:
        return self.current

    def advance(self, seconds: int) -> None:
        self.current += seconds


def text_events(text: str, *, usage: tuple[int, int] = (10, 5), status: str = "completed") -> list[dict[str, Any]]:
    """The Responses stream events of a one-message answer, in the order the API sends them."""
    item = {"type": "message", "id": "msg_up", "role": "assistant", "status": "in_progress", "content": []}
    done = {**item, "status": "completed" if status == "completed" else "incomplete",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    response: dict[str, Any] = {"id": "resp_1", "status": status, "output": [done],
                                "usage": {"input_tokens": usage[0], "output_tokens": usage[1],
                                          "total_tokens": sum(usage)}}
    if status == "incomplete":
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    return [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", "output_index": 0, "content_index": 0,
         "part": {"type": "output_text", "text": "", "annotations": []}},
        *({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": piece}
          for piece in (text[: len(text) // 2], text[len(text) // 2:])),
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": f"response.{status}", "response": response},
    ]


class ScriptedGateway:
    """Replays scripted event lists (or raises scripted errors) and records the requests it got."""

    def __init__(self) -> None:
        self.script: list[list[dict[str, Any]] | UpstreamError] = []
        self.requests: list[dict[str, Any]] = []

    async def stream(self, request: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else text_events("default answer")
        if isinstance(step, UpstreamError):
            raise step
        for event in step:
            yield event

    async def close(self) -> None:
        return None
