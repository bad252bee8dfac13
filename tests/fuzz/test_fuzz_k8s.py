"""Kubernetes objects bent out of shape: converted, or refused with the field named.

Every converter in agent/k8s/convert either returns a model entity or raises
ConversionError whose ``field`` names the part of the object at fault; the
feeds the watches call (the network catalog, the service feed) never let
anything else escape, so one bad object cannot end a watch.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.k8s.catalog import NetworkCatalog, Origin
from agent.k8s.convert import bgp as bgp_convert
from agent.k8s.convert import nads as nad_convert
from agent.k8s.convert import networks as net_convert
from agent.k8s.convert import nodes as node_convert
from agent.k8s.convert import pods as pod_convert
from agent.k8s.convert import services as svc_convert
from agent.k8s.convert.meta import ConversionError
from agent.k8s.services import ServiceFeed
from agent.model import ClusterModel, Network
from agent.state import ClusterState
from tests.fuzz.mutate import NEAR_MISSES, json_values, mutated
from tests.k8sfake import objects as o
from tests.k8sservices import endpoint, endpoint_slice, port, service

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NETWORK = o.network("blue", 4001, "172.19.0.0/16", "fd00:172:19::/48", advertise=True, vrfTableId=7)
NETWORK["metadata"].update(
    {"creationTimestamp": "2026-01-02T03:04:05Z", "uid": "u1", "generation": 2}
)
CALICO_VPP_NETWORK = o.calico_vpp_network("red", 4002, "172.20.0.0/16")
NAD = o.nad("blue-nad", "blue")
NODE = o.node(
    "a",
    ipv4="192.168.0.1/24",
    ipv6="fd00::1/64",
    internal_ip="192.168.0.1",
    annotations={"projectcalico.org/ASNumber": "64512"},
    pod_cidrs=("10.244.1.0/24",),
)
POD = o.pod("web", "a", annotations={"k8s.v1.cni.cncf.io/networks": "blue-nad"}, ip="10.244.1.5")
SERVICE = service(
    "web",
    ["10.96.0.10", "fd96::a"],
    [port(80, "http", name="web", node_port=30080), port(53, 5353, "UDP", "dns")],
    type="LoadBalancer",
    externalIPs=["203.0.113.7"],
    externalTrafficPolicy="Local",
    sessionAffinity="ClientIP",
    sessionAffinityConfig={"clientIP": {"timeoutSeconds": 600}},
    annotations={
        "cni.projectcalico.org/vppLBType": "maglev",
        "cni.projectcalico.org/vppHashConfig": "srcaddr, dstport",
        "extensions.projectcalico.org/network": "blue",
    },
    ingress=[{"ip": "198.51.100.9"}, {"hostname": "lb"}],
)
SLICE = endpoint_slice(
    "web-abc",
    "web",
    [endpoint("10.244.1.5", zones=["z1"]), endpoint("10.244.2.6", node="b", ready=False)],
    [{"name": "web", "port": 8080, "protocol": "TCP"}],
)
BGP_PEER = {
    "metadata": {"name": "p"},
    "spec": {
        "node": "a",
        "peerIP": "[fd00::9]:1790",
        "asNumber": "65001",
        "password": {"secretKeyRef": {"name": "s", "key": "k"}},
        "maxRestartTime": "1h30m",
        "ttlSecurity": 2,
        "keepOriginalNextHop": True,
    },
}
BGP_CONFIGURATION = {
    "metadata": {"name": "default"},
    "spec": {
        "listenPort": 1179,
        "asNumber": 64512,
        "serviceClusterIPs": [{"cidr": "10.96.0.0/12"}],
        "serviceLoadBalancerIPs": [{"cidr": "198.51.100.0/24"}],
        "nodeMeshPassword": {"secretKeyRef": {"name": "m", "key": "pw"}},
    },
}


def refused_well(error: ConversionError) -> None:
    """What the caller logs and puts in the object's Event: field first, then why."""
    assert error.field and error.message
    assert str(error).startswith(error.field)


def converts_or_refuses(convert: Any, obj: Any) -> Any:
    try:
        return convert(obj)
    except ConversionError as error:
        refused_well(error)
        return None


@FUZZ
@given(mutated(NETWORK))
def test_vppnet_network_specs(obj: Any) -> None:
    network = converts_or_refuses(net_convert.from_vppnet, obj)
    assert network is None or (isinstance(network, Network) and network.ranges)


@FUZZ
@given(mutated(CALICO_VPP_NETWORK))
def test_calico_vpp_network_specs(obj: Any) -> None:
    network = converts_or_refuses(net_convert.from_calico_vpp, obj)
    assert network is None or isinstance(network, Network)


