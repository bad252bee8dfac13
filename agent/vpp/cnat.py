"""cnat: VPP's NAT-based load balancer, which vppnet uses for Kubernetes services.

A translation maps one VIP (address, port, protocol) to backend paths; VPP
identifies it by that triple and hands back an id used to delete it. The
SNAT policy part decides which traffic leaving pods is source-NATed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from agent.vpp.convert import AF_IP4, AF_IP6, IPAddress, IPNetwork, address
from agent.vpp.request import ANY_INTERFACE, Dump, Request, command

MESSAGES = (
    "cnat_translation_update",
    "cnat_translation_del",
    "cnat_translation_dump",
    "cnat_set_snat_policy",
    "cnat_snat_policy_add_del_if",
    "cnat_snat_policy_add_del_exclude_pfx",
    "cnat_set_snat_addresses",
    "cnat_get_snat_addresses",
    "cnat_session_purge",
    "feature_cnat_enable_disable",
)


class IpProto(IntEnum):
    ICMP = 1
    TCP = 6
    UDP = 17
    SCTP = 132
    ICMP6 = 58


class LbType(IntEnum):
    DEFAULT = 0
    MAGLEV = 1


class TranslationFlags(IntFlag):
    ALLOC_PORT = 1
    NO_RETURN_SESSION = 4
    NO_CLIENT = 8


class FlowHash(IntFlag):
    """ip_flow_hash_config_v2: which packet fields pick the backend."""

    SRC_IP = 0x01
    DST_IP = 0x02
    SRC_PORT = 0x04
    DST_PORT = 0x08
    PROTO = 0x10
    REVERSE = 0x20
    SYMMETRIC = 0x40
    FLOWLABEL = 0x80


FIVE_TUPLE = (
    FlowHash.SRC_IP | FlowHash.DST_IP | FlowHash.SRC_PORT | FlowHash.DST_PORT | FlowHash.PROTO
)

ENDPOINT_NO_NAT = 2


class SnatPolicy(IntEnum):
    NONE = 0
    IF_PFX = 1
    K8S = 2
    DNAT = 3


class SnatTable(IntEnum):
    INCLUDE_V4 = 0
    INCLUDE_V6 = 1
    POD = 2
    HOST = 3


@dataclass(frozen=True, slots=True)
class Endpoint:
    addr: IPAddress
    port: int = 0
    sw_if_index: int = ANY_INTERFACE  # set: take the address from that interface


@dataclass(frozen=True, slots=True)
class Backend:
    dst: Endpoint
    src: Endpoint | None = None
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Translation:
    vip: Endpoint
    proto: IpProto
    backends: tuple[Backend, ...]
    lb_type: LbType = LbType.DEFAULT
    flags: TranslationFlags = TranslationFlags.ALLOC_PORT
    flow_hash: FlowHash = FIVE_TUPLE
    is_real_ip: bool = False
    translation_id: int = 0  # VPP's handle; ignored on update


def _endpoint(ep: Endpoint) -> dict[str, Any]:
    return {
        "addr": ep.addr,
        "sw_if_index": ep.sw_if_index,
        "if_af": AF_IP6 if ep.addr.version == 6 else AF_IP4,
        "port": ep.port,
    }


def _zero_like(addr: IPAddress) -> IPAddress:
    return address("::") if addr.version == 6 else address("0.0.0.0")


def update(t: Translation, what: str = "") -> Request[int]:
    """Create or replace the translation of (vip, port, proto); returns VPP's id."""
    paths = [
        {
            "dst_ep": _endpoint(b.dst),
            "src_ep": _endpoint(b.src or Endpoint(_zero_like(b.dst.addr))),
            "flags": b.flags,
        }
        for b in t.backends
    ]
    translation = {
        "vip": _endpoint(t.vip),
        "id": 0,
        "ip_proto": int(t.proto),
        "is_real_ip": int(t.is_real_ip),
        "flags": int(t.flags),
        "lb_type": int(t.lb_type),
        "n_paths": len(paths),
        "flow_hash_config": int(t.flow_hash),
        "paths": paths,
    }
    return Request(
        "cnat_translation_update", {"translation": translation}, lambda r: int(r.id), what
    )


def delete(translation_id: int, what: str = "") -> Request[None]:
    return command("cnat_translation_del", what, id=translation_id)


def _decode_endpoint(e: Any) -> Endpoint:
    return Endpoint(address(e.addr), int(e.port), int(e.sw_if_index))


def _translation(d: Any) -> Translation:
    t = d.translation
    backends = []
    for p in t.paths:
        src = _decode_endpoint(p.src_ep)
        backends.append(
            Backend(
                dst=_decode_endpoint(p.dst_ep),
                src=None if int(src.addr) == 0 and src.port == 0 else src,
                flags=int(p.flags),
            )
        )
    return Translation(
        vip=_decode_endpoint(t.vip),
        proto=IpProto(int(t.ip_proto)),
        backends=tuple(backends),
        lb_type=LbType(int(t.lb_type)),
        flags=TranslationFlags(int(t.flags)),
        flow_hash=FlowHash(int(t.flow_hash_config)),
        is_real_ip=bool(t.is_real_ip),
        translation_id=int(t.id),
    )


def dump() -> Dump[Translation]:
    return Dump("cnat_translation_dump", {}, _translation)


def set_snat_policy(policy: SnatPolicy, what: str = "") -> Request[None]:
    """Needs the default SNAT entry (set_snat_addresses): VPP v26.06 crashes without it."""
    return command("cnat_set_snat_policy", what, policy=int(policy))


def snat_policy_interface(
    sw_if_index: int, table: SnatTable, is_add: bool, what: str = ""
) -> Request[None]:
    return command(
        "cnat_snat_policy_add_del_if",
        what,
        sw_if_index=sw_if_index,
        is_add=int(is_add),
        table=int(table),
    )


def snat_exclude_prefix(prefix: IPNetwork, is_add: bool, what: str = "") -> Request[None]:
    """Needs the default SNAT entry, like :func:`set_snat_policy`."""
    return command("cnat_snat_policy_add_del_exclude_pfx", what, is_add=int(is_add), prefix=prefix)


@dataclass(frozen=True, slots=True)
class SnatAddresses:
    ip4: IPAddress
    ip6: IPAddress
    sw_if_index: int = ANY_INTERFACE


def set_snat_addresses(a: SnatAddresses, what: str = "") -> Request[None]:
    """Create or change VPP's default SNAT entry; all-zero addresses (and no interface)
    remove it, and with it the policy, the interface tables and the excluded prefixes."""
    return command(
        "cnat_set_snat_addresses",
        what,
        snat_ip4=a.ip4,
        snat_ip6=a.ip6,
        sw_if_index=a.sw_if_index,
    )


def get_snat_addresses() -> Request[SnatAddresses]:
    return Request(
        "cnat_get_snat_addresses",
        {},
        lambda r: SnatAddresses(address(r.snat_ip4), address(r.snat_ip6), int(r.sw_if_index)),
    )


def purge_sessions() -> Request[None]:
    return command("cnat_session_purge")


def enable_feature(sw_if_index: int, enable: bool = True, what: str = "") -> Request[None]:
    return command(
        "feature_cnat_enable_disable", what, sw_if_index=sw_if_index, enable_disable=enable
    )
