"""A CNI AddRequest, checked field by field, becomes a PodInterface of the model.

Nothing here touches the node: the result is a value, plus the warnings
(settings that are valid but cannot be honoured, such as a tun on a node
without /dev/vhost-net) that the reply and the endpoint status carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from agent.cni import annotations as ann
from agent.cni.config import CniSettings
from agent.cni.errors import CniRequestError
from agent.cni.naming import check_namespace, check_pod_name, host_interface_name
from agent.cni.networksel import select_network
from agent.cni.validate import (
    check_ifname,
    check_netns,
    parse_gateway,
    parse_interface,
    parse_prefix,
)
from agent.model import (
    DEFAULT_NETWORK,
    ETHERNET_TYPES,
    ClusterModel,
    ExtraMemif,
    HostPort,
    InterfaceType,
    IPInterface,
    IPNetwork,
    L4Protocol,
    MemifMode,
    PodInterface,
    PodInterfaceKey,
    RxMode,
    ethernet_mac,
)
from agent.proto_gen.cnibackend_pb2 import AddRequest

DEFAULT_ROUTES: dict[int, IPNetwork] = {
    4: ipaddress.IPv4Network("0.0.0.0/0"),
    6: ipaddress.IPv6Network("::/0"),
}
MIN_MTU = {4: 576, 6: 1280}
MAX_MTU = 9216


@dataclass(frozen=True, slots=True)
class Translated:
    pod: PodInterface
    warnings: tuple[str, ...] = ()


class Translator:
    """Builds pod interfaces under one node's settings and capabilities."""

    def __init__(
        self,
        settings: CniSettings,
        vhost_net: bool,
        netns_check: Callable[[str, str], str] = check_netns,
    ) -> None:
        self.settings = settings
        self.vhost_net = vhost_net
        self.netns_check = netns_check  # (field, path) -> normalized path, or raises

    def pod_interface(self, req: AddRequest, model: ClusterModel) -> Translated:
        """Raises CniRequestError naming the first field that is wrong."""
        warnings: list[str] = []
        ifname = check_ifname("interface_name", req.interface_name)
        netns = self.netns_check("netns", req.netns)
        namespace = check_namespace("workload.namespace", req.workload.namespace)
        pod_name = check_pod_name("workload.pod", req.workload.pod)
        network = select_network(
            req.dataplane_options, req.workload.annotations, namespace, ifname, model
        )
        addresses = self._addresses(req)
        versions: set[int] = {a.version for a in addresses}
        routes = self._routes(req, versions, network, model)
        mtu = self._mtu(req.settings.mtu, versions)
        pod_ann = ann.parse(req.workload.annotations, self.settings)
        kind = self._kind(ifname, pod_ann, warnings)
        spec = pod_ann.spec_for(ifname)
        rx_queues = spec.rx_queues if spec else self.settings.default_rx_queues
        tx_queues = spec.tx_queues if spec else 1
        queue_size = spec.rx_queue_size if spec else self.settings.default_queue_size
        if spec is not None and spec.tx_queue_size != spec.rx_queue_size:
            warnings.append(
                f"{ifname}: txqsz {spec.tx_queue_size} differs from rxqsz {spec.rx_queue_size}; "
                f"both rings get {spec.rx_queue_size}"
            )
        if pod_ann.vcl:
            warnings.append(f"{ann.VCL}: the VPP host stack (VCL) is not offered by vppnet")
        if req.settings.allow_ip_forwarding:
            warnings.append("settings.allow_ip_forwarding: not applied by vppnet")
        key = PodInterfaceKey(namespace, pod_name, ifname)
        pod = PodInterface(
            key=key,
            container_id=netns,  # the request has no container id; the sandbox's netns is one
            netns=netns,
            host_interface_name=host_interface_name(
                namespace,
                pod_name,
                ifname,
                req.desired_host_interface_name,
                self.settings.host_interface_prefix,
            ),
            addresses=addresses,
            network=network,
            interface_type=kind,
            routes=routes,
            mtu=mtu,
            rx_queues=rx_queues,
            tx_queues=tx_queues,
            queue_size=queue_size,
            rx_mode=spec.rx_mode if spec and spec.rx_mode else RxMode.DEFAULT,
            extra_memifs=self._extra_memifs(ifname, kind, network, pod_ann, warnings),
            allowed_source_prefixes=pod_ann.allowed_source_prefixes,
            host_ports=self._host_ports(req),
            mac=ethernet_mac(key) if kind in ETHERNET_TYPES else None,
        )
        return Translated(pod, tuple(warnings))

    @staticmethod
    def _addresses(req: AddRequest) -> tuple[IPInterface, ...]:
        if not req.container_ips:
            raise CniRequestError("container_ips", "is empty: the interface needs an address")
        out: list[IPInterface] = []
        for i, ip in enumerate(req.container_ips):
            address = parse_interface(f"container_ips[{i}].address", ip.address)
            parse_gateway(f"container_ips[{i}].gateway", ip.gateway)
            if any(a.version == address.version for a in out):
                raise CniRequestError(
                    f"container_ips[{i}].address",
                    f"a second IPv{address.version} address ({address}); one per family",
                )
            out.append(address)
        return tuple(out)

    @staticmethod
    def _routes(
        req: AddRequest, versions: set[int], network: str, model: ClusterModel
    ) -> tuple[IPNetwork, ...]:
        """As asked; else what Calico installs: the default route, or for a secondary
        network (which has no default route in multinet) its range."""
        routes: list[IPNetwork] = []
        for i, text in enumerate(req.container_routes):
            route = parse_prefix(f"container_routes[{i}]", text)
            if route.version not in versions:
                raise CniRequestError(
                    f"container_routes[{i}]",
                    f"{route} is IPv{route.version} but the interface has no such address",
                )
            routes.append(route)
        if routes:
            return tuple(dict.fromkeys(routes))
        if network == DEFAULT_NETWORK:
            return tuple(DEFAULT_ROUTES[v] for v in sorted(versions))
        ranges = model.networks[network].ranges
        return tuple(r for r in ranges if r.version in versions)

    def _mtu(self, requested: int, versions: set[int]) -> int:
        if requested < 0:
            raise CniRequestError("settings.mtu", f"{requested} is negative")
        base = requested or self.settings.network_mtu
        mtu = base - self.settings.encap_overhead
        low = max(MIN_MTU[v] for v in versions)
        if not low <= mtu <= MAX_MTU:
            raise CniRequestError(
                "settings.mtu",
                f"pod MTU {mtu} ({base} minus {self.settings.encap_overhead} bytes of "
                f"encapsulation) is outside {low}..{MAX_MTU}",
            )
        return mtu

    def _kind(self, ifname: str, pod_ann: ann.PodAnnotations, warnings: list[str]) -> InterfaceType:
        """memif by name (calico-vpp's rule), else the annotation, else isl3, else config."""
        spec = pod_ann.spec_for(ifname)
        is_l3 = spec.is_l3 if spec else None
        asked = pod_ann.type_for(ifname)
        if ifname.startswith("memif"):
            if asked not in (None, InterfaceType.MEMIF):
                raise CniRequestError(
                    ann.INTERFACE_TYPE, f"{ifname} is a memif by its name, not a {asked}"
                )
            asked = InterfaceType.MEMIF
        kind = asked or self._by_l3(is_l3)
        if (kind, is_l3) in ((InterfaceType.TUN, False), (InterfaceType.TAP, True)):
            raise CniRequestError(
                ann.INTERFACES_SPEC,
                f"{ifname}: isl3={str(is_l3).lower()} contradicts {ann.INTERFACE_TYPE}={kind}",
            )
        if kind is InterfaceType.MEMIF:
            if not self.settings.memif_enabled:
                raise CniRequestError("interface_name", f"{ifname}: memif is disabled on this node")
            if is_l3 is False:
                warnings.append(f"{ifname}: memif pod interfaces are IP mode (L3); isl3 ignored")
        if kind is InterfaceType.VETH and is_l3:
            warnings.append(f"{ifname}: a veth is an Ethernet (L2) interface; isl3 ignored")
        if kind in (InterfaceType.TUN, InterfaceType.TAP) and not self.vhost_net:
            warnings.append(
                f"{ifname}: no /dev/vhost-net on this node, so no {kind}: "
                "using a veth pair attached to VPP with af_packet instead"
            )
            kind = InterfaceType.VETH
        return kind

    def _by_l3(self, is_l3: bool | None) -> InterfaceType:
        if is_l3 is None:
            return InterfaceType(self.settings.default_interface_type)
        return InterfaceType.TUN if is_l3 else InterfaceType.TAP

    def _extra_memifs(
        self,
        ifname: str,
        kind: InterfaceType,
        network: str,
        pod_ann: ann.PodAnnotations,
        warnings: list[str],
    ) -> tuple[ExtraMemif, ...]:
        """calico-vpp's port-steered memif: only beside a default-network kernel interface."""
        if network != DEFAULT_NETWORK or kind is InterfaceType.MEMIF:
            return ()
        if not pod_ann.extra_memif_ports:
            if pod_ann.extra_memif_spec is not None:
                warnings.append(
                    f"{ann.EXTRA_MEMIF_SPEC} has no effect without {ann.EXTRA_MEMIF_PORTS}"
                )
            return ()
        if not self.settings.memif_enabled:
            raise CniRequestError(ann.EXTRA_MEMIF_PORTS, "memif is disabled on this node")
        spec = pod_ann.extra_memif_spec
        return (
            ExtraMemif(
                name=f"extra-{ifname}",
                rx_queues=spec.rx_queues if spec else 1,
                tx_queues=spec.tx_queues if spec else 1,
                queue_size=spec.rx_queue_size if spec else self.settings.default_queue_size,
                mode=MemifMode.ETHERNET if spec and spec.is_l3 is False else MemifMode.IP,
                steered_ports=pod_ann.extra_memif_ports,
            ),
        )

    @staticmethod
    def _host_ports(req: AddRequest) -> tuple[HostPort, ...]:
        out: list[HostPort] = []
        for i, port in enumerate(req.workload.ports):
            if not port.host_port:
                continue
            where = f"workload.ports[{i}]"
            try:
                protocol = L4Protocol(port.protocol.upper() or "TCP")
            except ValueError:
                raise CniRequestError(
                    f"{where}.protocol", f"{port.protocol!r} is not TCP, UDP or SCTP"
                ) from None
            if not 1 <= port.port <= 65535:
                raise CniRequestError(f"{where}.port", f"{port.port} is not a port number")
            if port.host_port > 65535:
                raise CniRequestError(f"{where}.host_port", f"{port.host_port} is not a port")
            host_ip = parse_gateway(f"{where}.host_ip", port.host_ip)
            out.append(HostPort(protocol, port.port, port.host_port, host_ip))
        return tuple(out)
