"""The model's Felix additions: endpoints, routes, VTEPs, config, and the CNI/Felix join."""

from __future__ import annotations

import dataclasses
from ipaddress import ip_interface, ip_network

import pytest

from agent.model import (
    CalicoRoute,
    ClusterModel,
    HostEndpoint,
    PodInterface,
    PodInterfaceKey,
    PolicyAssignment,
    PolicyId,
    RouteType,
    TierAssignment,
    VxlanTunnelEndpoint,
    WorkloadEndpoint,
)

KEY = PodInterfaceKey("ns", "web", "eth0")
FELIX_POLICY = PolicyAssignment(
    tiers=(TierAssignment("default", ingress_policies=(PolicyId("", "p", "ns"),)),),
    profile_ids=("kns.ns",),
)
SCENARIO_POLICY = PolicyAssignment(profile_ids=("from-the-scenario",))


def interface(policy: PolicyAssignment) -> PodInterface:
    return PodInterface(
        KEY, "c", "/var/run/netns/x", "tun0", (ip_interface("10.0.0.1/32"),), policy=policy
    )


def test_felix_s_endpoint_decides_the_policy_of_the_cni_s_interface() -> None:
    model = ClusterModel.build(
        "a",
        pod_interfaces=[interface(SCENARIO_POLICY)],
        workload_endpoints=[WorkloadEndpoint(KEY, FELIX_POLICY)],
    )
    assert model.policy_for(KEY) == FELIX_POLICY
    assert model.policy_for(model.pod_interfaces[KEY]) == FELIX_POLICY


def test_without_an_endpoint_the_interface_keeps_its_own_policy() -> None:
    model = ClusterModel.build("a", pod_interfaces=[interface(SCENARIO_POLICY)])
    assert model.policy_for(KEY) == SCENARIO_POLICY
    with pytest.raises(KeyError):
        model.policy_for(PodInterfaceKey("ns", "other", "eth0"))


def test_an_endpoint_may_exist_before_its_interface() -> None:
    model = ClusterModel.build("a", workload_endpoints=[WorkloadEndpoint(KEY, FELIX_POLICY)])
    assert KEY in model.workload_endpoints and KEY not in model.pod_interfaces


def test_build_keys_the_new_collections_and_refuses_duplicates() -> None:
    route = CalicoRoute(ip_network("10.1.0.0/26"), RouteType.REMOTE_WORKLOAD, node="b")
    model = ClusterModel.build(
        "a",
        host_endpoints=[HostEndpoint("eth0-hep", "eth0")],
        routes=[route],
        vxlan_tunnel_endpoints=[VxlanTunnelEndpoint("b")],
        felix_config={"FelixHostname": "a"},
    )
    assert model.routes[ip_network("10.1.0.0/26")] is route
    assert set(model.host_endpoints) == {"eth0-hep"} and set(model.vxlan_tunnel_endpoints) == {"b"}
    assert model.felix_config == {"FelixHostname": "a"}
    with pytest.raises(ValueError, match="duplicate workload endpoint ns/web/eth0"):
        ClusterModel.build("a", workload_endpoints=[WorkloadEndpoint(KEY), WorkloadEndpoint(KEY)])


def test_the_new_collections_are_read_only() -> None:
    config = {"FelixHostname": "a"}
    model = ClusterModel.build("a", felix_config=config)
    config["FelixHostname"] = "changed"
    assert model.felix_config["FelixHostname"] == "a"
    with pytest.raises(TypeError):
        model.workload_endpoints[KEY] = WorkloadEndpoint(KEY)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.routes = {}  # type: ignore[misc]


def test_workload_blocks_are_a_node_s_ipam_blocks_only() -> None:
    block = CalicoRoute(ip_network("10.1.0.0/26"), RouteType.LOCAL_WORKLOAD, node="a")
    assert block.is_workload_block
    combined = dataclasses.replace(block, types=RouteType.REMOTE_WORKLOAD | RouteType.REMOTE_TUNNEL)
    assert combined.is_workload_block
    assert not dataclasses.replace(block, borrowed=True).is_workload_block
    assert not dataclasses.replace(block, local_workload=True).is_workload_block
    assert not dataclasses.replace(block, node="").is_workload_block
    assert not CalicoRoute(ip_network("10.0.0.0/16")).is_workload_block
