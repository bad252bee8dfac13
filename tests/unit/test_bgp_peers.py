"""agent.bgp.peers and globalconf: Calico's peering rules, and clear errors for bad peers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from agent.bgp import BgpSettings
from agent.bgp.errors import BgpConfigError
from agent.bgp.globalconf import global_config
from agent.bgp.peers import PeerPlan, desired_peers
from agent.model import BgpConfiguration, BgpPeer, ClusterModel, Node, SecretKeyRef

IF = ipaddress.ip_interface
IP = ipaddress.ip_address

A = Node("a", (IF("192.168.0.1/24"), IF("fd00::1/64")), labels=(("rack", "r1"),))
B = Node("b", (IF("192.168.0.2/24"), IF("fd00::2/64")), asn=65002, labels=(("rack", "r1"),))
C = Node("c", (IF("192.168.0.3/24"),), labels=(("rack", "r2"), ("rr", "yes")))
SETTINGS = BgpSettings()
SECRETS = {SecretKeyRef("bgp", "mesh"): "m3sh", SecretKeyRef("bgp", "tor"): "t0r"}


def plan(
    *peers: BgpPeer, config: BgpConfiguration | None = None, local: str = "a", **kw: Any
) -> PeerPlan:
    model = ClusterModel.build(
        local, nodes=[A, B, C], bgp_peers=peers, bgp_configurations=[config] if config else []
    )
    return desired_peers(model, BgpSettings(**kw), SECRETS.get)


def test_full_mesh_per_family_with_each_nodes_asn() -> None:
    p = plan()
    assert set(p.peers) == {IP("192.168.0.2"), IP("fd00::2"), IP("192.168.0.3")}
    b4 = p.peers[IP("192.168.0.2")]
    assert (b4.asn, b4.local_address, b4.vpn, b4.port) == (65002, IP("192.168.0.1"), True, None)
    assert p.peers[IP("192.168.0.3")].asn == 64512
    assert not p.problems


def test_mesh_settings_from_the_default_configuration() -> None:
    config = BgpConfiguration(
        "default",
        as_number=65000,
        listen_port=1179,
        node_mesh_password=SecretKeyRef("bgp", "mesh"),
        node_mesh_max_restart_time=30,
    )
    c = plan(config=config).peers[IP("192.168.0.3")]
    assert (c.asn, c.port, c.password, c.restart_time) == (65000, 1179, "m3sh", 30)
    assert not plan(config=BgpConfiguration("default", node_to_node_mesh=False)).peers


def test_bgp_peer_to_a_router_and_to_selected_nodes() -> None:
    tor = BgpPeer(
        "tor",
        node_selector="rack == 'r1'",
        peer_ip=IP("192.168.0.254"),
        peer_port=1790,
        as_number=65100,
        password=SecretKeyRef("bgp", "tor"),
        ttl_security=1,
    )
    reflectors = BgpPeer("to-rr", peer_selector="has(rr)")
    off = BgpConfiguration("default", node_to_node_mesh=False)
    p = plan(tor, reflectors, config=off)
    t = p.peers[IP("192.168.0.254")]
    assert (t.asn, t.port, t.password, t.vpn, t.ttl_min) == (65100, 1790, "t0r", False, 254)
    assert set(p.peers) == {IP("192.168.0.254"), IP("192.168.0.3")}
    assert p.peers[IP("192.168.0.3")].vpn, "sessions with nodes carry the VPN families"
    assert not plan(tor, config=off, local="c").peers, "c is in rack r2: not for it"


def test_a_route_reflector_reflects_for_nodes_outside_its_cluster() -> None:
    rr = Node("c", C.addresses, labels=C.labels, route_reflector_cluster_id="1.0.0.1")
    model = ClusterModel.build(
        "c",
        nodes=[A, B, rr],
        bgp_peers=[BgpPeer("clients", node="c", peer_selector="all()")],
        bgp_configurations=[BgpConfiguration("default", node_to_node_mesh=False)],
    )
    peers = desired_peers(model, SETTINGS).peers
    assert peers[IP("192.168.0.1")].rr_client and peers[IP("192.168.0.1")].cluster_id == "1.0.0.1"


def test_settings_override_the_asn_and_add_static_peers() -> None:
    p = plan(asn=65123, peers=[{"name": "lab", "address": "192.168.0.200", "asn": 65200}])
    assert p.peers[IP("192.168.0.200")].asn == 65200
    model = ClusterModel.build("a", nodes=[A, B])
    assert global_config(model, BgpSettings(asn=65123)).asn == 65123


@pytest.mark.parametrize(
    ("peer", "field", "message"),
    [
        (BgpPeer("x", peer_ip=IP("192.168.0.254")), "spec.asNumber", "required with spec.peerIP"),
        (BgpPeer("x", node_selector="rack =="), "spec.nodeSelector", "unexpected end"),
        (BgpPeer("x", peer_selector="has(rr"), "spec.peerSelector", "unexpected end"),
        (BgpPeer("x"), "spec", "set peerIP"),
        (
            BgpPeer("x", peer_ip=IP("192.168.0.254"), as_number=1, password=SecretKeyRef("s", "k")),
            "spec.password.secretKeyRef",
            "secret s/k does not exist",
        ),
        (
            BgpPeer("x", node="c", peer_ip=IP("fd00::fe"), as_number=1),
            "spec.peerIP",
            "node c has no IPv6 address",
        ),
    ],
)
def test_a_bad_bgp_peer_is_named_and_skipped(peer: BgpPeer, field: str, message: str) -> None:
    p = plan(peer, local=peer.node or "a")
    [problem] = p.problems
    assert isinstance(problem, BgpConfigError)
    assert problem.obj == "BGPPeer x" and problem.field == field and message in problem.message
    assert IP("192.168.0.3") in p.peers or peer.node == "c", "the mesh is not disturbed"


def test_a_missing_mesh_password_is_reported_not_guessed() -> None:
    config = BgpConfiguration("default", node_mesh_password=SecretKeyRef("gone", "k"))
    p = plan(config=config)
    assert not p.peers
    assert "spec.nodeMeshPassword.secretKeyRef" in str(p.problems[0])


def test_global_config_needs_a_router_id() -> None:
    v6only = Node("a", (IF("fd00::1/64"),))
    with pytest.raises(BgpConfigError, match="no IPv4 address for the BGP router id"):
        global_config(ClusterModel.build("a", nodes=[v6only]), SETTINGS)
    g = global_config(ClusterModel.build("a", nodes=[v6only]), BgpSettings(router_id="10.0.0.1"))
    assert (g.router_id, g.listen_port, list(g.listen_addresses)) == ("10.0.0.1", 179, ["fd00::1"])
    with pytest.raises(BgpConfigError, match="not in the cluster model yet"):
        global_config(ClusterModel.build("a"), SETTINGS)
