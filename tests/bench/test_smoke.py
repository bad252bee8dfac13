"""The benchmarks at smoke size, so they keep working (no timing is asserted)."""

from __future__ import annotations

import pytest

from tests.bench import run


@pytest.mark.bench
def test_benchmark_report_runs_at_smoke_size() -> None:
    text = run.report(run.SMOKE)
    assert "## Programming 200 routes and 200 cnat translations" in text
    assert "| both |" in text and "| 200 routes + 200 translations |" in text
    assert "## Felix initial sync: 200 endpoints, 20 policies" in text
    assert "## CNI" in text
