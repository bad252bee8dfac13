"""Felix (emulated) -> felix-proxy (real binary) -> FelixDriverServer -> model and status.

The emulator writes Felix's real framing to the proxy's fd 3 and reads its fd
4; the proxy dials the server's socket. The dataplane is a fake that renders
like the real one and records every converge, so the tests see exactly when
the dataplane was asked to act.
"""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Iterator
from ipaddress import ip_interface, ip_network
from pathlib import Path

import pytest

from agent.felix import FelixSettings, SyncState
from agent.felix.framing import encode_frame
from agent.model import (
    ClusterModel,
    EncapMode,
    IpSetType,
    Node,
    PodBlock,
    PodInterfaceKey,
    PolicyId,
    RuleAction,
)
from agent.proto_gen import felixbackend_pb2 as pb
from agent.state import ClusterState
from tests.integration import felix_fixtures as ff


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ff.build_proxy(tmp_path_factory.mktemp("felix-proxy"))


@pytest.fixture
def settings(tmp_path: Path) -> FelixSettings:
    return FelixSettings(socket=str(tmp_path / "felix.sock"), status_interval=0.1)


@pytest.fixture
def state() -> ClusterState:
    return ClusterState(ClusterModel.build(ff.NODE))


@pytest.fixture
def harness(state: ClusterState, settings: FelixSettings) -> Iterator[ff.Harness]:
    h = ff.Harness.start(state, ff.FakeDataplane(state), settings)
    yield h
    h.stop()


@pytest.fixture
def felix(proxy: Path, settings: FelixSettings, tmp_path: Path) -> Iterator[ff.FelixEmulator]:
    emulator = ff.FelixEmulator(proxy, Path(settings.socket), tmp_path / "proxy.log")
    yield emulator
    emulator.close()


def endpoint_statuses(felix: ff.FelixEmulator, expected: int) -> dict[str, str]:
    replies = felix.collect(lambda rs: len(ff.statuses(rs)) >= expected, timeout=30)
    return ff.statuses(replies)


