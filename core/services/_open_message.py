"""The content of one assistant message while its Responses item streams: parts, text, refusals, citations (§5.5).

Pure bookkeeping for the :class:`~._turn.Turn`: each method updates the message and returns the content delta the
stream shows for it (``{"index", "type", ...}``), or ``None`` when there is nothing to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.domain.models import JSON, Message, RunStep

from .translation import map_annotation

__all__ = ["OpenMessage"]


@dataclass
class OpenMessage:
    message: Message
    step: RunStep
    item_id: str | None = None  # the upstream item's id, when known
    done: bool = False
    parts: dict[int, int] = field(default_factory=dict)  # upstream content_index -> our content index
    announced: set[int] = field(default_factory=set)  # our content indexes that have had a delta
    citations: int = 0
    markers: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # part -> (upstream offset, length)

    def part(self, upstream_index: int, kind: str = "text") -> int:
        """Our index of an upstream part, added on first sight (announced or not)."""
        if upstream_index not in self.parts:
            content = self.message.content
            self.parts[upstream_index] = len(content)
            content.append({"type": "refusal", "refusal": ""} if kind == "refusal"
                           else {"type": "text", "text": {"value": "", "annotations": []}})
        return self.parts[upstream_index]

    def delta(self, part_delta: JSON) -> JSON:
        """The ``thread.message.delta`` payload carrying ``part_delta``."""
        self.announced.add(part_delta["index"])
        return {"id": self.message.id, "object": "thread.message.delta", "delta": {"content": [part_delta]}}

    def append_text(self, index: int, delta: str) -> JSON:
        part = self.message.content[index]
        part["text"]["value"] += delta
        text: JSON = {"value": delta}
        if index not in self.announced:
            text["annotations"] = []
        return {"index": index, "type": "text", "text": text}

    def append_refusal(self, index: int, delta: str) -> JSON:
        self.message.content[index]["refusal"] += delta
        return {"index": index, "type": "refusal", "refusal": delta}

    def annotate(self, index: int, upstream: JSON) -> JSON | None:
        """Insert a citation's marker after the text so far (§5.5); offsets move by the markers already inserted."""
        part = self.message.content[index]
        upstream = dict(upstream)
        for key in ("start_index", "end_index"):
            if isinstance(upstream.get(key), int):
                upstream[key] += sum(length for at, length in self.markers.get(index, []) if at <= upstream[key])
        marker, annotation = map_annotation(upstream, part["text"]["value"], self.citations + 1)
        if annotation is None:
            return None
        self.citations += 1
        if marker:
            inserted = self.markers.setdefault(index, [])
            inserted.append((len(part["text"]["value"]) - sum(length for _, length in inserted), len(marker)))
        part["text"]["value"] += marker
        annotations = part["text"]["annotations"]
        annotations.append(annotation)
        return {"index": index, "type": "text",
                "text": {"value": marker, "annotations": [{"index": len(annotations) - 1, **annotation}]}}

    def catch_up(self, upstream_index: int, final: JSON) -> JSON | None:
        """The text of a finished part that its deltas never brought (all of it, from servers that stream none)."""
        kind = "refusal" if final.get("type") == "refusal" else "text"
        if final.get("type") not in ("output_text", "refusal") or self.markers.get(upstream_index):
            return None  # text with inserted markers cannot be compared with the upstream's
        index = self.part(upstream_index, kind)
        part = self.message.content[index]
        whole = str(final.get(kind) or "")
        sent = part["refusal"] if kind == "refusal" else part["text"]["value"]
        if len(whole) <= len(sent) or not whole.startswith(sent):
            return None
        missing = whole[len(sent):]
        return self.append_refusal(index, missing) if kind == "refusal" else self.append_text(index, missing)

    def unannounced(self) -> list[JSON]:
        """Empty deltas for the parts that had none: stream handlers only learn of a part from a delta."""
        return [{"index": index, "type": "refusal", "refusal": ""} if part["type"] == "refusal"
                else {"index": index, "type": "text", "text": {"value": "", "annotations": []}}
                for index, part in enumerate(self.message.content) if index not in self.announced]
