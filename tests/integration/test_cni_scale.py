"""Many pods at once, and a restart of the agent that must not touch VPP."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from pyroute2 import netns as pyroute2_netns

from agent.cni import AsyncCniClient, add_request
from agent.model import PodInterfaceKey
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply
from agent.vpp import af_packet, tap
from tests.integration.cni_fixtures import (
    LOOPBACK0,
    CniEnv,
    NetnsFactory,
    cni,
    cni_no_vhost,
    links,
    pod_netns,
    routes,
)

__all__ = ["cni", "cni_no_vhost", "pod_netns"]

pytestmark = pytest.mark.root
PODS = 50


def requests(namespaces: list[str]) -> list[AddRequest]:
    return [
        add_request(
            netns=ns,
            namespace="demo",
            pod=f"pod-{i}",
            addresses=[str(ipaddress.ip_address("10.244.1.0") + i + 1) + "/32"],
        )
        for i, ns in enumerate(namespaces)
    ]


def add_all(env: CniEnv, reqs: list[AddRequest]) -> list[AddReply]:
    async def go() -> list[AddReply]:
        async with AsyncCniClient(env.settings.socket) as client:
            return list(await asyncio.gather(*(client.add(r) for r in reqs)))

    return asyncio.run(go())


def delete_all(env: CniEnv, namespaces: list[str]) -> list[DelReply]:
    async def go() -> list[DelReply]:
        async with AsyncCniClient(env.settings.socket) as client:
            return list(await asyncio.gather(*(client.delete(ns) for ns in namespaces)))

    return asyncio.run(go())


def test_fifty_pods_in_parallel(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    namespaces = [pod_netns() for _ in range(PODS)]
    replies = add_all(cni, requests(namespaces))
    assert [r.error_message for r in replies if not r.successful] == []
    assert len({r.host_interface_name for r in replies}) == PODS
    assert len(cni.conn.dump(tap.dump())) == PODS and len(cni.owned_tags() - {LOOPBACK0}) == PODS
    for ns in namespaces:
        assert links(ns)["eth0"].kind == "tun"
        assert routes(ns) == {("0.0.0.0/0", None, "eth0")}
    assert len(cni.server.backend.store.records) == PODS
    assert all(r.successful for r in delete_all(cni, namespaces))
    assert cni.owned_tags() == set() and cni.state.model.pod_interfaces == {}
    assert all(set(links(ns)) == {"lo"} for ns in namespaces)


def test_fifty_veth_pods_in_parallel(cni_no_vhost: CniEnv, pod_netns: NetnsFactory) -> None:
    """Each pair must exist before any converge can see its pod (they batch)."""
    namespaces = [pod_netns() for _ in range(PODS)]
    mutations = cni_no_vhost.sim.mutations
    replies = add_all(cni_no_vhost, requests(namespaces))
    assert [r.error_message for r in replies if not r.successful] == []
    assert len(cni_no_vhost.conn.dump(af_packet.dump())) == PODS
    assert cni_no_vhost.sim.calls["af_packet_create_v3"] == PODS  # none failed and retried
    assert cni_no_vhost.sim.mutations > mutations
    assert all(r.successful for r in delete_all(cni_no_vhost, namespaces))
    assert cni_no_vhost.conn.dump(af_packet.dump()) == []


def test_restart_with_fifty_pods_makes_no_vpp_mutation(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    namespaces = [pod_netns() for _ in range(PODS)]
    reqs = requests(namespaces)
    assert all(r.successful for r in add_all(cni, reqs))
    model_before = cni.state.model
    mutations = cni.sim.mutations
    cni.restart()
    assert sorted(cni.restored.loaded) == sorted(model_before.pod_interfaces)
    assert cni.restored.dropped == []
    assert cni.state.model.pod_interfaces == model_before.pod_interfaces
    assert cni.sim.mutations == mutations  # restored from the state file, nothing to redo
    assert cni.client.add(reqs[7]).successful  # a repeated ADD after the restart: a no-op
    assert cni.sim.mutations == mutations
    assert all(r.successful for r in delete_all(cni, namespaces))
    assert cni.owned_tags() == set()


def test_pods_whose_netns_vanished_are_dropped_at_restart(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    namespaces = [pod_netns() for _ in range(3)]
    assert all(r.successful for r in add_all(cni, requests(namespaces)))
    cni.stop()
    pyroute2_netns.remove(namespaces[1].rsplit("/", 1)[1])
    cni.start()
    gone = PodInterfaceKey("demo", "pod-1", "eth0")
    assert cni.restored.dropped == [gone]
    assert gone not in cni.state.model.pod_interfaces
    assert cni.owned_tags() == {
        "vppnet:pod/demo/pod-0/eth0",
        "vppnet:pod/demo/pod-2/eth0",
        LOOPBACK0,
    }
    assert gone not in cni.server.backend.store.records
    assert cni.client.delete(namespaces[1]).successful  # the runtime's late DEL: unknown, fine


def test_prune_removes_pods_whose_netns_vanished_while_running(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    namespaces = [pod_netns() for _ in range(2)]
    assert all(r.successful for r in add_all(cni, requests(namespaces)))
    pyroute2_netns.remove(namespaces[0].rsplit("/", 1)[1])
    pruned = cni.thread.run(cni.server.backend.prune())
    assert pruned == [PodInterfaceKey("demo", "pod-0", "eth0")]
    assert cni.owned_tags() == {"vppnet:pod/demo/pod-1/eth0", LOOPBACK0}
