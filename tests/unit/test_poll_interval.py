"""The poll interval runs advertise: short while a run is young (most end within seconds), backing off as it ages."""

from __future__ import annotations

import pytest

from core.domain.models import Run
from core.http.blueprints.runs import poll_after_ms


@pytest.mark.parametrize(("age", "interval"), [(0.0, 50), (1.9, 50), (2.0, 200), (9.5, 200), (30.0, 500),
                                               (60.0, 1000), (3600.0, 1000)])
def test_the_interval_grows_with_the_runs_age(age: float, interval: int) -> None:
    run = Run(id="run_1", created_at=1_700_000_000, tenant_id="t", thread_id="thread_1", assistant_id="a", model="m")
    assert poll_after_ms(run, run.created_at + age) == interval
