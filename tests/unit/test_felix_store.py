"""The typed store of one Felix connection: every payload handled, deltas, hosts, blocks."""

from __future__ import annotations

from ipaddress import ip_interface, ip_network
from typing import Any

import pytest

from agent.felix.changes import ChangeSet
from agent.felix.convert_policy import ConversionError
from agent.felix.hosts import HostView
from agent.felix.messages import PAYLOAD_FIELDS
from agent.felix.store import HANDLERS, FelixStore
from agent.model import PodInterfaceKey, PolicyId
from agent.proto_gen import felixbackend_pb2 as pb


def apply(store: FelixStore, **payload: Any) -> ChangeSet:
    ((kind, message),) = payload.items()
    changes = ChangeSet()
    store.apply(kind, message, changes)
    return changes


def test_every_payload_felix_can_send_has_a_handler() -> None:
    assert set(HANDLERS) == set(PAYLOAD_FIELDS.values())


def test_ip_sets_take_deltas_after_their_first_update() -> None:
    store = FelixStore()
    apply(
        store,
        ipset_update=pb.IPSetUpdate(
            id="s:a", type=pb.IPSetUpdate.NET, members=["10.0.0.1/32", "10.0.0.2/32"]
        ),
    )
    changes = apply(
        store,
        ipset_delta_update=pb.IPSetDeltaUpdate(
            id="s:a", added_members=["10.0.0.3/32"], removed_members=["10.0.0.1/32"]
        ),
    )
    expected = {ip_network("10.0.0.2/32"), ip_network("10.0.0.3/32")}
    assert store.ip_sets["s:a"].members == expected
    assert changes.ip_sets.puts["s:a"].members == expected
    changes = apply(store, ipset_remove=pb.IPSetRemove(id="s:a"))
    assert "s:a" not in store.ip_sets and changes.ip_sets.removes == {"s:a"}


def test_a_delta_for_an_unknown_set_is_refused() -> None:
    with pytest.raises(ConversionError, match="never sent"):
        apply(FelixStore(), ipset_delta_update=pb.IPSetDeltaUpdate(id="s:x"))


def test_a_bad_update_leaves_the_previous_version_in_force() -> None:
    store = FelixStore()
    wid = pb.WorkloadEndpointID(orchestrator_id="k8s", workload_id="ns/p", endpoint_id="eth0")
    good = pb.WorkloadEndpoint(ipv4_nets=["10.0.0.1/32"])
    apply(store, workload_endpoint_update=pb.WorkloadEndpointUpdate(id=wid, endpoint=good))
    before = dict(store.workload_endpoints)
    bad = pb.WorkloadEndpoint(ipv4_nets=["10.0.0.1/32"], allow_spoofed_source_prefixes=["nope"])
    with pytest.raises(ConversionError):
        apply(store, workload_endpoint_update=pb.WorkloadEndpointUpdate(id=wid, endpoint=bad))
    assert store.workload_endpoints == before


def test_endpoints_of_other_orchestrators_are_kept_but_not_joined() -> None:
    store = FelixStore()
    wid = pb.WorkloadEndpointID(orchestrator_id="openstack", workload_id="vm-1", endpoint_id="tap0")
    changes = apply(
        store,
        workload_endpoint_update=pb.WorkloadEndpointUpdate(id=wid, endpoint=pb.WorkloadEndpoint()),
    )
    assert not changes and store.workload_endpoints == {}
    assert ("openstack", "vm-1", "tap0") in store.foreign_endpoints
    assert "not a Kubernetes pod interface" in store.problems[0]
    apply(store, workload_endpoint_remove=pb.WorkloadEndpointRemove(id=wid))
    assert store.foreign_endpoints == {}


def test_felix_v3_32_host_metadata_families_merge_with_v4v6_winning() -> None:
    store = FelixStore()
    apply(store, host_metadata_update=pb.HostMetadataUpdate(hostname="b", ipv4_addr="192.168.0.2"))
    apply(store, host_metadata_v6_update=pb.HostMetadataV6Update(hostname="b", ipv6_addr="fd00::2"))
    assert store.host_view("b") == HostView(
        (ip_interface("192.168.0.2/32"), ip_interface("fd00::2/128")), None, ()
    )
    apply(
        store,
        host_metadata_v4v6_update=pb.HostMetadataV4V6Update(
            hostname="b", ipv4_addr="192.168.0.2/24", ipv6_addr="fd00::2/64", asnumber="64512"
        ),
    )
    view = store.host_view("b")
    assert view is not None and view.asn == 64512
    assert view.addresses == (ip_interface("192.168.0.2/24"), ip_interface("fd00::2/64"))
    apply(store, host_metadata_v4v6_remove=pb.HostMetadataV4V6Remove(hostname="b"))
    assert store.host_view("b") is not None  # the v4 and v6 records are still there
    apply(store, host_metadata_remove=pb.HostMetadataRemove(hostname="b"))
    changes = apply(store, host_metadata_v6_remove=pb.HostMetadataV6Remove(hostname="b"))
    assert store.host_view("b") is None and changes.nodes == {"b"}


