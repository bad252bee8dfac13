"""A typed client of the CNI gRPC dataplane, speaking exactly what Calico's plugin sends.

Used by the tests, the benchmark and the demo to add pods through the real
wire path. :func:`request_for` turns a model PodInterface (a scenario pod)
into the AddRequest Calico's plugin would send for it, annotations included,
so the demo's sample pods go through the same validation as real ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import grpc

from agent.cni import annotations as ann
from agent.cni.networksel import NETWORK_OPTION
from agent.model import DEFAULT_NETWORK, InterfaceType, MemifMode, PodInterface, RxMode
from agent.proto_gen.cnibackend_pb2 import (
    AddReply,
    AddRequest,
    ContainerSettings,
    DelReply,
    DelRequest,
    IPConfig,
    Port,
    WorkloadIDs,
)
from agent.proto_gen.cnibackend_pb2_grpc import CniDataplaneStub

CALL_TIMEOUT = 5.0  # Calico's plugin gives every call 5 seconds


def target(socket: str) -> str:
    """The gRPC target of a unix socket path (``unix:///var/run/...``)."""
    return socket if socket.startswith("unix:") else f"unix://{socket}"


def add_request(
    *,
    netns: str,
    namespace: str,
    pod: str,
    addresses: Sequence[str],
    interface: str = "eth0",
    routes: Sequence[str] = (),
    mtu: int = 0,
    annotations: Mapping[str, str] | None = None,
    network: str = DEFAULT_NETWORK,
    desired_host_interface_name: str = "",
    ports: Iterable[Port] = (),
) -> AddRequest:
    """An AddRequest as Calico's plugin builds it (gateway ``<nil>``, ``type``/``socket``
    among the dataplane options, the WEP-style workload name)."""
    options = {"type": "grpc", "socket": "unix:///var/run/calico/cni-server.sock"}
    if network:
        options[NETWORK_OPTION] = network
    return AddRequest(
        interface_name=interface,
        netns=netns,
        desired_host_interface_name=desired_host_interface_name,
        settings=ContainerSettings(mtu=mtu),
        container_ips=[IPConfig(address=a, gateway="<nil>") for a in addresses],
        container_routes=list(routes),
        workload=WorkloadIDs(
            name=f"node-k8s-{pod}-{interface}",
            namespace=namespace,
            pod=pod,
            endpoint=interface,
            orchestrator="k8s",
            annotations=dict(annotations or {}),
            ports=list(ports),
        ),
        dataplane_options=options,
    )


def request_for(pod: PodInterface, *, encap_overhead: int) -> AddRequest:
    """The ADD Calico would send for ``pod`` (settings carried by annotations).

    ``encap_overhead`` is the server's, so the pod ends up with ``pod.mtu``.
    Raises ValueError for what the CNI cannot express (more than one extra memif).
    """
    name = pod.key.interface
    annotations: dict[str, str] = {ann.INTERFACE_TYPE: f"{name}={pod.interface_type}"}
    spec: dict[str, Any] = {
        "rx": pod.rx_queues,
        "tx": pod.tx_queues,
        "rxqsz": pod.queue_size,
        "txqsz": pod.queue_size,
    }
    if pod.rx_mode is not RxMode.DEFAULT:
        spec["rxMode"] = str(pod.rx_mode)
    if pod.interface_type in (InterfaceType.TUN, InterfaceType.TAP):
        spec["isl3"] = pod.interface_type is InterfaceType.TUN
    annotations[ann.INTERFACES_SPEC] = json.dumps({name: spec})
    if len(pod.extra_memifs) > 1:
        raise ValueError(f"{pod.key}: the CNI annotations express one extra memif, not several")
    for extra in pod.extra_memifs:
        annotations[ann.EXTRA_MEMIF_PORTS] = ",".join(
            f"{s.protocol.lower()}:{s.ports.first}-{s.ports.last}" for s in extra.steered_ports
        )
        annotations[ann.EXTRA_MEMIF_SPEC] = json.dumps(
            {
                "rx": extra.rx_queues,
                "tx": extra.tx_queues,
                "rxqsz": extra.queue_size,
                "isl3": extra.mode is MemifMode.IP,
            }
        )
    if pod.allowed_source_prefixes:
        annotations[ann.ALLOWED_SOURCE_PREFIXES] = json.dumps(
            [str(p) for p in pod.allowed_source_prefixes]
        )
    return add_request(
        netns=pod.netns,
        namespace=pod.key.namespace,
        pod=pod.key.pod,
        interface=name,
        addresses=[str(a) for a in pod.addresses],
        routes=[str(r) for r in pod.routes],
        mtu=pod.mtu + encap_overhead,
        annotations=annotations,
        network=pod.network,
        desired_host_interface_name=pod.host_interface_name if name == "eth0" else "",
        ports=[
            Port(
                protocol=str(p.protocol),
                port=p.container_port,
                host_port=p.host_port,
                host_ip=str(p.host_ip) if p.host_ip is not None else "",
            )
            for p in pod.host_ports
        ],
    )


class CniClient:
    """Blocking client (the demo, threads); one channel, reused."""

    def __init__(self, socket: str, timeout: float = CALL_TIMEOUT) -> None:
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target(socket))
        self._stub = CniDataplaneStub(self._channel)

    def add(self, request: AddRequest) -> AddReply:
        reply: AddReply = self._stub.Add(request, timeout=self.timeout)
        return reply

    def delete(self, netns: str, interface: str = "eth0") -> DelReply:
        request = DelRequest(interface_name=interface, netns=netns)
        reply: DelReply = self._stub.Del(request, timeout=self.timeout)
        return reply

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> CniClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncCniClient:
    """asyncio client: many ADDs in flight at once, as a busy kubelet makes them."""

    def __init__(self, socket: str, timeout: float = CALL_TIMEOUT) -> None:
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(target(socket))
        self._stub = CniDataplaneStub(self._channel)

    async def add(self, request: AddRequest) -> AddReply:
        return await self._stub.Add(request, timeout=self.timeout)

    async def delete(self, netns: str, interface: str = "eth0") -> DelReply:
        request = DelRequest(interface_name=interface, netns=netns)
        return await self._stub.Del(request, timeout=self.timeout)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncCniClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def add_pods(
    socket: str, pods: Iterable[PodInterface], *, encap_overhead: int
) -> list[tuple[PodInterface, AddReply]]:
    """ADD each pod interface through the server at ``socket`` (the demo's path)."""
    with CniClient(socket) as client:
        return [(pod, client.add(request_for(pod, encap_overhead=encap_overhead))) for pod in pods]
