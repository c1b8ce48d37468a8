"""The local host's indexed router picks exactly the route Starlette's plain router would, for every route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Match, Router

from core.http.local_host import _bucket, build_app


def _resolve(router: Router, method: str, path: str) -> tuple[str | None, Match]:
    """The route a router hands the request to: the first full match, else the first partial (a 405)."""
    scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}
    partial = None
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "name", None), match
        if match is Match.PARTIAL and partial is None:
            partial = getattr(route, "name", None)
    return partial, Match.PARTIAL if partial else Match.NONE


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
def test_every_path_resolves_as_with_the_sequential_router(method: str) -> None:
    indexed: Any = build_app().app.router
    plain = Router(routes=indexed.routes)
    for route in indexed.routes:
        path = re.sub(r"\{[^}]+\}", "x_1", route.path)  # a concrete path of the route's template
        assert _resolve(indexed._buckets[_bucket(path)], method, path) == _resolve(plain, method, path), path
