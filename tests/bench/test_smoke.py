"""The benchmarks at smoke size, so they keep working (no timing is asserted)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.bench import run, services


@pytest.mark.bench
def test_benchmark_report_runs_at_smoke_size() -> None:
    text = run.report(run.SMOKE)
    assert "## Programming 200 routes and 200 cnat translations" in text
    assert "| both |" in text and "| 200 routes + 200 translations |" in text
    assert "## Felix initial sync: 200 endpoints, 20 policies" in text
    assert "## Policy: 20 policies, 100 rules, 4 IP sets of 50 members" in text
    assert "| program everything |" in text and "| one IP set member added |" in text
    assert "## BGP: 50 learned prefixes into VPP routes" in text
    if os.geteuid() == 0 and shutil.which("gobgpd"):
        assert "| BGP -> VPP (programmed) |" in text
    if os.geteuid() == 0:
        assert "## CNI" in text and "Not measured" not in text
        assert "## Services: 100 services, 10 endpoints each" in text
        assert "| 100 | " in text and "1 VPP call" in text
        assert "## Recovery: agent restart and VPP kill -9 with 10 pods" in text
        assert "**0 VPP mutations**" in text
        assert "| VPP kill -9: new VPP up to agent ready |" in text
        assert "## Load: 10 CNI ADDs at once, 200 service updates, 50 policy updates" in text


def test_a_missing_iptables_restore_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(services.MissingIptablesError, match="Debian package 'iptables'"):
        services.run((10,), changes=1)
