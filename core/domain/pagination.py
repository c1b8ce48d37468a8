"""List queries and pages (assistants-on-responses.md §1.5).

Ids sort in creation order (`core.domain.ids`), so a page is an id range: stores answer a :class:`ListQuery` by
scanning an ordered index between the cursors and reading ``limit + 1`` entries to learn ``has_more``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

__all__ = ["ListQuery", "Order", "Page", "page_from_scan"]

Order = Literal["asc", "desc"]
T = TypeVar("T")


@dataclass(frozen=True)
class ListQuery:
    """``after``/``before`` are exclusive bounds in the requested ``order``."""

    limit: int = 20
    order: Order = "desc"
    after: str | None = None
    before: str | None = None

    def id_bounds(self) -> tuple[str | None, str | None]:
        """The exclusive (low, high) id bounds this query scans between, in ascending id order."""
        if self.order == "asc":
            return self.after, self.before
        return self.before, self.after

    @property
    def scans_from_before(self) -> bool:
        """A ``before`` cursor alone takes the ``limit`` items closest to it, so the scan starts at that cursor."""
        return self.before is not None and self.after is None

    def scan_ascending(self) -> bool:
        """Whether the store should read its index in ascending id order."""
        ascending = self.order == "asc"
        return not ascending if self.scans_from_before else ascending


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, in the requested order."""

    data: list[T]
    has_more: bool


def page_from_scan(items: list[T], query: ListQuery) -> Page[T]:
    """Turn up to ``limit + 1`` items read in scan order into a page in the requested order."""
    has_more = len(items) > query.limit
    items = items[: query.limit]
    if query.scans_from_before:
        items.reverse()
    return Page(items, has_more)
