"""Test harness: nodes running the whole agent *with* its CNI server, and Multus in front.

A :class:`NodeSide` is one node: a simulator making real tun/tap devices, the
VPP connection, model store, dataplane, the Kubernetes sources on a shared
fake API server, and the CNI gRPC server on its own socket. :class:`Multus`
plays Multus and Calico's CNI plug-in for a pod sandbox: it reads the pod and
its NADs from the API, calls the node's CNI server once per interface as
Multus does (``eth0`` for the cluster default network, then each attachment
in annotation order, ``net<N>`` unless the pod names the interface), with the
request Calico's plug-in builds (the NAD's ``dataplane_options`` strings, the
pod's annotations, addresses from a small IPAM), undoes the sandbox on a
failure as Multus does, and writes ``k8s.v1.cni.cncf.io/network-status``
from the CNI results, as Multus does (the agent writes nothing to the pod).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plugins
from agent.cni import CniClient, CniServer, CniSettings, ServerThread, load_persisted
from agent.cni.multus import NETWORKS, attachments
from agent.dataplane import Dataplane
from agent.k8s import K8sSettings, KubernetesSources
from agent.model import ClusterModel, IPAddress
from agent.proto_gen.cnibackend_pb2 import (
    AddReply,
    AddRequest,
    ContainerSettings,
    IPConfig,
    WorkloadIDs,
)
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces
from agent.vppsim import Simulator
from tests.integration.k8s_agents import FAST, LoopThread
from tests.integration.multinet_reach import Endpoint, NodeDump, dump_node
from tests.k8sfake import NADS, PODS, FakeKubeApi

NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"
DEFAULT_CNI_NETWORK = "k8s-pod-network"  # the name of Calico's default CNI network config
DEFAULT_OPTIONS = {"type": "grpc", "socket": "unix:///var/run/calico/cni-server.sock"}


def nad(name: str, network: str, cidr: str, namespace: str = "default") -> dict[str, Any]:
    """A NAD as calico-vpp's docs write them: Calico with gRPC dataplane options."""
    plugin = {
        "type": "calico",
        "datastore_type": "kubernetes",
        "mtu": 0,
        "ipam": {"type": "whereabouts", "range": cidr},
        "dataplane_options": {**DEFAULT_OPTIONS, "network_name": network},
    }
    config = {"cniVersion": "0.3.1", "name": name, "plugins": [plugin]}
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"config": json.dumps(config)},
    }


@dataclass
class NodeSide:
    name: str
    underlay: frozenset[IPAddress]
    pod_cidr: str
    sim: Simulator
    conn: VppConnection
    state: ClusterState
    dataplane: Dataplane
    sources: KubernetesSources
    server: ServerThread
    client: CniClient

    def settle(self, timeout: float = 10.0) -> None:
        assert self.sources.converger.wait_idle(timeout)
        assert self.sources.housekeeper.wait_idle(timeout)

    def dump(self) -> NodeDump:
        return dump_node(self.name, self.underlay, self.conn, self.sim)

    def sw_if_index(self, pod: str, interface: str, namespace: str = "default") -> int:
        tag = f"vppnet:pod/{namespace}/{pod}/{interface}"
        return next(i.sw_if_index for i in self.conn.dump(interfaces.dump()) if i.tag == tag)

    def endpoint(self, pod: str, interface: str, address: IPAddress) -> Endpoint:
        return Endpoint(self.name, self.sw_if_index(pod, interface), address)


def start_node(
    api: FakeKubeApi, runner: LoopThread, tmp: Path, name: str, underlay: str, pod_cidr: str
) -> NodeSide:
    sim = Simulator(tmp / f"{name}-vpp.sock", devices="real")
    sim.start()
    conn = VppConnection(tmp / f"{name}-vpp.sock", timeout=5.0)
    conn.connect(check=REQUIRED_MESSAGES)
    state = ClusterState(ClusterModel.build(name))
    dataplane = Dataplane(state, Reconciler(conn, tmp / f"{name}-index.json"), plugins.render)
    own: dict[str, Any] = {"node_pod_cidrs": True}  # default-network blocks from podCIDRs
    config = K8sSettings(node_name=name, **{**FAST, **own})
    sources = KubernetesSources(state, dataplane, config, api.api_client())
    runner.run(sources.start())
    assert runner.run(sources.wait_synced(10))
    settings = CniSettings(
        socket=str(tmp / f"{name}-cni.sock"), state_file=str(tmp / f"{name}.json")
    )
    restored = load_persisted(state, settings)
    server = ServerThread(
        CniServer(state, dataplane, settings, vhost_net=True, store=restored.store)
    )
    server.start()
    return NodeSide(
        name,
        frozenset({ipaddress.ip_address(underlay)}),
        pod_cidr,
        sim,
        conn,
        state,
        dataplane,
        sources,
        server,
        CniClient(settings.socket),
    )


def stop_node(runner: LoopThread, node: NodeSide) -> None:
    node.client.close()
    node.server.stop()
    runner.run(node.sources.stop())
    node.conn.close()
    node.sim.stop()


