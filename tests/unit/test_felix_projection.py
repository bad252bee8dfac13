"""Store -> model: Felix-owned collections replaced, shared ones merged, deltas incremental."""

from __future__ import annotations

from ipaddress import ip_interface, ip_network
from typing import Any

from agent.felix import projection
from agent.felix.changes import ChangeSet
from agent.felix.hosts import HostView
from agent.felix.store import FelixStore
from agent.model import ClusterModel, IpPool, Node, PodBlock, PodInterfaceKey
from agent.proto_gen import felixbackend_pb2 as pb

BLUE = PodBlock(ip_network("172.19.1.0/26"), "blue")


def fill(store: FelixStore, **payloads: Any) -> ChangeSet:
    changes = ChangeSet()
    for kind, messages in payloads.items():
        for message in messages if isinstance(messages, list) else [messages]:
            store.apply(kind, message, changes)
    return changes


def endpoint(pod: str) -> pb.WorkloadEndpointUpdate:
    wid = pb.WorkloadEndpointID(orchestrator_id="k8s", workload_id=f"ns/{pod}", endpoint_id="eth0")
    return pb.WorkloadEndpointUpdate(
        id=wid, endpoint=pb.WorkloadEndpoint(ipv4_nets=["10.0.0.1/32"])
    )


def base_model() -> ClusterModel:
    return ClusterModel.build(
        "a",
        nodes=[
            Node("a", (ip_interface("192.168.0.1/24"),), (BLUE,), uplink_interface="eth1"),
            Node("other", (ip_interface("192.168.9.9/24"),)),
        ],
        pools=[IpPool("blue-pool", ip_network("172.19.0.0/16"), 26, network="blue")],
    )


def test_merge_node_keeps_what_felix_does_not_own() -> None:
    existing = Node("a", (ip_interface("10.9.9.9/8"),), (BLUE,), asn=1, uplink_interface="eth1")
    view = HostView((ip_interface("192.168.0.1/24"),), 64512, (ip_network("10.0.0.0/26"),))
    merged = projection.merge_node("a", existing, view)
    assert merged == Node(
        "a",
        (ip_interface("192.168.0.1/24"),),
        (PodBlock(ip_network("10.0.0.0/26")), BLUE),
        asn=64512,
        uplink_interface="eth1",
    )
    assert projection.merge_node("a", existing, None) == Node("a", (), (BLUE,), None, "eth1")
    assert projection.merge_node("b", Node("b", (ip_interface("1.1.1.1/32"),)), None) is None
    assert projection.merge_node("c", None, None) is None


def test_the_snapshot_replaces_felix_s_collections_and_merges_shared_ones() -> None:
    store = FelixStore()
    fill(
        store,
        workload_endpoint_update=[endpoint("p1"), endpoint("p2")],
        ipam_pool_update=pb.IPAMPoolUpdate(id="10.0.0.0-16", pool=pb.IPAMPool(cidr="10.0.0.0/16")),
        host_metadata_update=pb.HostMetadataUpdate(hostname="a", ipv4_addr="192.168.0.1/24"),
        route_update=pb.RouteUpdate(types=pb.LOCAL_WORKLOAD, dst="10.0.0.0/26", dst_node_name="a"),
        config_update=pb.ConfigUpdate(config={"FelixHostname": "a"}),
    )
    change, owned = projection.full(store, projection.Ownership())
    model = change(base_model())
    assert set(model.workload_endpoints) == {
        PodInterfaceKey("ns", "p1", "eth0"),
        PodInterfaceKey("ns", "p2", "eth0"),
    }
    assert set(model.pools) == {"blue-pool", "10.0.0.0-16"}
    assert model.nodes["a"].pod_blocks == (PodBlock(ip_network("10.0.0.0/26")), BLUE)
    assert model.nodes["a"].uplink_interface == "eth1"
    assert "other" in model.nodes  # Felix never mentioned it: not Felix's to remove
    assert model.felix_config == {"FelixHostname": "a"}
    assert owned == projection.Ownership(frozenset({"10.0.0.0-16"}), frozenset({"a"}))

    # A new Felix's snapshot no longer mentions p2, the pool or node a's metadata.
    fresh = FelixStore()
    fill(fresh, workload_endpoint_update=endpoint("p1"))
    again, owned_again = projection.full(fresh, owned)
    model = again(model)
    assert set(model.workload_endpoints) == {PodInterfaceKey("ns", "p1", "eth0")}
    assert set(model.pools) == {"blue-pool"}
    assert model.nodes["a"] == Node("a", (), (BLUE,), None, "eth1")
    assert owned_again == projection.Ownership()


def test_incremental_changes_touch_only_what_changed() -> None:
    store = FelixStore()
    fill(store, workload_endpoint_update=[endpoint("p1"), endpoint("p2")])
    change, owned = projection.full(store, projection.Ownership())
    model = change(base_model())
    changes = fill(
        store,
        workload_endpoint_remove=pb.WorkloadEndpointRemove(id=endpoint("p1").id),
        ipam_pool_update=pb.IPAMPoolUpdate(id="x", pool=pb.IPAMPool(cidr="10.1.0.0/16")),
        host_metadata_update=pb.HostMetadataUpdate(hostname="z", ipv4_addr="192.168.0.26/24"),
    )
    step, owned = projection.incremental(changes, store, owned)
    after = step(model)
    assert set(after.workload_endpoints) == {PodInterfaceKey("ns", "p2", "eth0")}
    assert "x" in after.pools and "z" in after.nodes
    assert after.policies is model.policies and after.pod_interfaces is model.pod_interfaces
    assert owned == projection.Ownership(frozenset({"x"}), frozenset({"z"}))
    assert projection.incremental(ChangeSet(), store, owned)[0](after) is after