def test_the_socket_is_private(harness: ff.Harness, settings: FelixSettings) -> None:
    mode = os.stat(settings.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_a_full_startup_leaves_the_model_and_the_statuses_right(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState
) -> None:
    endpoints, policies, ip_sets = 1000, 200, 100
    for i in range(0, endpoints, 2):  # the CNI created every other pod's interface
        state.put_pod_interface(ff.pod_interface(i))
    felix.send(*ff.startup(endpoints, policies, ip_sets))
    ff.wait_until(harness.server.synced.is_set, 30, "InSync")
    model = state.model
    assert len(model.workload_endpoints) == endpoints
    assert len(model.policies) == policies and len(model.ip_sets) == ip_sets
    assert set(model.profiles) == {"kns.default", "ksa.default.default"}
    wep = model.workload_endpoints[PodInterfaceKey("default", "pod-7", "eth0")]
    assert wep.host_interface_name == "vpp-tun-7"
    assert wep.addresses == (ip_interface("10.65.0.8/32"),)
    tier = wep.policy.tiers[0]
    assert tier.ingress_policies[0] == PolicyId("", "policy-7", "default", "NetworkPolicy")
    assert tier.default_action is RuleAction.DENY
    assert wep.policy.profile_ids == ("kns.default", "ksa.default.default")
    assert model.policy_for(PodInterfaceKey("default", "pod-8", "eth0")) == (
        model.workload_endpoints[PodInterfaceKey("default", "pod-8", "eth0")].policy
    )
    rule = model.policies[PolicyId("", "policy-3", "default", "NetworkPolicy")].ingress_rules[0]
    assert rule.protocol == "tcp" and rule.src_ip_set_ids == ("s:set-3",)
    assert model.ip_sets["s:set-1"].type is IpSetType.NET
    assert len(model.ip_sets["s:set-1"].members) == 5
    assert model.nodes["node-b"] == Node(
        "node-b", (ip_interface("192.168.0.2/24"),), (PodBlock(ip_network("10.66.0.0/26")),), 64512
    )
    assert model.pools["10.65.0.0-16"].ipip_mode is EncapMode.CROSS_SUBNET
    assert model.pools["10.65.0.0-16"].nat_outgoing
    assert model.felix_config["FelixHostname"] == ff.NODE
    assert harness.server.sync_state is SyncState.IN_SYNC

    seen = endpoint_statuses(felix, endpoints)
    assert {seen[f"default/pod-{i}"] for i in range(0, endpoints, 2)} == {"up"}
    assert {seen[f"default/pod-{i}"] for i in range(1, endpoints, 2)} == {"down"}
    assert harness.server.stats.rejected == 0 and not harness.server.stats.problems


def test_nothing_reaches_the_dataplane_before_insync(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState
) -> None:
    messages = ff.startup(50, 10, 5)
    felix.send(*messages[:-1])
    ff.wait_until(lambda: harness.server.stats.messages == len(messages) - 1, what="the snapshot")
    assert harness.server.sync_state is SyncState.SYNCING
    assert harness.dataplane.converges == []
    assert state.model.workload_endpoints == {} and state.model.policies == {}
    felix.send(messages[-1])  # InSync
    ff.wait_until(lambda: harness.dataplane.converges, what="the first converge")
    assert len(harness.dataplane.converges[0].workload_endpoints) == 50
    heartbeat = felix.collect(lambda rs: any(r.HasField("process_status_update") for r in rs))
    status = next(r for r in heartbeat if r.HasField("process_status_update"))
    assert status.process_status_update.uptime > 0
    assert "T" in status.process_status_update.iso_timestamp


def test_updates_after_insync_reach_the_model_incrementally(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState
) -> None:
    for i in range(3):
        state.put_pod_interface(ff.pod_interface(i))
    felix.send(*ff.startup(3, 4, 2))
    assert endpoint_statuses(felix, 3) == {f"default/pod-{i}": "up" for i in range(3)}
    updates_at_sync = harness.server.stats.model_updates
    first_model = state.model

    felix.send(ff.workload_remove(1))
    seen = ff.statuses(felix.collect(lambda rs: bool(ff.statuses(rs))))
    assert seen == {"default/pod-1": ""}  # a status remove for the endpoint
    assert PodInterfaceKey("default", "pod-1", "eth0") not in state.model.workload_endpoints
    assert state.model.policies is first_model.policies  # untouched collections are shared

    delta = pb.IPSetDeltaUpdate(
        id=ff.ip_set_id(0), added_members=["10.9.9.9/32"], removed_members=["10.65.0.1/32"]
    )
    remove = pb.ActivePolicyRemove(id=ff.policy_id(3))
    felix.send(ff.envelope(ipset_delta_update=delta), ff.envelope(active_policy_remove=remove))
    ff.wait_until(lambda: len(state.model.policies) == 3, what="the policy removal")
    members = state.model.ip_sets[ff.ip_set_id(0)].members
    assert ip_network("10.9.9.9/32") in members and ip_network("10.65.0.1/32") not in members
    assert harness.server.stats.model_updates - updates_at_sync <= 3  # per batch, not snapshot

    felix.send(ff.workload(7, 4))  # an endpoint whose interface the CNI has not made yet
    assert ff.statuses(felix.collect(lambda rs: bool(ff.statuses(rs)))) == {"default/pod-7": "down"}
    state.put_pod_interface(ff.pod_interface(7))  # the CNI ADD lands afterwards
    assert ff.statuses(felix.collect(lambda rs: bool(ff.statuses(rs)))) == {"default/pod-7": "up"}


def test_a_failed_endpoint_is_reported_in_error_then_up_when_it_lands(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState
) -> None:
    state.put_pod_interface(ff.pod_interface(0))
    harness.dataplane.fail["interface pod/default/pod-0/eth0"] = "VPP said no"
    felix.send(*ff.startup(1, 1, 1))
    assert endpoint_statuses(felix, 1) == {"default/pod-0": "error"}
    key = PodInterfaceKey("default", "pod-0", "eth0")
    assert "VPP said no" in harness.server.statuses.reasons[key]
    harness.dataplane.fail.clear()
    felix.send(ff.workload(0, 1))  # any change triggers a converge; errors are retried
    assert ff.statuses(felix.collect(lambda rs: bool(ff.statuses(rs)))) == {"default/pod-0": "up"}


def test_the_proxy_survives_an_agent_restart(
    proxy: Path, settings: FelixSettings, tmp_path: Path
) -> None:
    felix = ff.FelixEmulator(proxy, Path(settings.socket), tmp_path / "proxy.log")
    try:
        first_state = ClusterState(ClusterModel.build(ff.NODE))
        first = ff.Harness.start(first_state, ff.FakeDataplane(first_state), settings)
        felix.send(*ff.startup(20, 5, 3))
        ff.wait_until(first.server.synced.is_set, what="the first agent's sync")
        felix.send(ff.workload_remove(4))
        ff.wait_until(lambda: len(first_state.model.workload_endpoints) == 19, what="the removal")
        first.stop()  # the agent dies; Felix and the proxy carry on

        felix.send(ff.workload_remove(5))  # sent while no agent listens
        second_state = ClusterState(ClusterModel.build(ff.NODE))
        second = ff.Harness.start(second_state, ff.FakeDataplane(second_state), settings)
        try:
            ff.wait_until(
                lambda: len(second_state.model.workload_endpoints) == 18, what="the replay"
            )
            assert second.server.sync_state is SyncState.IN_SYNC
            gone = {PodInterfaceKey("default", f"pod-{i}", "eth0") for i in (4, 5)}
            assert not gone & second_state.model.workload_endpoints.keys()
            assert second_state.model.policies == first_state.model.policies
            assert felix.alive()
        finally:
            second.stop()
    finally:
        felix.close()


def test_a_new_felix_resyncs_and_deletes_what_it_no_longer_mentions(
    harness: ff.Harness, proxy: Path, settings: FelixSettings, tmp_path: Path, state: ClusterState
) -> None:
    old = ff.FelixEmulator(proxy, Path(settings.socket), tmp_path / "old.log")
    try:
        old.send(*ff.startup(10, 3, 2))
        ff.wait_until(lambda: len(state.model.workload_endpoints) == 10, what="the first sync")
    finally:
        old.close()  # Felix restarts (e.g. after a config change)
    converges = len(harness.dataplane.converges)
    new = ff.FelixEmulator(proxy, Path(settings.socket), tmp_path / "new.log")
    try:
        messages = ff.startup(6, 3, 2)
        new.send(*messages[:-1])
        ff.wait_until(lambda: harness.server.sync_state is SyncState.SYNCING, what="resync")
        ff.wait_until(lambda: harness.server.stats.messages >= 2 * len(messages) - 1)
        assert len(state.model.workload_endpoints) == 10  # the old data holds until InSync
        assert len(harness.dataplane.converges) == converges
        new.send(messages[-1])
        ff.wait_until(lambda: len(state.model.workload_endpoints) == 6, what="the new snapshot")
    finally:
        new.close()


def test_a_restart_needing_config_change_is_reported_and_applied(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState
) -> None:
    felix.send(*ff.startup(2, 1, 1))
    ff.wait_until(harness.server.synced.is_set, what="InSync")
    felix.send(ff.config(ClusterGUID="changed"))  # restart-free
    ff.wait_until(lambda: state.model.felix_config.get("ClusterGUID") == "changed")
    session = harness.server.session
    assert session is not None and session.sync.restart_expected is None
    felix.send(ff.config(ClusterGUID="changed", IptablesMarkMask="0xff000000"))
    ff.wait_until(lambda: "IptablesMarkMask" in state.model.felix_config)
    assert session.sync.restart_expected is not None
    assert "IptablesMarkMask" in session.sync.restart_expected


def test_garbled_input_is_reported_and_never_fatal(
    harness: ff.Harness, felix: ff.FelixEmulator, state: ClusterState, settings: FelixSettings
) -> None:
    stats = harness.server.stats
    felix.send(*ff.startup(5, 2, 2))
    ff.wait_until(harness.server.synced.is_set, what="InSync")
    before = state.model

    unknown_payload = bytes([0xC2, 0x02, 0x00])  # field 40, length-delimited, empty
    felix.send_raw(encode_frame(unknown_payload))
    felix.send_raw(encode_frame(b""))  # an empty envelope
    felix.send_raw(encode_frame(b"\xff\xff\xff\xff"))  # not protobuf
    huge = settings.max_frame_bytes + 1
    felix.send_raw(huge.to_bytes(8, "little") + b"\x00" * 1000)  # oversize: skipped...
    felix.send_raw(b"\x00" * (huge - 1000))
    bad_cidr = pb.WorkloadEndpoint(ipv4_nets=["10.0.0.300/32"])
    bad = pb.WorkloadEndpointUpdate(id=ff.endpoint_id(0), endpoint=bad_cidr)
    felix.send(ff.envelope(workload_endpoint_update=bad))
    felix.send(ff.workload(99, 2))  # ...and what follows still lines up
    ff.wait_until(
        lambda: PodInterfaceKey("default", "pod-99", "eth0") in state.model.workload_endpoints,
        what="the message after the garbage",
    )
    assert stats.unknown_payloads == 1 and stats.empty_envelopes == 1
    assert stats.malformed == 1 and stats.oversize == 1 and stats.rejected == 1
    problems = "\n".join(stats.problems)
    assert "field 40 is unknown" in problems and "exceeds the limit" in problems
    assert "10.0.0.300/32" in problems
    key0 = PodInterfaceKey("default", "pod-0", "eth0")
    assert state.model.workload_endpoints[key0] == before.workload_endpoints[key0]

    reported = len(stats.problems)
    felix.send_raw(random.Random(7).randbytes(3000))  # may swallow the rest of this stream
    felix.send_raw((100).to_bytes(8, "little") + b"short")  # then Felix dies mid-frame
    felix.close()
    ff.wait_until(lambda: harness.server.session is None, what="the connection to end")
    assert stats.truncated == 1 and len(stats.problems) > reported
    assert "stream ended inside a frame" in stats.problems[-1]
    assert state.model.workload_endpoints.keys() >= before.workload_endpoints.keys()
