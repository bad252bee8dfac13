"""Calico's BGPConfiguration and BGPPeer objects, node labels and Secrets, through the real
kubernetes client against the fake API server, into the model the BGP speaker reads."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.bgp import BgpSettings
from agent.bgp.peers import desired_peers
from agent.k8s.api import KubeApi
from agent.k8s.bgpfeed import SecretReader
from agent.model import SecretKeyRef
from tests.integration.k8s_agents import Agent, LoopThread, start_agent, stop_agent
from tests.k8sfake import NODES, FakeKubeApi, ResourceType, wait_until
from tests.k8sfake import objects as o

NET = ipaddress.ip_network
IP = ipaddress.ip_address

BGP_CONFIGURATIONS = ResourceType(
    "crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration", False
)
BGP_PEERS = ResourceType("crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", False)
SECRETS = ResourceType("", "v1", "secrets", "Secret", True)


def obj(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[FakeKubeApi, Agent]]:
    with FakeKubeApi(NODES) as api:
        for resource in (BGP_CONFIGURATIONS, BGP_PEERS, SECRETS):
            api.install(resource)
        node = o.node("a", ipv4="192.168.0.1/24", annotations={
            "projectcalico.org/RouteReflectorClusterID": "1.0.0.1"})  # fmt: skip
        node["metadata"]["labels"] = {"rack": "r1"}
        api.create(NODES, node)
        api.create(NODES, o.node("b", ipv4="192.168.0.2/24"))
        runner = LoopThread()
        a = start_agent(api, runner, tmp_path, "a", calico_bgp=True)
        try:
            yield api, a
        finally:
            stop_agent(runner, a)
            runner.close()


def test_bgp_resources_reach_the_model_and_bad_ones_are_skipped(
    agent: tuple[FakeKubeApi, Agent],
) -> None:
    api, a = agent
    api.create(
        BGP_CONFIGURATIONS,
        obj(
            "BGPConfiguration",
            "default",
            {
                "asNumber": 65000,
                "nodeToNodeMeshEnabled": False,
                "serviceLoadBalancerIPs": [{"cidr": "203.0.113.0/24"}],
                "nodeMeshMaxRestartTime": "2m",
            },
        ),
    )
    api.create(
        BGP_PEERS,
        obj(
            "BGPPeer",
            "tor",
            {
                "nodeSelector": "rack == 'r1'",
                "peerIP": "192.168.0.254:1790",
                "asNumber": 65100,
                "password": {"secretKeyRef": {"name": "bgp", "key": "tor"}},
            },
        ),
    )
    api.create(BGP_PEERS, obj("BGPPeer", "broken", {"peerIP": "not-an-ip", "asNumber": 1}))
    wait_until(lambda: "tor" in a.state.model.bgp_peers and a.state.model.bgp_configurations)
    model = a.state.model
    config = model.bgp_configurations["default"]
    assert (config.as_number, config.node_to_node_mesh) == (65000, False)
    assert config.service_load_balancer_ips == (NET("203.0.113.0/24"),)
    assert config.node_mesh_max_restart_time == 120
    tor = model.bgp_peers["tor"]
    assert (tor.peer_ip, tor.peer_port, tor.password) == (
        IP("192.168.0.254"),
        1790,
        SecretKeyRef("bgp", "tor"),
    )
    assert "broken" not in model.bgp_peers
    local = model.nodes["a"]
    assert local.labels == (("rack", "r1"),) and local.route_reflector_cluster_id == "1.0.0.1"

    # the password comes from the Secret, through the real client
    secret = {
        "metadata": {"name": "bgp", "namespace": "calico-system"},
        "data": {"tor": base64.b64encode(b"s3cret").decode()},
    }
    api.create(SECRETS, secret, "calico-system")
    reader = SecretReader(KubeApi(api.api_client()))
    assert reader(SecretKeyRef("bgp", "tor")) == "s3cret"
    assert reader(SecretKeyRef("bgp", "other")) is None
    assert reader(SecretKeyRef("gone", "tor")) is None
    plan = desired_peers(model, BgpSettings(), reader)
    assert plan.peers[IP("192.168.0.254")].password == "s3cret"

    api.delete(BGP_PEERS, "tor")
    wait_until(lambda: "tor" not in a.state.model.bgp_peers)
