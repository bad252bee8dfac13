"""BGP paths in GoBGP's API form: our advertisements out, learned routes in.

Default-network prefixes are plain IPv4/IPv6 unicast. A secondary network's
prefixes are L3VPN (SAFI 128) routes whose route distinguisher carries the
network's VNI as its assigned number, the scheme calico-vpp uses for
multinet: the receiver finds the network by that VNI. The RD's
administrator is the local AS number, or AS_TRANS (23456, RFC 6793) when
the AS number needs four octets, since a two-octet-AS RD has room for a
VNI and a four-octet one does not. Every path carries origin IGP and the
node's address as next hop (IPv4: NEXT_HOP; IPv6: MP_REACH_NLRI).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import Message

from agent.model import IPAddress, IPNetwork
from agent.proto_gen import gobgp_pb2 as pb
from plugins.routing import Advertisement

AS_TRANS: Final = 23456
LOCAL_NEIGHBOR: Final = frozenset({"", "<nil>"})  # how gobgpd shows a locally added path

V4: Final = pb.Family(afi=pb.Family.AFI_IP, safi=pb.Family.SAFI_UNICAST)
V6: Final = pb.Family(afi=pb.Family.AFI_IP6, safi=pb.Family.SAFI_UNICAST)
VPN4: Final = pb.Family(afi=pb.Family.AFI_IP, safi=pb.Family.SAFI_MPLS_VPN)
VPN6: Final = pb.Family(afi=pb.Family.AFI_IP6, safi=pb.Family.SAFI_MPLS_VPN)
UNICAST: Final = (V4, V6)
ALL_FAMILIES: Final = (V4, V6, VPN4, VPN6)


def family_of(version: int, vpn: bool) -> pb.Family:
    if vpn:
        return VPN4 if version == 4 else VPN6
    return V4 if version == 4 else V6


def family_name(family: pb.Family) -> str:
    ip = "ipv4" if family.afi == pb.Family.AFI_IP else "ipv6"
    return f"l3vpn-{ip}" if family.safi == pb.Family.SAFI_MPLS_VPN else f"{ip}-unicast"


@dataclass(frozen=True, slots=True)
class Announced:
    """What identifies a path on the wire: family (by VNI for VPN), prefix and next hop."""

    prefix: IPNetwork
    next_hop: IPAddress
    vni: int | None = None

    @classmethod
    def of(cls, adv: Advertisement) -> Announced:
        return cls(adv.prefix, adv.next_hop, adv.vni)


@dataclass(frozen=True, slots=True)
class DecodedPath:
    """A path read from gobgpd. ``neighbor`` is None for a path this node added itself."""

    prefix: IPNetwork
    next_hop: IPAddress | None
    vni: int | None
    neighbor: IPAddress | None
    withdraw: bool

    @property
    def announced(self) -> Announced | None:
        if self.next_hop is None:
            return None
        return Announced(self.prefix, self.next_hop, self.vni)


def _pack(message: Message) -> AnyPb:
    packed = AnyPb()
    packed.Pack(message)
    return packed


def route_distinguisher(asn: int, vni: int) -> pb.RouteDistinguisherTwoOctetASN:
    return pb.RouteDistinguisherTwoOctetASN(admin=asn if asn <= 0xFFFF else AS_TRANS, assigned=vni)


def encode(announced: Announced, asn: int) -> pb.Path:
    """The path that announces ``announced`` (AddPath, or DeletePath to withdraw it)."""
    prefix, vni = announced.prefix, announced.vni
    version = prefix.version
    nlri_msg: Message
    if vni is None:
        nlri_msg = pb.IPAddressPrefix(
            prefix=str(prefix.network_address), prefix_len=prefix.prefixlen
        )
    else:
        nlri_msg = pb.LabeledVPNIPAddressPrefix(
            prefix=str(prefix.network_address),
            prefix_len=prefix.prefixlen,
            rd=_pack(route_distinguisher(asn, vni)),
        )
    nlri = _pack(nlri_msg)
    family = family_of(version, vni is not None)
    attrs = [_pack(pb.OriginAttribute(origin=0))]
    if version == 4:
        attrs.append(_pack(pb.NextHopAttribute(next_hop=str(announced.next_hop))))
    else:
        attrs.append(
            _pack(
                pb.MpReachNLRIAttribute(
                    family=family, next_hops=[str(announced.next_hop)], nlris=[nlri]
                )
            )
        )
    return pb.Path(family=family, nlri=nlri, pattrs=attrs)


def decode(path: pb.Path) -> DecodedPath:
    """A path of a unicast or L3VPN family; ValueError for anything else (EVPN, flowspec...)."""
    vni: int | None = None
    if path.nlri.Is(pb.IPAddressPrefix.DESCRIPTOR):
        plain = pb.IPAddressPrefix()
        path.nlri.Unpack(plain)
        text, length = plain.prefix, plain.prefix_len
    elif path.nlri.Is(pb.LabeledVPNIPAddressPrefix.DESCRIPTOR):
        labeled = pb.LabeledVPNIPAddressPrefix()
        path.nlri.Unpack(labeled)
        text, length = labeled.prefix, labeled.prefix_len
        vni = _rd_assigned(labeled.rd)
    else:
        raise ValueError(f"unsupported NLRI {path.nlri.type_url}")
    prefix = ipaddress.ip_network(f"{text}/{length}", strict=False)
    neighbor = (
        None if path.neighbor_ip in LOCAL_NEIGHBOR else ipaddress.ip_address(path.neighbor_ip)
    )
    return DecodedPath(prefix, _next_hop(path), vni, neighbor, path.is_withdraw)


def _rd_assigned(rd: AnyPb) -> int:
    for kind in (
        pb.RouteDistinguisherTwoOctetASN,
        pb.RouteDistinguisherFourOctetASN,
        pb.RouteDistinguisherIPAddress,
    ):
        if rd.Is(kind.DESCRIPTOR):
            value = kind()
            rd.Unpack(value)
            return int(value.assigned)
    raise ValueError(f"unsupported route distinguisher {rd.type_url}")


def _next_hop(path: pb.Path) -> IPAddress | None:
    for attr in path.pattrs:
        if attr.Is(pb.NextHopAttribute.DESCRIPTOR):
            nh = pb.NextHopAttribute()
            attr.Unpack(nh)
            return ipaddress.ip_address(nh.next_hop)
        if attr.Is(pb.MpReachNLRIAttribute.DESCRIPTOR):
            mp = pb.MpReachNLRIAttribute()
            attr.Unpack(mp)
            if mp.next_hops:
                return ipaddress.ip_address(mp.next_hops[0])
    return None