# a NAD's config is a JSON string inside the object: bend the decoded config too
nad_configs = mutated(json.loads(NAD["spec"]["config"]), max_changes=4).map(json.dumps)


@FUZZ
@given(st.one_of(mutated(NAD), nad_configs.map(lambda c: {**NAD, "spec": {"config": c}})))
def test_network_attachment_definitions(obj: Any) -> None:
    name = converts_or_refuses(nad_convert.network_name, obj)
    assert name is None or (isinstance(name, str) and name)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from([Origin.VPPNET, Origin.CALICO_VPP]), mutated(NETWORK)),
        max_size=3,
    ),
    st.lists(mutated(NAD), max_size=3),
)
def test_the_network_catalog_takes_whatever_the_watches_deliver(
    networks: list[tuple[Origin, Any]], nads: list[Any]
) -> None:
    catalog = NetworkCatalog()
    for origin, obj in networks:
        try:
            entry = catalog.put_network(origin, obj)
        except ConversionError as error:  # no name: the watch logs and skips it
            assert error.field == "metadata.name"
            continue
        if entry.network is None:
            assert entry.error is not None
            refused_well(entry.error)
    for obj in nads:
        try:
            catalog.put_nad(obj)
        except ConversionError as error:
            assert error.field == "metadata.name"
    view = catalog.view()
    assert set(view.networks()) <= {e.meta.name for e in view.network_entries}
    view.shadowed()
    view.dangling_nads()


@FUZZ
@given(mutated(NODE, max_changes=4))
def test_nodes(obj: Any) -> None:
    info = converts_or_refuses(node_convert.from_k8s, obj)
    assert info is None or all(isinstance(p, str) and p for p in info.problems)


@FUZZ
@given(mutated(POD, max_changes=4))
def test_pods(obj: Any) -> None:
    meta = converts_or_refuses(pod_convert.from_k8s, obj)
    assert meta is None or all(isinstance(v, str) for v in meta.annotations.values())


@FUZZ
@given(mutated(SERVICE, max_changes=4))
def test_services(obj: Any) -> None:
    info = converts_or_refuses(svc_convert.service_from_k8s, obj)
    if info is not None:
        for problem in info.problems:
            assert problem.reason and problem.message


@FUZZ
@given(mutated(SLICE, max_changes=4))
def test_endpoint_slices(obj: Any) -> None:
    info = converts_or_refuses(svc_convert.slice_from_k8s, obj)
    if info is not None:
        for problem in info.problems:
            assert problem.reason and problem.message


@FUZZ
@given(
    st.lists(mutated(SERVICE, max_changes=3), min_size=1, max_size=3),
    st.lists(mutated(SLICE, max_changes=3), max_size=3),
)
def test_the_service_feed_takes_whatever_the_watches_deliver(
    services: list[Any], slices: list[Any]
) -> None:
    """The handlers the watches call: upserts, a relist, deletes; nothing escapes."""
    model = ClusterModel.build("a", networks=[Network("blue", 4001, ())])
    state = ClusterState(model)
    feed = ServiceFeed(state, lambda: None)
    svc, eps = feed.services(), feed.slices()
    for obj in services:
        svc.upsert(obj)
    for obj in slices:
        eps.upsert(obj)
    svc.replace(services)
    eps.replace(slices)
    for obj in slices:
        try:
            eps.delete(obj)
        except ConversionError as error:  # a delete without a name: logged by the watch
            assert error.field == "metadata.name"
    for key, service_obj in state.model.services.items():
        assert service_obj.name == key.name


@FUZZ
@given(mutated(BGP_PEER, max_changes=4))
def test_calico_bgp_peers(obj: Any) -> None:
    converts_or_refuses(bgp_convert.from_bgp_peer, obj)


@FUZZ
@given(mutated(BGP_CONFIGURATION, max_changes=4))
def test_calico_bgp_configurations(obj: Any) -> None:
    converts_or_refuses(bgp_convert.from_bgp_configuration, obj)


@FUZZ
@given(st.sampled_from(NEAR_MISSES), json_values)
def test_bare_random_objects(name: str, spec: Any) -> None:
    """Not even the shape of an object: every converter still answers in its own terms."""
    obj = {"metadata": {"name": name}, "spec": spec, "status": spec}
    for convert in (
        net_convert.from_vppnet,
        net_convert.from_calico_vpp,
        nad_convert.network_name,
        node_convert.from_k8s,
        pod_convert.from_k8s,
        svc_convert.service_from_k8s,
        svc_convert.slice_from_k8s,
        bgp_convert.from_bgp_peer,
        bgp_convert.from_bgp_configuration,
    ):
        converts_or_refuses(convert, obj)
