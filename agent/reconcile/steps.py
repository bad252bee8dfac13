"""How each change becomes VPP requests, phase by phase.

A change is a list of steps; each step belongs to a global phase, and the
applier sends all steps of one phase together (pipelined), phase after
phase. The phases encode VPP's ordering: routes and translations go before
the interfaces they use are deleted; tables and memif sockets exist before
interfaces; an interface exists (and has its sw_if_index) before its
settings; its VRF is set before its addresses; routes come last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from agent.reconcile.index import tag_for
from agent.reconcile.observe import Observed, table_name, untagged_identity
from agent.reconcile.plan import Change, Op
from agent.vpp import af_packet, cnat, interfaces, ip, ipip, memif, tap, vxlan
from agent.vpp.request import ANY_INTERFACE, Request
from agent.vppobjects import (
    INTERFACE_TYPES,
    AfPacket,
    CnatTranslation,
    IfRef,
    Interface,
    InterfaceAddress,
    InterfaceSettings,
    Ipip,
    Loopback,
    Memif,
    MemifSocket,
    Route,
    RoutePath,
    TunTap,
    VrfTable,
    Vxlan,
)

log = logging.getLogger(__name__)


class Phase(IntEnum):
    DELETE_USERS = 0  # cnat translations, routes
    DELETE_ADDRESSES = 1
    DELETE_INTERFACES = 2
    DELETE_CONTAINERS = 3  # tables, memif sockets
    CREATE_CONTAINERS = 4
    # npol (agent.reconcile.npol): sets, their members, rules, policies, all before the
    # interfaces, so that a new pod interface is bound to its policies before it is up
    NPOL_SETS = 5
    NPOL_FILL = 6
    NPOL_RULES = 7
    NPOL_POLICIES = 8
    CREATE_INTERFACES = 9
    NPOL_BIND = 10  # npol_configure_policies, cnat features: before INTERFACE_SETTINGS (up)
    INTERFACE_SETTINGS = 11
    ADD_ADDRESSES = 12
    ADD_ROUTES = 13
    ADD_SERVICES = 14  # cnat translations, the SNAT entry (features: in NPOL_BIND)
    ADD_NAT_RULES = 15  # SNAT policy, interface tables, excluded prefixes: need the entry
    # npol deletes come last: whatever referred to them was updated in an earlier phase
    NPOL_RELEASE_POLICIES = 16
    NPOL_RELEASE_RULES = 17
    NPOL_RELEASE_SETS = 18


class UnresolvedError(Exception):
    """A reference (interface, memif socket) that does not exist in VPP."""


Build = Callable[[Observed], Request[Any]]
Done = Callable[[Any, Observed], None]


@dataclass(frozen=True, slots=True)
class Step:
    phase: Phase
    build: Build
    done: Done | None = None


StepsFor = Callable[[Any], list[Step]]
EXTRA_CREATE: dict[type, StepsFor] = {}
EXTRA_DELETE: dict[type, StepsFor] = {}
EXTRA_UPDATE: dict[type, Callable[[Any, Any], list[Step]]] = {}
"""Create, delete and in-place update steps of kinds whose feature module registers them
on import (e.g. :mod:`agent.reconcile.services`), so this module needs no change per kind."""


def handle(ids: dict[str, int], key: str) -> int:
    """VPP's id for an object it does not let vppnet name (cnat id, memif socket id)."""
    value = ids.get(key)
    if value is None:
        raise UnresolvedError(f"{key} does not exist in VPP")
    return value


def resolve(observed: Observed, ref: IfRef) -> int:
    idx = observed.resolve(ref)
    if idx is None:
        raise UnresolvedError(f"interface {ref} does not exist in VPP")
    return idx


_RX = {
    "polling": interfaces.RxMode.POLLING,
    "interrupt": interfaces.RxMode.INTERRUPT,
    "adaptive": interfaces.RxMode.ADAPTIVE,
    "default": interfaces.RxMode.DEFAULT,
}