@dataclass
class Ipam:
    """Host addresses from a range, in order (whereabouts' job, and Calico IPAM's)."""

    taken: dict[str, Iterator[ipaddress.IPv4Address]] = field(default_factory=dict)

    def next(self, cidr: str) -> str:
        hosts = self.taken.setdefault(cidr, ipaddress.IPv4Network(cidr).hosts())
        return f"{next(hosts)}/32"


@dataclass(frozen=True)
class Sandbox:
    """What Multus got back for one pod: per interface, the request and the reply."""

    ok: bool
    results: tuple[tuple[AddRequest, AddReply], ...]
    error: str = ""

    def reply(self, interface: str) -> AddReply:
        return next(rep for req, rep in self.results if req.interface_name == interface)

    def address(self, interface: str) -> IPAddress:
        req = next(req for req, _ in self.results if req.interface_name == interface)
        return ipaddress.ip_interface(req.container_ips[0].address).ip


class Multus:
    def __init__(self, api: FakeKubeApi) -> None:
        self.api = api
        self.ipam = Ipam()

    def add(self, node: NodeSide, pod: str, netns: str, namespace: str = "default") -> Sandbox:
        """The CNI ADDs of one pod sandbox; on a failure the ones made are DELeted, last first."""
        obj = self.api.get(PODS, pod, namespace)
        annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
        calls = [("eth0", DEFAULT_OPTIONS, node.pod_cidr, DEFAULT_CNI_NETWORK)]
        for attachment in attachments(annotations, namespace):
            options, cidr = self._delegate(attachment.nad.namespace, attachment.nad.name)
            calls.append((attachment.interface, options, cidr, str(attachment.nad)))
        done: list[tuple[AddRequest, AddReply]] = []
        statuses = []
        for ifname, options, cidr, status_name in calls:
            request = self._request(obj, netns, ifname, options, self.ipam.next(cidr))
            reply = node.client.add(request)
            if not reply.successful:
                for made, _ in reversed(done):
                    assert node.client.delete(netns, made.interface_name).successful
                return Sandbox(False, (*done, (request, reply)), reply.error_message)
            done.append((request, reply))
            statuses.append(_status(status_name, request, reply))
        self.api.patch(
            PODS,
            pod,
            {"metadata": {"annotations": {NETWORK_STATUS: json.dumps(statuses)}}},
            namespace,
        )
        return Sandbox(True, tuple(done))

    def _delegate(self, namespace: str, name: str) -> tuple[dict[str, str], str]:
        """The string dataplane_options of the NAD's calico plugin (all Calico's plug-in
        passes on) and its IPAM range."""
        config = json.loads(self.api.get(NADS, name, namespace)["spec"]["config"])
        (plugin,) = [p for p in config["plugins"] if p["type"] == "calico"]
        options = {k: v for k, v in plugin["dataplane_options"].items() if isinstance(v, str)}
        return options, plugin["ipam"]["range"]

    @staticmethod
    def _request(
        pod: dict[str, Any], netns: str, ifname: str, options: dict[str, str], address: str
    ) -> AddRequest:
        meta = pod["metadata"]
        seed = f"{meta['namespace']}.{meta['name']}".encode()
        return AddRequest(
            interface_name=ifname,
            netns=netns,
            desired_host_interface_name="cali" + hashlib.sha1(seed).hexdigest()[:11],
            settings=ContainerSettings(mtu=0),
            container_ips=[IPConfig(address=address, gateway="<nil>")],
            workload=WorkloadIDs(
                name=f"{pod['spec']['nodeName']}-k8s-{meta['name']}-{ifname}",
                namespace=meta["namespace"],
                pod=meta["name"],
                endpoint=ifname,
                node=pod["spec"]["nodeName"],
                orchestrator="k8s",
                labels=meta.get("labels") or {},
                annotations=meta.get("annotations") or {},
            ),
            dataplane_options=options,
        )


def _status(name: str, request: AddRequest, reply: AddReply) -> dict[str, Any]:
    """A network-status entry as Multus builds it from a delegate's CNI result."""
    entry: dict[str, Any] = {
        "name": name,
        "interface": request.interface_name,
        "ips": [str(ipaddress.ip_interface(c.address).ip) for c in request.container_ips],
        "mac": reply.container_mac,
    }
    if name == DEFAULT_CNI_NETWORK:
        entry["default"] = True
    return entry


def network_status(api: FakeKubeApi, pod: str, namespace: str = "default") -> list[dict[str, Any]]:
    notes = api.get(PODS, pod, namespace)["metadata"].get("annotations") or {}
    status: list[dict[str, Any]] = json.loads(notes.get(NETWORK_STATUS, "[]"))
    return status


__all__ = [
    "NETWORKS",
    "NETWORK_STATUS",
    "Multus",
    "NodeSide",
    "Sandbox",
    "nad",
    "network_status",
    "start_node",
    "stop_node",
]
