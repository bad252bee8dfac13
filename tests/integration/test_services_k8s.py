"""Services from the Kubernetes API to VPP: fake API server, real client, simulated VPP.

Each test runs a whole agent (tests/integration/k8s_agents.py) and changes Services
and EndpointSlices through the fake API server, then reads VPP back through its dumps
(and, for what VPP does not dump, the simulator's state).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.explain_service import ServicePacket, explain_service
from agent.model import HostPort, IpPool, L4Protocol, PodInterface, PodInterfaceKey
from agent.model.service_reach import Outcome
from agent.vpp import cnat, ip
from tests.integration.k8s_agents import Agent, LoopThread, start_agent, stop_agent
from tests.k8sfake import ENDPOINT_SLICES, EVENTS, NADS, NODES, SERVICES, FakeKubeApi, wait_until
from tests.k8sfake import objects as o
from tests.k8sservices import endpoint, endpoint_slice, port, service

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network
Obj = dict[str, Any]


class Env:
    def __init__(self, api: FakeKubeApi, tmp: Path) -> None:
        self.api = api
        self.tmp = tmp
        self.networks = o.install_vppnet(api)
        self.runner = LoopThread()
        self.agents: list[Agent] = []

    def agent(self) -> Agent:
        self.api.create(NODES, o.node("a", ipv4="192.168.0.1/24", ipv6="fd00::1/64"))
        self.api.create(NODES, o.node("b", ipv4="192.168.0.2/24"))
        agent = start_agent(self.api, self.runner, self.tmp, "a")
        self.agents.append(agent)
        return agent

    def close(self) -> None:
        for agent in self.agents:
            stop_agent(self.runner, agent)
        self.runner.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakeKubeApi(NADS, SERVICES, ENDPOINT_SLICES) as api:
        e = Env(api, tmp_path)
        try:
            yield e
        finally:
            e.close()


def translations(agent: Agent) -> dict[str, cnat.Translation]:
    return {f"{t.proto.name} {t.vip.addr} {t.vip.port}": t for t in agent.conn.dump(cnat.dump())}


def backends(agent: Agent, key: str) -> set[str]:
    t = translations(agent).get(key)
    return set() if t is None else {f"{b.dst.addr}:{b.dst.port}" for b in t.backends}


def routes(agent: Agent, table: int = 0) -> dict[str, list[ip.Path]]:
    return {str(r.prefix): list(r.paths) for r in agent.conn.dump(ip.dump_routes(table, False))}


def settled(agent: Agent, check: Any) -> Any:
    """Wait until ``check()`` holds once the agent has converged."""

    def ok() -> Any:
        agent.settle()
        return check()

    return wait_until(ok)


def test_cluster_ip_follows_its_endpoints(env: Env) -> None:
    api, a = env.api, env.agent()
    api.create(SERVICES, service("web", ["10.96.0.10"], [port(80, 8080, name="http")]), "default")
    settled(a, lambda: routes(a).get("10.96.0.10/32"))  # no endpoints yet: rejected
    assert routes(a)["10.96.0.10/32"][0].type is ip.PathType.ICMP_UNREACH
    ports = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    eps = [endpoint("10.0.0.5"), endpoint("10.0.1.6", node="b")]
    api.create(ENDPOINT_SLICES, endpoint_slice("web-1", "web", eps, ports), "default")
    settled(a, lambda: backends(a, "TCP 10.96.0.10 80") == {"10.0.0.5:8080", "10.0.1.6:8080"})
    assert "10.96.0.10/32" not in routes(a)
    first = translations(a)["TCP 10.96.0.10 80"]
    assert first.lb_type is cnat.LbType.MAGLEV
    # scale up with a second slice, then down: the translation is updated in place
    more = [endpoint("10.0.1.7", node="b")]
    api.create(ENDPOINT_SLICES, endpoint_slice("web-2", "web", more, ports), "default")
    settled(a, lambda: len(backends(a, "TCP 10.96.0.10 80")) == 3)
    draining = [
        endpoint("10.0.0.5", ready=False, serving=True, terminating=True),
        endpoint("10.0.1.6", node="b", ready=False, serving=False, terminating=True),
    ]
    api.patch(ENDPOINT_SLICES, "web-1", {"endpoints": draining}, "default")
    settled(a, lambda: backends(a, "TCP 10.96.0.10 80") == {"10.0.1.7:8080"})
    api.delete(ENDPOINT_SLICES, "web-2", "default")  # only a terminating one is left: it serves
    settled(a, lambda: backends(a, "TCP 10.96.0.10 80") == {"10.0.0.5:8080"})
    assert translations(a)["TCP 10.96.0.10 80"].translation_id == first.translation_id
    api.delete(SERVICES, "web", "default")
    settled(a, lambda: not translations(a) and "10.96.0.10/32" not in routes(a))


def test_node_port_load_balancer_external_ips_dual_stack_and_local_policy(env: Env) -> None:
    api, a = env.api, env.agent()
    svc = service(
        "shop",
        ["10.96.0.20", "fd96::20"],
        [port(443, "https", name="https", node_port=30443)],
        type="LoadBalancer",
        externalIPs=["203.0.113.7"],
    )
    api.create(SERVICES, svc, "default")
    ingress = {"status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.9"}]}}}
    api.patch(SERVICES, "shop", ingress, "default", status=True)  # the cloud's controller
    ports = [{"name": "https", "port": 8443, "protocol": "TCP"}]
    api.create(
        ENDPOINT_SLICES,
        endpoint_slice(
            "shop-4", "shop", [endpoint("10.0.0.5"), endpoint("10.0.1.6", node="b")], ports
        ),
        "default",
    )
    api.create(
        ENDPOINT_SLICES,
        endpoint_slice("shop-6", "shop", [endpoint("fd10::5")], ports, address_type="IPv6"),
        "default",
    )
    both = {"10.0.0.5:8443", "10.0.1.6:8443"}
    for key in (
        "TCP 10.96.0.20 443",
        "TCP 203.0.113.7 443",
        "TCP 198.51.100.9 443",
        "TCP 192.168.0.1 30443",
    ):
        settled(a, lambda key=key: backends(a, key) == both)
    assert backends(a, "TCP fd96::20 443") == {"fd10::5:8443"}  # families kept apart
    assert backends(a, "TCP fd00::1 30443") == {"fd10::5:8443"}
    node_port = translations(a)["TCP 192.168.0.1 30443"]
    remote = next(b for b in node_port.backends if str(b.dst.addr) == "10.0.1.6")
    assert remote.src is not None and str(remote.src.addr) == "192.168.0.1"  # symmetric return
    real = a.sim.state.cnat.translations[node_port.translation_id]
    assert real.is_real_ip == 1  # the node's own address keeps its forwarding
    api.patch(SERVICES, "shop", {"spec": {"externalTrafficPolicy": "Local"}}, "default")
    for key in ("TCP 203.0.113.7 443", "TCP 198.51.100.9 443", "TCP 192.168.0.1 30443"):
        settled(a, lambda key=key: backends(a, key) == {"10.0.0.5:8443"})
    assert backends(a, "TCP 10.96.0.20 443") == both  # the ClusterIP keeps every endpoint
    local = translations(a)["TCP 192.168.0.1 30443"]
    assert all(b.src is None for b in local.backends)  # the client's address is kept


def test_session_affinity_hashes_on_the_client_address(env: Env) -> None:
    api, a = env.api, env.agent()
    svc = service("sticky", ["10.96.0.30"], sessionAffinity="ClientIP")
    api.create(SERVICES, svc, "default")
    api.create(
        ENDPOINT_SLICES, endpoint_slice("sticky-1", "sticky", [endpoint("10.0.0.5")]), "default"
    )
    t = settled(a, lambda: translations(a).get("TCP 10.96.0.30 80"))
    assert a.sim.state.cnat.translations[t.translation_id].flow_hash_config == cnat.FlowHash.SRC_IP
    api.patch(SERVICES, "sticky", {"spec": {"sessionAffinity": "None"}}, "default")
    settled(
        a,
        lambda: a.sim.state.cnat.translations[t.translation_id].flow_hash_config == cnat.FIVE_TUPLE,
    )


def test_a_network_service_is_reached_only_from_its_network(env: Env) -> None:
    api, a = env.api, env.agent()
    api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    settled(a, lambda: "blue" in a.state.model.networks)
    a.put_pod(
        PodInterface(
            PodInterfaceKey("default", "dns", "net1"),
            "c",
            "/var/run/netns/dns",
            "calidns",
            (IF("172.19.0.5/32"),),
            network="blue",
        )
    )
    notes = {"extensions.projectcalico.org/network": "blue"}
    api.create(
        SERVICES,
        service("dns", ["10.96.1.53"], [port(53, 53, "UDP")], annotations=notes),
        "default",
    )
    ports = [{"name": "", "port": 53, "protocol": "UDP"}]
    eps = [endpoint("172.19.0.5"), endpoint("10.0.0.9")]  # the second one is not blue's
    api.create(ENDPOINT_SLICES, endpoint_slice("dns-1", "dns", eps, ports), "default")
    settled(a, lambda: backends(a, "UDP 10.96.1.53 53") == {"172.19.0.5:53"})
    t = translations(a)["UDP 10.96.1.53 53"]
    assert a.sim.state.cnat.translations[t.translation_id].flags & cnat.TranslationFlags.NO_CLIENT
    blue = explain_service(a.conn, ServicePacket(IP("10.96.1.53"), 53, "UDP", table=56))
    assert blue.outcome is Outcome.BACKENDS and blue.backends == {(IP("172.19.0.5"), 53)}
    default = explain_service(a.conn, ServicePacket(IP("10.96.1.53"), 53, "UDP", table=0))
    assert default.outcome is Outcome.DROP and not default.backends
    assert routes(a)["10.96.1.53/32"][0].type is ip.PathType.ICMP_UNREACH  # never leaked out
    event = wait_until(lambda: [e for e in api.items(EVENTS) if e.get("reason") == "NotProgrammed"])
    assert "10.0.0.9 is outside network 'blue'" in event[0]["message"]
    assert event[0]["involvedObject"]["kind"] == "Service"


def test_nat_outgoing_and_host_ports(env: Env) -> None:
    a = env.agent()
    pool = IpPool("default", NET("10.0.0.0/16"), 26, nat_outgoing=True)
    a.state.update(lambda m: replace(m, pools={"default": pool}), "Felix: pool")
    web = PodInterface(
        PodInterfaceKey("default", "web", "eth0"),
        "c",
        "/var/run/netns/web",
        "caliweb",
        (IF("10.0.0.5/32"),),
        host_ports=(HostPort(L4Protocol.TCP, 80, 8080),),
    )
    a.put_pod(web)
    settled(a, lambda: backends(a, "TCP 192.168.0.1 8080") == {"10.0.0.5:80"})
    state = a.sim.state.cnat
    assert state.snat_entry and str(state.snat_ip4) == "192.168.0.1" and state.snat_policy == 2
    assert NET("10.0.0.0/16") in state.exclude_prefixes
    sw = a.endpoint(web).sw_if_index
    assert sw in state.policy_interfaces[cnat.SnatTable.POD]
    assert sw in state.policy_interfaces[cnat.SnatTable.INCLUDE_V4]
    assert sw in state.enabled_interfaces
    a.state.update(
        lambda m: replace(m, pools={"default": replace(pool, nat_outgoing=False)}), "off"
    )
    a.dataplane.converge()
    settled(a, lambda: sw not in state.policy_interfaces[cnat.SnatTable.INCLUDE_V4])
    a.remove_pod(web.key)
    settled(a, lambda: "TCP 192.168.0.1 8080" not in translations(a))


def test_bad_objects_are_skipped_with_an_event(env: Env) -> None:
    api, a = env.api, env.agent()
    bad = service("bad", ["10.96.0.40"], [port(0, 80), port(81, 80, "ICMP"), port(82, 8082)])
    api.create(SERVICES, bad, "default")
    slice_ = endpoint_slice("bad-1", "bad", [endpoint("10.0.0.7", "10.0.0.999")], [{"port": 8082}])
    api.create(ENDPOINT_SLICES, slice_, "default")
    api.create(SERVICES, service("good", ["10.96.0.41"]), "default")
    api.create(ENDPOINT_SLICES, endpoint_slice("good-1", "good", [endpoint("10.0.0.8")]), "default")
    settled(a, lambda: backends(a, "TCP 10.96.0.40 82") == {"10.0.0.7:8082"})
    assert backends(a, "TCP 10.96.0.41 80") == {"10.0.0.8:8080"}
    assert not any(k.endswith(" 81") or k.endswith(" 0") for k in translations(a))

    def reasons() -> set[str]:
        return {e["reason"] for e in api.items(EVENTS)}

    wait_until(lambda: {"InvalidPort", "UnsupportedProtocol", "InvalidAddress"} <= reasons())
    messages = [e["message"] for e in api.items(EVENTS)]
    assert "endpoints[0].addresses[1]: '10.0.0.999' is not an IP address" in messages