def steps_for(change: Change) -> list[Step]:
    obj = change.obj
    if change.op is Op.ADOPT:
        return []
    if change.op is Op.DELETE:
        return _delete_steps(obj)
    if change.op is Op.UPDATE and (update := EXTRA_UPDATE.get(type(obj))) is not None:
        return update(obj, change.old)  # in place (npol): from the observed object to obj
    if change.op is Op.UPDATE and isinstance(obj, INTERFACE_TYPES):
        assert isinstance(change.old, INTERFACE_TYPES)
        return _settings_steps(obj, change.old.settings)
    return _create_steps(obj)


def _create_steps(obj: Any) -> list[Step]:
    what = obj.key
    match obj:
        case VrfTable():
            return [
                Step(
                    Phase.CREATE_CONTAINERS,
                    lambda o: ip.add_table(obj.table_id, obj.ip6, table_name(obj), what),
                )
            ]
        case MemifSocket():

            def socket_done(socket_id: Any, o: Observed) -> None:
                o.memif_socket_ids[obj.name] = int(socket_id)

            return [
                Step(
                    Phase.CREATE_CONTAINERS,
                    lambda o: memif.add_socket(obj.path, what=what),
                    socket_done,
                )
            ]
        case TunTap() | AfPacket() | Memif() | Vxlan() | Ipip() | Loopback():
            return _interface_create_steps(obj)
        case InterfaceAddress():
            return [
                Step(
                    Phase.ADD_ADDRESSES,
                    lambda o: interfaces.add_address(resolve(o, obj.interface), obj.prefix, what),
                )
            ]
        case Route():
            return [
                Step(
                    Phase.ADD_ROUTES,
                    lambda o: ip.add_route(
                        obj.table_id,
                        obj.prefix,
                        tuple(_path(o, obj, p) for p in obj.paths),
                        what=what,
                    ),
                )
            ]
        case CnatTranslation():

            def cnat_done(translation_id: Any, o: Observed) -> None:
                o.cnat_ids[obj.key] = int(translation_id)

            return [
                Step(Phase.ADD_SERVICES, lambda o: cnat.update(_translation(obj), what), cnat_done)
            ]
    if (extra := EXTRA_CREATE.get(type(obj))) is not None:
        return extra(obj)
    raise TypeError(f"no create steps for {type(obj).__name__}")


def _interface_create_steps(obj: Interface) -> list[Step]:
    tag = tag_for(obj.name)
    what = obj.key

    def build(o: Observed) -> Request[int]:
        identity = untagged_identity(obj, o)
        found = o.untagged.pop(identity, None) if identity is not None else None
        if found is not None:
            log.warning(
                "%s: VPP has it untagged as %s (created before the agent stopped, not yet "
                "tagged); taking it back",
                what,
                o.names.get(found, found),
            )
            return interfaces.adopt(found, tag, what)
        match obj:
            case TunTap():
                return tap.create(
                    tap.TapCreate(
                        tun=obj.tun,
                        host_if_name=obj.host_if_name,
                        host_namespace=obj.host_netns,
                        host_mtu=obj.host_mtu,
                        host_mac=obj.host_mac,
                        host_ip4_prefix=obj.host_ip4,
                        host_ip6_prefix=obj.host_ip6,
                        rx_queues=obj.rx_queues,
                        tx_queues=obj.tx_queues,
                        rx_ring_size=obj.rx_ring_size,
                        tx_ring_size=obj.tx_ring_size,
                        gso=obj.gso,
                        csum_offload=obj.csum_offload,
                        tag=tag,
                    ),
                    what,
                )
            case AfPacket():
                return af_packet.create(
                    af_packet.AfPacketCreate(
                        host_if_name=obj.host_if_name,
                        mac=obj.mac,
                        rx_queues=obj.rx_queues,
                        tx_queues=obj.tx_queues,
                        mode=af_packet.AfPacketMode.IP
                        if obj.ip_mode
                        else af_packet.AfPacketMode.ETHERNET,
                    ),
                    what,
                )
            case Memif():
                socket_id = handle(o.memif_socket_ids, obj.socket)
                return memif.create(
                    memif.MemifCreate(
                        socket_id=socket_id,
                        memif_id=obj.memif_id,
                        mode=memif.MemifMode.IP if obj.ip_mode else memif.MemifMode.ETHERNET,
                        rx_queues=obj.rx_queues,
                        tx_queues=obj.tx_queues,
                        ring_size=obj.ring_size,
                        buffer_size=obj.buffer_size,
                    ),
                    what,
                )
            case Vxlan():
                return vxlan.add_tunnel(_tunnel(obj), what)
            case Ipip():
                return ipip.add_tunnel(ipip.IpipTunnel(obj.src, obj.dst, obj.encap_vrf), what)
            case Loopback():
                return interfaces.create_loopback(what=what)

    def done(sw_if_index: Any, o: Observed) -> None:
        o.sw_if_index[obj.name] = int(sw_if_index)
        o.names[int(sw_if_index)] = obj.name

    steps = [Step(Phase.CREATE_INTERFACES, build, done)]
    if not isinstance(obj, TunTap):  # tap_create_v3 takes the tag itself
        steps.append(
            Step(
                Phase.INTERFACE_SETTINGS,
                lambda o: interfaces.set_tag(resolve(o, obj.name), tag, what),
            )
        )
    return steps + _settings_steps(obj, None)