def test_master_host_metadata_carries_everything_in_one_message() -> None:
    store = FelixStore()
    apply(
        store,
        host_metadata_update=pb.HostMetadataUpdate(
            hostname="c",
            ipv4_addr="10.1.0.3/16",
            ipv6_addr="fd00::3/64",
            asnumber="65001",
            labels={"zone": "a"},
        ),
    )
    view = store.host_view("c")
    assert view is not None and view.asn == 65001 and len(view.addresses) == 2


def test_workload_block_routes_become_node_blocks() -> None:
    store = FelixStore()
    block = pb.RouteUpdate(types=pb.REMOTE_WORKLOAD, dst="10.2.0.0/26", dst_node_name="b")
    changes = apply(store, route_update=block)
    assert changes.nodes == {"b"}
    view = store.host_view("b")
    assert view is not None and view.blocks == (ip_network("10.2.0.0/26"),)
    moved = pb.RouteUpdate(types=pb.REMOTE_WORKLOAD, dst="10.2.0.0/26", dst_node_name="c")
    changes = apply(store, route_update=moved)  # the block changed hands
    assert changes.nodes == {"b", "c"} and store.host_view("b") is None
    borrowed = pb.RouteUpdate(
        types=pb.REMOTE_WORKLOAD, dst="10.2.0.9/32", dst_node_name="b", borrowed=True
    )
    apply(store, route_update=borrowed)
    assert "b" not in store.blocks_by_node
    changes = apply(store, route_remove=pb.RouteRemove(dst="10.2.0.0/26"))
    assert changes.nodes == {"c"} and ip_network("10.2.0.0/26") not in store.routes


def test_policies_profiles_pools_vteps_and_kept_payloads() -> None:
    store = FelixStore()
    pid = pb.PolicyID(name="p", namespace="ns", kind="NetworkPolicy")
    apply(store, active_policy_update=pb.ActivePolicyUpdate(id=pid, policy=pb.Policy()))
    apply(store, active_profile_update=pb.ActiveProfileUpdate(id=pb.ProfileID(name="kns.ns")))
    apply(store, ipam_pool_update=pb.IPAMPoolUpdate(id="x", pool=pb.IPAMPool(cidr="10.0.0.0/16")))
    apply(store, vtep_update=pb.VXLANTunnelEndpointUpdate(node="b", ipv4_addr="10.0.0.1"))
    apply(
        store, namespace_update=pb.NamespaceUpdate(id=pb.NamespaceID(name="ns"), labels={"a": "b"})
    )
    apply(store, service_update=pb.ServiceUpdate(name="s", namespace="ns", type="ClusterIP"))
    apply(store, encapsulation=pb.Encapsulation(vxlan_enabled=True))
    assert PolicyId("", "p", "ns", "NetworkPolicy") in store.policies
    assert "kns.ns" in store.profiles and "x" in store.pools and "b" in store.vteps
    assert store.namespaces == {"ns": {"a": "b"}} and ("ns", "s") in store.services
    assert store.encapsulation is not None and store.encapsulation.vxlan_enabled
    apply(store, active_policy_remove=pb.ActivePolicyRemove(id=pid))
    apply(store, active_profile_remove=pb.ActiveProfileRemove(id=pb.ProfileID(name="kns.ns")))
    apply(store, ipam_pool_remove=pb.IPAMPoolRemove(id="x"))
    apply(store, vtep_remove=pb.VXLANTunnelEndpointRemove(node="b"))
    assert not store.policies and not store.profiles and not store.pools and not store.vteps


def test_config_and_its_sources() -> None:
    store = FelixStore()
    raw = pb.RawConfig(source="config file", config={"LogSeverityScreen": "Info"})
    changes = apply(
        store,
        config_update=pb.ConfigUpdate(config={"FelixHostname": "a"}, source_to_raw_config={4: raw}),
    )
    assert changes.config and store.config == {"FelixHostname": "a"}
    assert store.config_sources == {"config file": {"LogSeverityScreen": "Info"}}


def test_pod_key_join_uses_the_endpoint_triple() -> None:
    store = FelixStore()
    wid = pb.WorkloadEndpointID(orchestrator_id="k8s", workload_id="ns/p", endpoint_id="net1")
    apply(store, workload_endpoint_update=pb.WorkloadEndpointUpdate(id=wid))
    assert set(store.workload_endpoints) == {PodInterfaceKey("ns", "p", "net1")}
