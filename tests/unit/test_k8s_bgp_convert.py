"""Calico BGPConfiguration/BGPPeer objects -> model, with errors naming the field."""

from __future__ import annotations

import ipaddress

import pytest

from agent.k8s.convert.bgp import duration_seconds, from_bgp_configuration, from_bgp_peer
from agent.k8s.convert.meta import ConversionError, Obj
from agent.k8s.convert.networks import from_vppnet
from agent.model import SecretKeyRef

IP = ipaddress.ip_address


def peer(**spec: object) -> Obj:
    return {"metadata": {"name": "p"}, "spec": spec}


def test_a_full_peer() -> None:
    p = from_bgp_peer(
        peer(
            node="a",
            peerIP="[fd00::9]:1790",
            asNumber="65001",
            password={"secretKeyRef": {"name": "s", "key": "k"}},
            maxRestartTime="1h30m",
            sourceAddress="None",
            ttlSecurity=2,
            keepOriginalNextHop=True,
        )
    )
    assert (p.node, p.peer_ip, p.peer_port, p.as_number) == ("a", IP("fd00::9"), 1790, 65001)
    assert p.password == SecretKeyRef("s", "k") and p.max_restart_time == 5400
    assert not p.source_address_node_ip and p.ttl_security == 2 and p.keep_original_next_hop


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"peerIP": "10.0.0.1:99999", "asNumber": 1}, "spec.peerIP"),
        ({"peerIP": "host:179", "asNumber": 1}, "spec.peerIP"),
        ({"peerIP": "10.0.0.1", "asNumber": -3}, "spec.asNumber"),
        ({"node": "a", "nodeSelector": "all()"}, "spec.nodeSelector"),
        ({"peerIP": "10.0.0.1", "peerSelector": "all()"}, "spec.peerSelector"),
        ({"password": {"secretKeyRef": {"name": "s"}}}, "spec.password.secretKeyRef"),
        ({"maxRestartTime": "soon"}, "spec.maxRestartTime"),
        ({"sourceAddress": "UsePodIP"}, "spec.sourceAddress"),
        ({"keepOriginalNextHop": "yes"}, "spec.keepOriginalNextHop"),
    ],
)
def test_bad_peers_name_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ConversionError) as e:
        from_bgp_peer(peer(**spec))
    assert e.value.field == field


def test_configuration() -> None:
    c = from_bgp_configuration(
        {
            "metadata": {"name": "default"},
            "spec": {
                "listenPort": 1179,
                "serviceClusterIPs": [{"cidr": "10.96.0.0/12"}, {"cidr": "fd00:96::/108"}],
                "nodeMeshPassword": {"secretKeyRef": {"name": "m", "key": "pw"}},
            },
        }
    )
    assert c.listen_port == 1179 and len(c.service_cluster_ips) == 2
    assert c.node_mesh_password == SecretKeyRef("m", "pw") and c.node_to_node_mesh is None
    with pytest.raises(ConversionError, match=r"serviceExternalIPs\[0\].cidr"):
        from_bgp_configuration(
            {"metadata": {"name": "d"}, "spec": {"serviceExternalIPs": [{"cidr": "10.0.0.1/8"}]}}
        )


def test_durations() -> None:
    assert duration_seconds("120s", "x") == 120
    assert duration_seconds("2m30s", "x") == 150
    assert duration_seconds("1500ms", "x") == 2
    with pytest.raises(ConversionError):
        duration_seconds("2 minutes", "x")


def test_a_network_asks_for_bgp_with_spec_advertise() -> None:
    base = {"metadata": {"name": "red"}, "spec": {"vni": 100, "ipv4Range": "172.16.0.0/16"}}
    assert not from_vppnet(base).advertise
    asked = {**base, "spec": {**base["spec"], "advertise": True}}  # type: ignore[dict-item]
    assert from_vppnet(asked).advertise
    wrong = {**base, "spec": {**base["spec"], "advertise": "yes"}}  # type: ignore[dict-item]
    with pytest.raises(ConversionError, match=r"spec\.advertise"):
        from_vppnet(wrong)
