"""IP-in-IP tunnels: Calico's IPIP encapsulation between nodes (one tunnel per remote node)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from agent.vpp.convert import IPAddress, address
from agent.vpp.request import ANY_INTERFACE, Dump, Request, command, returning_sw_if_index

MESSAGES = ("ipip_add_tunnel", "ipip_del_tunnel", "ipip_tunnel_dump")

AUTO_INSTANCE = 0xFFFFFFFF


class TunnelMode(IntEnum):
    P2P = 0
    MP = 1


class EncapDecapFlags(IntFlag):
    NONE = 0
    ENCAP_COPY_DF = 0x1
    ENCAP_SET_DF = 0x2
    ENCAP_COPY_DSCP = 0x4
    ENCAP_COPY_ECN = 0x8
    DECAP_COPY_ECN = 0x10
    ENCAP_INNER_HASH = 0x20


@dataclass(frozen=True, slots=True)
class IpipTunnel:
    """A point-to-point tunnel; ``table_id`` is where the outer packets are routed."""

    src: IPAddress
    dst: IPAddress
    table_id: int = 0
    instance: int = AUTO_INSTANCE
    flags: EncapDecapFlags = EncapDecapFlags.NONE
    mode: TunnelMode = TunnelMode.P2P
    dscp: int = 0


def add_tunnel(t: IpipTunnel, what: str = "") -> Request[int]:
    tunnel = {
        "instance": t.instance,
        "src": t.src,
        "dst": t.dst,
        "sw_if_index": ANY_INTERFACE,  # ignored on create
        "table_id": t.table_id,
        "flags": int(t.flags),
        "mode": int(t.mode),
        "dscp": t.dscp,
    }
    return returning_sw_if_index("ipip_add_tunnel", what, tunnel=tunnel)


def del_tunnel(sw_if_index: int, what: str = "") -> Request[None]:
    """VPP deletes an IPIP tunnel by its interface, unlike VXLAN (by its key)."""
    return command("ipip_del_tunnel", what, sw_if_index=sw_if_index)


@dataclass(frozen=True, slots=True)
class IpipDetails:
    sw_if_index: int
    tunnel: IpipTunnel


def _details(d: Any) -> IpipDetails:
    t = d.tunnel
    return IpipDetails(
        int(t.sw_if_index),
        IpipTunnel(
            src=address(t.src),
            dst=address(t.dst),
            table_id=int(t.table_id),
            instance=int(t.instance),
            flags=EncapDecapFlags(int(t.flags)),
            mode=TunnelMode(int(t.mode)),
            dscp=int(t.dscp),
        ),
    )


def dump(sw_if_index: int = ANY_INTERFACE) -> Dump[IpipDetails]:
    return Dump("ipip_tunnel_dump", {"sw_if_index": sw_if_index}, _details)