def _settings_steps(obj: Interface, old: InterfaceSettings | None) -> list[Step]:
    """The calls that take an interface's settings from ``old`` (None: fresh) to its own."""
    new, name, what = obj.settings, obj.name, obj.key
    was = old or InterfaceSettings(admin_up=False)
    build: list[Build] = []
    early: list[Step] = []
    # VPP counts borrowed addresses as the interface's own when it changes VRF
    # (ip_table_bind honours unnumbered), so the borrowing stops before the move, in
    # the phase addresses are removed in (also before the lender may be deleted).
    moves = new.vrf4 != was.vrf4 or new.vrf6 != was.vrf6
    reborrow = new.unnumbered_from != was.unnumbered_from or (moves and old is not None)
    if reborrow and was.unnumbered_from is not None:
        src = was.unnumbered_from
        early.append(
            Step(
                Phase.DELETE_ADDRESSES,
                # VPP ignores the lender when removing: a lender already gone is fine
                lambda o: interfaces.set_unnumbered(
                    resolve(o, name), _or_any(o.resolve(src)), is_add=False, what=what
                ),
            )
        )
    if new.vrf4 != was.vrf4:
        build.append(lambda o: interfaces.set_table(resolve(o, name), new.vrf4, False, what))
    if new.vrf6 != was.vrf6:
        build.append(lambda o: interfaces.set_table(resolve(o, name), new.vrf6, True, what))
    if new.mtu is not None and new.mtu != was.mtu:
        build.append(lambda o: interfaces.set_mtu(resolve(o, name), l3=new.mtu or 0, what=what))
    if new.rx_mode is not None and new.rx_mode != was.rx_mode:
        mode = _RX[new.rx_mode]
        build.append(lambda o: interfaces.set_rx_mode(resolve(o, name), mode, what=what))
    if reborrow and new.unnumbered_from is not None:
        dst = new.unnumbered_from
        build.append(
            lambda o: interfaces.set_unnumbered(resolve(o, name), resolve(o, dst), what=what)
        )
    if new.admin_up != was.admin_up:
        build.append(lambda o: interfaces.set_admin(resolve(o, name), new.admin_up, what))
    return early + [Step(Phase.INTERFACE_SETTINGS, b) for b in build]


def _or_any(sw_if_index: int | None) -> int:
    return ANY_INTERFACE if sw_if_index is None else sw_if_index


