"""The Felix sync benchmark at smoke size, so it keeps working (no timing is asserted)."""

from __future__ import annotations

import pytest

from tests.bench import felix


@pytest.mark.bench
def test_felix_benchmark_runs_at_smoke_size() -> None:
    text = felix.run(200, 20)
    assert text.startswith("## Felix initial sync: 200 endpoints, 20 policies")
    assert "| raw protobuf parse (baseline) |" in text
    assert "| Felix's pipe -> felix-proxy -> socket -> agent -> model |" in text
    assert "241 ToDataplane messages" in text
