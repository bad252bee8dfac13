"""The agent under load: every request succeeds, every burst converges, memory stays bounded.

* 200 CNI ADDs in flight at once on a whole agent (VPP a simulator process making
  the real tun devices in real pod namespaces): all succeed and VPP shows them all;
* 10,000 EndpointSlice changes written in a burst into a fake Kubernetes API server
  the agent watches through the official client: VPP's cnat translations end up
  exactly the final ones;
* 1,000 policy changes in a burst, each triggering the agent's debounced converge:
  VPP's npol rules end up exactly the final ones.

Each step's resident memory (VmRSS of this process: the agent, and the fake API
server or the simulator when they run in it) is read before and after the load;
growth must stay under the bounds stated below. The drivers are the
benchmark's (tests/bench/load.py), which also times them against baselines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import load
from tests.reliability import scenario as sc

PODS = 200
SERVICES, SERVICE_UPDATES = 500, 10_000
POLICIES, POLICY_UPDATES = 200, 1_000
# bounds on growth, far above what the loads need (a few MiB to a few tens), far below a leak
# that would keep every update (10,000 services' worth of objects per burst)
CNI_GROWTH_KIB = 64 * 1024
SERVICES_GROWTH_KIB = 128 * 1024
POLICIES_GROWTH_KIB = 64 * 1024


@pytest.mark.root
def test_two_hundred_cni_adds_at_once_all_succeed(tmp_path: Path) -> None:
    with sc.pod_namespaces(PODS) as namespaces:
        result = load.cni_load(tmp_path, namespaces, parallel=True)
    assert result.failed == []
    assert result.in_vpp == PODS
    before, after = result.rss_kib
    assert after - before < CNI_GROWTH_KIB, f"RSS {before} -> {after} KiB"


def test_ten_thousand_service_updates_in_a_burst_converge(tmp_path: Path) -> None:
    result = load.service_burst(tmp_path, SERVICES, SERVICE_UPDATES, timeout=120)
    assert result.converged  # VPP's translations are exactly the final backends
    _start, programmed, after = result.rss_kib
    assert after - programmed < SERVICES_GROWTH_KIB, f"RSS {programmed} -> {after} KiB"


def test_a_thousand_policy_updates_in_a_burst_converge(tmp_path: Path) -> None:
    result = load.policy_burst(tmp_path, POLICIES, POLICY_UPDATES)
    assert result.ports_ok  # every policy's rule carries its last port, no stale rule left
    assert 1 <= result.converges < POLICY_UPDATES  # coalesced, not one converge per update
    _start, programmed, after = result.rss_kib
    assert after - programmed < POLICIES_GROWTH_KIB, f"RSS {programmed} -> {after} KiB"