def _delete_steps(obj: Any) -> list[Step]:
    what = obj.key
    match obj:
        case CnatTranslation():
            return [Step(Phase.DELETE_USERS, lambda o: cnat.delete(handle(o.cnat_ids, what), what))]
        case Route():
            return [
                Step(Phase.DELETE_USERS, lambda o: ip.del_route(obj.table_id, obj.prefix, what))
            ]
        case InterfaceAddress():
            return [
                Step(
                    Phase.DELETE_ADDRESSES,
                    lambda o: interfaces.del_address(resolve(o, obj.interface), obj.prefix, what),
                )
            ]
        case TunTap() | AfPacket() | Memif() | Vxlan() | Ipip() | Loopback():
            return [
                Step(
                    Phase.DELETE_INTERFACES,
                    lambda o: _delete_interface(o, obj),
                    lambda _r, o: o.forget_interface(obj.name),
                )
            ]
        case MemifSocket():
            return [
                Step(
                    Phase.DELETE_CONTAINERS,
                    lambda o: memif.del_socket(handle(o.memif_socket_ids, obj.name), what),
                )
            ]
        case VrfTable():
            return [
                Step(Phase.DELETE_CONTAINERS, lambda o: ip.del_table(obj.table_id, obj.ip6, what))
            ]
    if (extra := EXTRA_DELETE.get(type(obj))) is not None:
        return extra(obj)
    raise TypeError(f"no delete steps for {type(obj).__name__}")


def _delete_interface(o: Observed, obj: Interface) -> Request[Any]:
    match obj:
        case TunTap():
            return tap.delete(resolve(o, obj.name), obj.key)
        case AfPacket():
            return af_packet.delete(obj.host_if_name, obj.key)
        case Memif():
            return memif.delete(resolve(o, obj.name), obj.key)
        case Vxlan():
            return vxlan.del_tunnel(_tunnel(obj), obj.key)
        case Ipip():
            return ipip.del_tunnel(resolve(o, obj.name), obj.key)
        case Loopback():
            return interfaces.delete_loopback(resolve(o, obj.name), obj.key)


def _tunnel(obj: Vxlan) -> vxlan.VxlanTunnel:
    return vxlan.VxlanTunnel(
        src=obj.src,
        dst=obj.dst,
        vni=obj.vni,
        encap_vrf=obj.encap_vrf,
        is_l3=obj.is_l3,
        decap_next_index=vxlan.L2_INPUT,
    )


def _path(o: Observed, route: Route, p: RoutePath) -> ip.Path:
    if p.kind == "drop":
        return ip.Path(type=ip.PathType.DROP)
    if p.kind == "local":
        return ip.Path(type=ip.PathType.LOCAL)
    if p.kind == "unreach":
        return ip.Path(type=ip.PathType.ICMP_UNREACH)
    sw_if_index = resolve(o, p.interface) if p.interface is not None else ANY_INTERFACE
    table = p.lookup_table if p.lookup_table is not None else route.table_id
    return ip.Path(
        sw_if_index=sw_if_index, nh=p.nh, table_id=table, weight=p.weight, preference=p.preference
    )


_FLOW_BITS = {
    "src": cnat.FlowHash.SRC_IP,
    "dst": cnat.FlowHash.DST_IP,
    "sport": cnat.FlowHash.SRC_PORT,
    "dport": cnat.FlowHash.DST_PORT,
    "proto": cnat.FlowHash.PROTO,
    "reverse": cnat.FlowHash.REVERSE,
    "symmetric": cnat.FlowHash.SYMMETRIC,
}


def _translation(obj: CnatTranslation) -> cnat.Translation:
    flags = cnat.TranslationFlags.ALLOC_PORT
    if obj.no_client:
        flags |= cnat.TranslationFlags.NO_CLIENT
    flow_hash = cnat.FlowHash(0)
    for name in obj.flow_hash:
        flow_hash |= _FLOW_BITS[name]
    return cnat.Translation(
        vip=cnat.Endpoint(obj.vip, obj.port),
        proto=cnat.IpProto[obj.proto],
        backends=tuple(
            cnat.Backend(
                cnat.Endpoint(b.addr, b.port),
                src=cnat.Endpoint(b.src) if b.src is not None else None,
                flags=cnat.ENDPOINT_NO_NAT if b.no_nat else 0,
            )
            for b in obj.backends
        ),
        lb_type=cnat.LbType.MAGLEV if obj.maglev else cnat.LbType.DEFAULT,
        flags=flags,
        flow_hash=flow_hash,
        is_real_ip=obj.is_real_ip,
    )
