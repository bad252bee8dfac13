"""The Kubernetes sources of a whole agent: objects into the model, VPP, and back to the API.

Everything goes through the real kubernetes client to the fake API server,
and into a simulated VPP through the real dataplane.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.model import IpPool, NadRef, PodInterface, PodInterfaceKey, PodRef
from agent.vpp import ip
from tests.integration.k8s_agents import Agent, LoopThread, start_agent, stop_agent
from tests.k8sfake import (
    CALICO_VPP_NETWORKS,
    ENDPOINT_SLICES,
    EVENTS,
    NADS,
    NODES,
    PODS,
    SERVICES,
    FakeKubeApi,
    StatusError,
    wait_until,
)
from tests.k8sfake import objects as o

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

    def agent(self, name: str = "a", **settings: Any) -> Agent:
        if not any(n["metadata"]["name"] == name for n in self.api.items(NODES)):
            self.api.create(NODES, o.node(name, ipv4=f"192.168.0.{len(self.agents) + 1}/24"))
        agent = start_agent(self.api, self.runner, self.tmp, name, **settings)
        self.agents.append(agent)
        return agent

    def network(self, name: str) -> Obj:
        return self.api.get(self.networks, name)

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        try:
            status = self.network(name).get("status", {})
        except StatusError:
            return None
        return next((c for c in status.get("conditions", []) if c["type"] == kind), None)

    def events(self, reason: str) -> list[Obj]:
        return [e for e in self.api.items(EVENTS) if e.get("reason") == reason]

    def close(self) -> None:
        for agent in self.agents:
            stop_agent(self.runner, agent)
        self.runner.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakeKubeApi(NADS, CALICO_VPP_NETWORKS, SERVICES, ENDPOINT_SLICES) as api:
        e = Env(api, tmp_path)
        try:
            yield e
        finally:
            e.close()


def pod(name: str, address: str, network: str) -> PodInterface:
    return PodInterface(
        key=PodInterfaceKey("default", name, "net1"),
        container_id=f"c-{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"vpp-{name}",
        addresses=(IF(address),),
        network=network,
    )


def tables(agent: Agent) -> set[int]:
    return {t.table_id for t in agent.conn.dump(ip.dump_tables())}


def test_networks_nads_nodes_and_pods_appear_in_the_model(env: Env) -> None:
    api = env.api
    api.create(
        NODES,
        o.node(
            "b",
            internal_ip="10.0.0.2",
            annotations={
                "projectcalico.org/ASNumber": "64512",
                "vppnet.io/network-prefixes": '{"blue": ["172.19.2.0/26"]}',
            },
        ),
    )
    api.create(env.networks, o.network("blue", 56, "172.19.0.0/16", "fd19::/64", vrfTableId=1056))
    api.create(CALICO_VPP_NETWORKS, o.calico_vpp_network("red", 88, "172.21.0.0/16"), "infra")
    api.create(NADS, o.nad("blue-conf", "blue"))
    api.create(NADS, o.nad("blue-too", "blue"), "team")
    api.create(NADS, o.nad("macvlan", None))
    api.create(PODS, o.pod("web", "a", annotations={"k8s.v1.cni.cncf.io/networks": "blue-conf"}))
    api.create(PODS, o.pod("elsewhere", "b"))
    a = env.agent("a")
    model = wait_until(lambda: (m := a.state.model).networks.keys() == {"blue", "red"} and m)
    blue, red = model.networks["blue"], model.networks["red"]
    assert (blue.vni, blue.ranges, blue.vrf_table_id) == (
        56,
        (NET("172.19.0.0/16"), NET("fd19::/64")),
        1056,
    )
    assert blue.attachments == (NadRef("default", "blue-conf"), NadRef("team", "blue-too"))
    assert (red.vni, red.ranges, red.attachments) == (88, (NET("172.21.0.0/16"),), ())
    node_b = model.nodes["b"]
    assert node_b.addresses == (IF("10.0.0.2/32"),) and node_b.asn == 64512
    assert node_b.blocks("blue") == (NET("172.19.2.0/26"),)
    assert model.nodes["a"].addresses == (IF("192.168.0.1/24"),)
    assert set(model.pods) == {PodRef("default", "web")}
    assert model.pods[PodRef("default", "web")].annotations == {
        "k8s.v1.cni.cncf.io/networks": "blue-conf"
    }
    a.settle()
    assert {1056, 88} <= tables(a)  # both networks got their VRFs in VPP
    api.patch(PODS, "web", {"metadata": {"annotations": {"x": "1"}}}, "default")
    wait_until(lambda: a.state.model.pods[PodRef("default", "web")].annotations.get("x") == "1")
    api.delete(PODS, "web", "default")
    wait_until(lambda: not a.state.model.pods)


def test_vppnet_networks_take_precedence_over_calico_vpp_ones(env: Env) -> None:
    env.api.create(CALICO_VPP_NETWORKS, o.calico_vpp_network("blue", 88, "172.21.0.0/16"))
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    a = env.agent()
    wait_until(lambda: a.state.model.networks.get("blue") is not None)
    assert a.state.model.networks["blue"].vni == 56
    event = wait_until(lambda: env.events("Shadowed"))[0]
    assert event["involvedObject"]["kind"] == "Network" and "networks.vppnet.io" in event["message"]
    env.api.delete(env.networks, "blue")  # no pod uses it: the finalizer lets go at once
    wait_until(lambda: a.state.model.networks["blue"].vni == 88)


def test_the_crd_schema_refuses_what_it_can(env: Env) -> None:
    for spec in (
        {"vni": 0, "ipv4Range": "172.19.0.0/16"},
        {"vni": 16777216, "ipv4Range": "172.19.0.0/16"},
        {"vni": 5, "ipv4Range": "fd00::/64"},
        {"vni": 5, "ipv4Range": "not-a-cidr"},
        {"vni": 5},
        {"vni": 5, "ipv4Range": "172.19.0.0/16", "type": "GENEVE"},
        {"vni": 5, "ipv4Range": "172.19.0.0/16", "physicalNetworkName": "sriov"},
    ):
        with pytest.raises(StatusError) as refused:
            env.api.create(env.networks, {"metadata": {"name": "x"}, "spec": spec})
        assert refused.value.code == 422, spec


def test_invalid_networks_are_marked_and_program_nothing(env: Env) -> None:
    api = env.api
    api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    api.create(env.networks, o.network("copy", 56, "172.30.0.0/16", vrfTableId=999))
    api.create(
        env.networks, o.network("sloppy", 57, "172.31.0.1/16")
    )  # host bits: schema lets it in
    a = env.agent()
    a.put_pod(pod("c1", "172.30.0.5/32", "copy"))
    invalid = wait_until(lambda: env.condition("copy", "Invalid"))
    assert (invalid["status"], invalid["reason"]) == ("True", "DuplicateVNI")
    assert "already used by network 'blue'" in invalid["message"]
    assert env.condition("copy", "Ready")["status"] == "False"  # type: ignore[index]
    sloppy = wait_until(lambda: env.condition("sloppy", "Invalid"))
    assert sloppy["reason"] == "BadCIDR" and "host bits" in sloppy["message"]
    ready = env.condition("blue", "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("True", "Accepted")
    a.settle()
    assert 56 in tables(a) and 999 not in tables(a) and 57 not in tables(a)
    assert not any("copy" in key for key in a.dataplane.desired)  # not even its pod
    assert [e["reason"] for e in env.events("DuplicateVNI")] == ["DuplicateVNI"]
    # a pool of the default network overlapping blue, as Felix would report it
    a.state.replace_fields("pool", pools={"p": IpPool("p", NET("172.19.0.0/24"), 26)})
    wait_until(lambda: (c := env.condition("blue", "Invalid")) and c["reason"] == "RangeOverlap")
    a.settle()
    assert 56 not in tables(a)
    a.state.replace_fields("pool", pools={})
    wait_until(lambda: (c := env.condition("blue", "Ready")) and c["status"] == "True")
    a.settle()
    assert 56 in tables(a)


def test_a_nad_naming_an_unknown_network_gets_one_event_from_all_agents(env: Env) -> None:
    env.api.create(NADS, o.nad("ghost-conf", "ghost"))
    env.api.create(NADS, {"metadata": {"name": "broken"}, "spec": {"config": "{nope"}})
    env.agent("a")
    env.agent("b")
    for agent in env.agents:
        agent.settle()
    unknown = wait_until(lambda: env.events("UnknownNetwork"))
    assert len(unknown) == 1
    assert unknown[0]["involvedObject"]["name"] == "ghost-conf"
    assert "'ghost'" in unknown[0]["message"]
    assert [e["involvedObject"]["name"] for e in env.events("InvalidConfig")] == ["broken"]
    env.api.create(env.networks, o.network("ghost", 77, "172.22.0.0/16"))
    for agent in env.agents:
        wait_until(lambda ag=agent: "ghost" in ag.state.model.networks)  # type: ignore[misc]
        agent.settle()
    assert len(env.events("UnknownNetwork")) == 1


def test_deleting_a_network_in_use_is_refused_until_its_pods_are_gone(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    a = env.agent()
    wait_until(lambda: env.network("blue")["metadata"].get("finalizers"))
    a.put_pod(pod("p1", "172.19.1.4/32", "blue"))
    wait_until(lambda: env.network("blue").get("status", {}).get("podInterfaces") == {"a": 1})
    env.api.delete(env.networks, "blue")
    ready = wait_until(
        lambda: (c := env.condition("blue", "Ready")) and c["reason"] == "DeletionBlocked" and c
    )
    assert (
        ready["status"] == "True" and "1 pod interface(s) still attached: a (1)" in ready["message"]
    )
    assert a.state.model.networks["blue"].terminating
    a.settle()
    assert 56 in tables(a)  # still programmed
    assert "interface pod/default/p1/net1" in a.dataplane.desired
    a.remove_pod(PodInterfaceKey("default", "p1", "net1"))
    wait_until(lambda: not env.api.items(env.networks))
    wait_until(lambda: "blue" not in a.state.model.networks)
    a.settle()
    assert 56 not in tables(a)


def test_a_network_gone_from_the_api_is_kept_while_local_pods_use_it(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    a = env.agent(write_status=False)  # no finalizer: the object goes at once
    wait_until(lambda: "blue" in a.state.model.networks)
    a.put_pod(pod("p1", "172.19.1.4/32", "blue"))
    env.api.delete(env.networks, "blue")
    wait_until(lambda: a.state.model.networks["blue"].terminating)
    a.settle()
    assert 56 in tables(a)
    a.remove_pod(PodInterfaceKey("default", "p1", "net1"))
    wait_until(lambda: "blue" not in a.state.model.networks)
    a.settle()
    assert 56 not in tables(a)


def test_local_pod_prefixes_are_announced_on_the_node(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16", "fd19::/64"))
    a = env.agent()
    wait_until(lambda: "blue" in a.state.model.networks)
    a.put_pod(pod("p1", "172.19.1.4/32", "blue"))
    a.put_pod(pod("p2", "172.19.1.5/32", "blue"))
    a.put_pod(pod("p3", "fd19::9/128", "blue"))

    def announced() -> Any:
        notes = env.api.get(NODES, "a")["metadata"].get("annotations", {})
        return notes.get("vppnet.io/network-prefixes")

    # the announcement follows the pods (debounced): wait for the last one, not the first
    expected = {"blue": ["172.19.1.4/31", "fd19::9/128"]}
    wait_until(lambda: announced() is not None and json.loads(announced()) == expected)
    for name in ("p1", "p2", "p3"):
        a.remove_pod(PodInterfaceKey("default", name, "net1"))
    wait_until(lambda: announced() is None)


def test_disconnects_and_expired_versions_converge(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    env.api.create(NADS, o.nad("blue-conf", "blue"))
    a = env.agent()
    wait_until(lambda: "blue" in a.state.model.networks)
    wait_until(lambda: env.api.open_watches == len(a.sources.watches))
    env.api.fail_next("GET", "watch=", code=503, times=1000)
    env.api.drop_watches()
    env.api.create(env.networks, o.network("red", 88, "172.21.0.0/16"))
    env.api.delete(NADS, "blue-conf", "default")
    env.api.create(NODES, o.node("b", ipv4="192.168.0.9/24"))
    env.api.compact()
    env.api.clear_failures()
    wait_until(lambda: a.state.model.networks.keys() == {"blue", "red"})
    wait_until(lambda: a.state.model.networks["blue"].attachments == ())
    wait_until(lambda: "b" in a.state.model.nodes)
    wait_until(lambda: all(w.lists >= 2 for w in a.sources.watches if w.served))
    a.settle()
    assert {56, 88} <= tables(a)


def test_a_spec_change_is_observed_in_the_status(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    a = env.agent()
    wait_until(lambda: env.network("blue").get("status", {}).get("observedGeneration") == 1)
    env.api.patch(env.networks, "blue", {"spec": {"vni": 58}})
    wait_until(lambda: env.network("blue").get("status", {}).get("observedGeneration") == 2)
    ready = env.condition("blue", "Ready")
    assert ready is not None and ready["message"] == "VNI 58, VRF table 58"
    a.settle()
    assert 58 in tables(a) and 56 not in tables(a)


def test_nothing_is_written_when_nothing_changes(env: Env) -> None:
    env.api.create(env.networks, o.network("blue", 56, "172.19.0.0/16"))
    a = env.agent()
    wait_until(lambda: env.condition("blue", "Ready"))
    a.settle()
    writes = len([r for r in env.api.requests if r[0] in ("PATCH", "POST")])
    a.sources.housekeeper.trigger()
    a.sources.converger.trigger()
    a.settle()
    assert len([r for r in env.api.requests if r[0] in ("PATCH", "POST")]) == writes
