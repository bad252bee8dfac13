"""VXLAN tunnels: how nodes are joined per network (one VNI per isolated network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.vpp.convert import IPAddress, address
from agent.vpp.request import ANY_INTERFACE, Dump, Request, returning_sw_if_index

MESSAGES = ("vxlan_add_del_tunnel_v3", "vxlan_tunnel_v2_dump")

AUTO_INSTANCE = 0xFFFFFFFF
DEFAULT_PORT = 4789
L2_INPUT = 0xFFFFFFFF  # decap_next_index ~0: VPP's default (l2-input)


@dataclass(frozen=True, slots=True)
class VxlanTunnel:
    src: IPAddress
    dst: IPAddress
    vni: int
    encap_vrf: int = 0
    src_port: int = DEFAULT_PORT
    dst_port: int = DEFAULT_PORT
    instance: int = AUTO_INSTANCE
    decap_next_index: int = L2_INPUT
    is_l3: bool = False
    mcast_sw_if_index: int = ANY_INTERFACE


def _args(t: VxlanTunnel, is_add: bool) -> dict[str, Any]:
    return {
        "is_add": is_add,
        "instance": t.instance,
        "src_address": t.src,
        "dst_address": t.dst,
        "src_port": t.src_port,
        "dst_port": t.dst_port,
        "mcast_sw_if_index": t.mcast_sw_if_index,
        "encap_vrf_id": t.encap_vrf,
        "decap_next_index": t.decap_next_index,
        "vni": t.vni,
        "is_l3": t.is_l3,
    }


def add_tunnel(t: VxlanTunnel, what: str = "") -> Request[int]:
    return returning_sw_if_index("vxlan_add_del_tunnel_v3", what, **_args(t, True))


def del_tunnel(t: VxlanTunnel, what: str = "") -> Request[int]:
    """Delete by the tunnel's endpoints and VNI (VPP's key), not by sw_if_index."""
    return returning_sw_if_index("vxlan_add_del_tunnel_v3", what, **_args(t, False))


@dataclass(frozen=True, slots=True)
class VxlanDetails:
    sw_if_index: int
    tunnel: VxlanTunnel


def _details(d: Any) -> VxlanDetails:
    return VxlanDetails(
        int(d.sw_if_index),
        VxlanTunnel(
            src=address(d.src_address),
            dst=address(d.dst_address),
            vni=int(d.vni),
            encap_vrf=int(d.encap_vrf_id),
            src_port=int(d.src_port),
            dst_port=int(d.dst_port),
            instance=int(d.instance),
            decap_next_index=int(d.decap_next_index),
            mcast_sw_if_index=int(d.mcast_sw_if_index),
        ),
    )


def dump(sw_if_index: int = ANY_INTERFACE) -> Dump[VxlanDetails]:
    return Dump("vxlan_tunnel_v2_dump", {"sw_if_index": sw_if_index}, _details)
