"""Felix's endpoints, IP sets, pools, routes, VTEPs and hosts -> cluster model entities.

Like :mod:`agent.felix.convert_policy`, each function validates and raises
:class:`ConversionError` naming the object and field. Felix's own spellings
are accepted as they come: pool modes both as the API writes them
(``CrossSubnet``) and as Felix's data model does (``cross-subnet``), host
addresses with or without a prefix length.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterable
from ipaddress import IPv4Interface, ip_address, ip_interface, ip_network
from typing import Final

from agent.felix import convert_policy
from agent.felix.convert_policy import ConversionError, assignment, networks
from agent.model import (
    K8S_ORCHESTRATOR,
    CalicoRoute,
    EncapMode,
    FloatingIp,
    HostEndpoint,
    IPAddress,
    IPInterface,
    IpPool,
    IpPortMember,
    IpSet,
    IpSetMember,
    IpSetType,
    L4Protocol,
    PodInterfaceKey,
    PoolEncap,
    RouteType,
    VxlanTunnelEndpoint,
    WorkloadEndpoint,
)
from agent.proto_gen import felixbackend_pb2 as pb

DEFAULT_BLOCK_SIZE: Final = {4: 26, 6: 122}
"""Felix does not send a pool's block size; these are Calico's defaults."""

_IPSET_TYPES: Final = {
    pb.IPSetUpdate.IP: IpSetType.IP,
    pb.IPSetUpdate.IP_AND_PORT: IpSetType.IP_AND_PORT,
    pb.IPSetUpdate.NET: IpSetType.NET,
}
_ENCAP_MODES: Final = {
    "": EncapMode.NEVER,
    "never": EncapMode.NEVER,
    "always": EncapMode.ALWAYS,
    "crosssubnet": EncapMode.CROSS_SUBNET,
}


def describe_endpoint(wid: pb.WorkloadEndpointID) -> str:
    return f"workload endpoint {wid.orchestrator_id}/{wid.workload_id}/{wid.endpoint_id}"


def pod_key(wid: pb.WorkloadEndpointID) -> PodInterfaceKey | None:
    """The pod interface a Kubernetes endpoint belongs to; None for other orchestrators.

    Kubernetes workload ids are ``<namespace>/<pod>``, the same triple the CNI
    request carries (orchestrator, namespace/pod, interface).
    """
    if wid.orchestrator_id != K8S_ORCHESTRATOR:
        return None
    namespace, _, pod = wid.workload_id.partition("/")
    if not namespace or not pod or not wid.endpoint_id:
        return None
    return PodInterfaceKey(namespace, pod, wid.endpoint_id)


@functools.lru_cache(maxsize=1 << 16)
def _interface(text: str) -> IPInterface:
    address, slash, length = text.partition("/")
    if slash and ":" not in address and length.isdigit():
        # The common case (a pod's x.y.z.w/32) without ipaddress's string parser,
        # which costs twice as much; inet_pton is as strict as ip_interface.
        try:
            packed = socket.inet_pton(socket.AF_INET, address)
        except OSError:
            raise ValueError(f"invalid IPv4 address {address!r}") from None
        return IPv4Interface((int.from_bytes(packed, "big"), int(length)))
    return ip_interface(text)


def clear_caches() -> None:
    """Forget parsed values (benchmarks start cold; nothing else needs this)."""
    _interface.cache_clear()
    ip_set_member.cache_clear()
    convert_policy.clear_caches()


def _interfaces(texts: Iterable[str], where: str) -> tuple[IPInterface, ...]:
    out = []
    for text in texts:
        try:
            out.append(_interface(text))
        except ValueError:
            raise ConversionError(f"{where}: invalid address {text!r}") from None
    return tuple(out)


def _address(text: str, where: str) -> IPAddress:
    try:
        return ip_address(text)
    except ValueError:
        raise ConversionError(f"{where}: invalid address {text!r}") from None


def _optional_address(text: str, where: str) -> IPAddress | None:
    return _address(text, where) if text else None


def workload_endpoint(key: PodInterfaceKey, update: pb.WorkloadEndpointUpdate) -> WorkloadEndpoint:
    where = describe_endpoint(update.id)
    ep = update.endpoint
    nat = tuple(
        FloatingIp(
            external=_address(n.ext_ip, f"{where} nat ext_ip"),
            internal=_address(n.int_ip, f"{where} nat int_ip"),
        )
        for n in (*ep.ipv4_nat, *ep.ipv6_nat)
    )
    return WorkloadEndpoint(
        key=key,
        policy=assignment(ep.tiers, ep.profile_ids, where),
        host_interface_name=ep.name,
        addresses=_interfaces((*ep.ipv4_nets, *ep.ipv6_nets), f"{where} ipv4_nets/ipv6_nets"),
        mac=ep.mac,
        floating_ips=nat,
        allowed_source_prefixes=networks(
            ep.allow_spoofed_source_prefixes, f"{where} allow_spoofed_source_prefixes"
        ),
        orchestrator=update.id.orchestrator_id,
    )


def host_endpoint(update: pb.HostEndpointUpdate) -> HostEndpoint:
    hid = update.id.endpoint_id
    where = f"host endpoint {hid}"
    ep = update.endpoint
    expected = tuple(
        _address(a, f"{where} expected addresses")
        for a in (*ep.expected_ipv4_addrs, *ep.expected_ipv6_addrs)
    )
    return HostEndpoint(
        id=hid,
        interface_name="" if ep.name == "*" else ep.name,
        expected_addresses=expected,
        policy=assignment(ep.tiers, ep.profile_ids, where),
        untracked_policy=assignment(ep.untracked_tiers, (), f"{where} untracked"),
        pre_dnat_policy=assignment(ep.pre_dnat_tiers, (), f"{where} pre-DNAT"),
        forward_policy=assignment(ep.forward_tiers, (), f"{where} forward"),
    )


@functools.lru_cache(maxsize=1 << 17)
def ip_set_member(kind: IpSetType, text: str) -> IpSetMember:
    """One member in Felix's spelling: a CIDR, an address, or ``10.0.0.1,tcp:8080``.

    Raises ``ValueError`` (the caller names the set).
    """
    if kind is IpSetType.IP_AND_PORT:
        address, _, rest = text.rpartition(",")
        protocol, _, port = rest.partition(":")
        number = int(port)
        if not 0 <= number <= 65535:
            raise ValueError(f"port {number} out of range")
        return IpPortMember(ip_address(address), L4Protocol(protocol.upper()), number)
    if kind is IpSetType.NET or "/" in text:
        return ip_network(text, strict=False)
    return ip_address(text)


def ip_set_type(value: int, where: str) -> IpSetType:
    try:
        return _IPSET_TYPES[value]  # type: ignore[index]
    except KeyError:
        raise ConversionError(f"{where}: unknown IP set type {value}") from None


def ip_set_members(
    set_id: str, kind: IpSetType, texts: Iterable[str], problems: list[str]
) -> set[IpSetMember]:
    """Parse members; a bad member is left out and described in ``problems``.

    Dropping one member keeps the rest of the set working; rejecting the whole
    update would leave every member stale instead.
    """
    members: set[IpSetMember] = set()
    for text in texts:
        try:
            members.add(ip_set_member(kind, text))
        except ValueError as e:
            problems.append(f"IP set {set_id}: member {text!r} ignored: {e}")
    return members


def ip_set(set_id: str, kind: IpSetType, members: Iterable[IpSetMember]) -> IpSet:
    return IpSet(id=set_id, type=kind, members=frozenset(members))


def encap_mode(text: str, where: str) -> EncapMode:
    try:
        return _ENCAP_MODES[text.replace("-", "").lower()]
    except KeyError:
        raise ConversionError(f"{where}: unknown encapsulation mode {text!r}") from None


def pool(update: pb.IPAMPoolUpdate) -> IpPool:
    where = f"IP pool {update.id}"
    try:
        cidr = ip_network(update.pool.cidr)
    except ValueError:
        raise ConversionError(f"{where}: invalid cidr {update.pool.cidr!r}") from None
    return IpPool(
        name=update.id,
        cidr=cidr,
        block_size=DEFAULT_BLOCK_SIZE[cidr.version],
        ipip_mode=encap_mode(update.pool.ipip_mode, f"{where} ipip_mode"),
        vxlan_mode=encap_mode(update.pool.vxlan_mode, f"{where} vxlan_mode"),
        nat_outgoing=update.pool.masquerade,
    )


def route(update: pb.RouteUpdate) -> CalicoRoute:
    where = f"route {update.dst}"
    (dst,) = networks((update.dst,), f"{where} dst")
    try:
        encap = PoolEncap(update.ip_pool_type)
    except ValueError:
        encap = PoolEncap.NONE  # proto3 enums are open; an unknown type means "no pool info"
    return CalicoRoute(
        dst=dst,
        types=RouteType(update.types & 0x3F),
        pool_encap=encap,
        node=update.dst_node_name,
        node_address=_optional_address(update.dst_node_ip, f"{where} dst_node_ip"),
        same_subnet=update.same_subnet,
        nat_outgoing=update.nat_outgoing,
        local_workload=update.local_workload,
        borrowed=update.borrowed,
        ipip_tunnel=update.tunnel_type.ipip,
        vxlan_tunnel=update.tunnel_type.vxlan,
        wireguard_tunnel=update.tunnel_type.wireguard,
    )


def vtep(update: pb.VXLANTunnelEndpointUpdate) -> VxlanTunnelEndpoint:
    where = f"VTEP of node {update.node}"
    return VxlanTunnelEndpoint(
        node=update.node,
        mac=update.mac,
        address=_optional_address(update.ipv4_addr, f"{where} ipv4_addr"),
        parent_address=_optional_address(update.parent_device_ip, f"{where} parent_device_ip"),
        mac_v6=update.mac_v6,
        address_v6=_optional_address(update.ipv6_addr, f"{where} ipv6_addr"),
        parent_address_v6=_optional_address(
            update.parent_device_ipv6, f"{where} parent_device_ipv6"
        ),
    )


def host_address(text: str, version: int, where: str) -> IPInterface | None:
    """A node address with its prefix (``192.168.0.2/24``) or bare (then a host prefix)."""
    if not text:
        return None
    try:
        address = _interface(text)
    except ValueError:
        raise ConversionError(f"{where}: invalid address {text!r}") from None
    if address.version != version:
        raise ConversionError(f"{where}: {text!r} is not an IPv{version} address")
    return address


def asn(text: str, where: str) -> int | None:
    """An AS number in plain (``64512``) or asdot (``1.10``) notation; empty means none."""
    if not text:
        return None
    try:
        if "." in text:
            high, low = (int(part) for part in text.split("."))
            if not (0 <= high <= 65535 and 0 <= low <= 65535):
                raise ValueError(text)
            return high * 65536 + low
        value = int(text)
        if not 0 <= value < 1 << 32:
            raise ValueError(text)
        return value
    except ValueError:
        raise ConversionError(f"{where}: invalid AS number {text!r}") from None
