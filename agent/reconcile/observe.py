"""Read VPP once and express what vppnet owns as the same objects plugins desire.

Observed objects are rebuilt from dumps (what VPP shows wins) completed by
the ownership index for what VPP cannot show, so a diff is plain equality.
Everything else VPP holds is recorded only by key, as foreign (never to be
touched) or, for the routes VPP installs by itself (table defaults,
connected and local routes), as overridable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from agent.reconcile.index import OwnershipIndex, is_owned_tag
from agent.vpp import af_packet, cnat, interfaces, ip, ipip, memif, tap, vxlan
from agent.vpp.connection import VppConnection
from agent.vpp.convert import IPNetwork
from agent.vpp.request import ANY_INTERFACE
from agent.vppobjects import (
    INTERFACE_TYPES,
    AfPacket,
    Backend,
    CnatTranslation,
    IfRef,
    Interface,
    InterfaceAddress,
    InterfaceSettings,
    Ipip,
    Loopback,
    Memif,
    MemifSocket,
    Neighbor,
    Route,
    RoutePath,
    TunTap,
    VppName,
    VppObject,
    VrfTable,
    Vxlan,
    cnat_key,
    interface_key,
    route_key,
)

TABLE_NAME_PREFIX = "vppnet-"
LOOPBACK_DEV_TYPE = "Loopback"  # VPP's device class name for loopbacks (interface_dev_type)


def table_name(table: VrfTable) -> str:
    return f"{TABLE_NAME_PREFIX}vrf-{table.table_id}-{'ip6' if table.ip6 else 'ip4'}"


@dataclass
class Observed:
    """VPP's state as vppnet sees it, plus what is needed to resolve references."""

    objects: dict[str, VppObject] = field(default_factory=dict)  # owned, by key
    foreign: dict[str, str] = field(default_factory=dict)  # key -> what holds it
    unowned: dict[str, VppObject] = field(default_factory=dict)  # adoptable foreign objects
    overridable: set[str] = field(default_factory=set)  # VPP's own routes
    sw_if_index: dict[str, int] = field(default_factory=dict)  # owned name -> index
    by_vpp_name: dict[str, int] = field(default_factory=dict)  # VPP name -> index
    names: dict[int, IfRef] = field(default_factory=dict)  # index -> ref
    unseen: dict[str, frozenset[str]] = field(default_factory=dict)  # key -> unknown fields
    cnat_ids: dict[str, int] = field(default_factory=dict)
    memif_socket_ids: dict[str, int] = field(default_factory=dict)  # socket name -> id
    # key -> fields an unowned object may have that VPP does not show (adopting it re-applies)
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)
    npol_ids: dict[str, int] = field(default_factory=dict)  # npol key -> VPP's id
    # untagged tunnels, af_packets and memifs by identity (see untagged_identity): what a
    # create of vppnet's may have made just before the agent died, before its tag call
    untagged: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def resolve(self, ref: IfRef) -> int | None:
        if isinstance(ref, VppName):
            return self.by_vpp_name.get(ref.name)
        return self.sw_if_index.get(ref)

    def assume_unseen(self, key: str, have: VppObject, want: VppObject) -> VppObject:
        """``have`` with the fields VPP cannot show (and no record told) taken from ``want``.

        Only for an owned interface found by its tag without an index record
        (the index was lost): recreating it to learn its queue count would cut
        the pod's traffic for nothing.
        """
        fields_ = self.unseen.get(key)
        if not fields_ or type(have) is not type(want):
            return have
        assert isinstance(have, INTERFACE_TYPES) and isinstance(want, INTERFACE_TYPES)
        top = {f: getattr(want, f) for f in fields_ if not f.startswith("settings.")}
        sub = {
            f.removeprefix("settings."): getattr(want.settings, f.removeprefix("settings."))
            for f in fields_
            if f.startswith("settings.")
        }
        return replace(have, **top, settings=replace(have.settings, **sub))

    def forget_interface(self, name: str) -> None:
        """An owned interface was deleted: so were its index, addresses and neighbours."""
        idx = self.sw_if_index.pop(name, None)
        if idx is not None:
            self.names.pop(idx, None)
        for key, obj in list(self.objects.items()):
            if isinstance(obj, InterfaceAddress | Neighbor) and obj.interface == name:
                del self.objects[key]


# What VPP's dumps do not show, per kind. Known from the index record, if any.
_UNSEEN_SETTINGS = (
    "settings.vrf4",
    "settings.vrf6",
    "settings.rx_mode",
    "settings.unnumbered_from",
)
_UNSEEN: dict[type, tuple[str, ...]] = {
    TunTap: ("rx_queues", "tx_queues", "host_mac", *_UNSEEN_SETTINGS),
    AfPacket: ("ip_mode", "mac", "rx_queues", "tx_queues", *_UNSEEN_SETTINGS),
    Memif: ("rx_queues", "tx_queues", *_UNSEEN_SETTINGS),
    Vxlan: ("is_l3", *_UNSEEN_SETTINGS),
    Ipip: _UNSEEN_SETTINGS,
    Loopback: _UNSEEN_SETTINGS,
}


def _settings(details: interfaces.Interface, record: Interface | None) -> InterfaceSettings:
    """Observed admin state and MTU; VRF, rx mode and unnumbered as last applied."""
    base = record.settings if record is not None else InterfaceSettings()
    mtu: int | None = details.mtu[0] or details.link_mtu
    if record is not None and base.mtu is None:
        mtu = None  # vppnet left the MTU to VPP: whatever VPP chose is fine
    return replace(base, admin_up=details.admin_up, mtu=mtu)


def _tuntap(name: str, t: tap.Tap, s: InterfaceSettings, record: Interface | None) -> TunTap:
    r = record if isinstance(record, TunTap) else None
    keep_default_mtu = r is not None and r.host_mtu is None
    return replace(
        r or TunTap(name, "", ""),
        name=name,
        host_if_name=t.host_if_name,
        host_netns=t.host_namespace,
        tun=t.tun,
        host_mtu=None if keep_default_mtu else t.host_mtu,
        host_ip4=t.host_ip4_prefix,  # type: ignore[arg-type]
        host_ip6=t.host_ip6_prefix,  # type: ignore[arg-type]
        rx_ring_size=t.rx_ring_size,
        tx_ring_size=t.tx_ring_size,
        gso=bool(t.flags & tap.TapFlags.GSO),
        csum_offload=bool(t.flags & tap.TapFlags.CSUM_OFFLOAD),
        settings=s,
    )


class _Reader:
    def __init__(self, conn: VppConnection, index: OwnershipIndex) -> None:
        self.conn = conn
        self.index = index
        self.out = Observed()

    def read(self) -> Observed:
        ifaces = self.conn.dump(interfaces.dump())
        self._interfaces(ifaces)
        self._addresses(ifaces)
        self._tables()
        self._cnat()
        for reader in EXTRA_READERS:
            reader(self.conn, self.index, self.out)
        return self.out

    def _interfaces(self, ifaces: list[interfaces.Interface]) -> None:
        out = self.out
        owned: dict[int, tuple[str, interfaces.Interface, Interface | None]] = {}
        for d in ifaces:
            out.by_vpp_name[d.name] = d.sw_if_index
            out.names[d.sw_if_index] = VppName(d.name)
            if not is_owned_tag(d.tag):
                continue
            record = self.index.interfaces.get(d.tag)
            name = record.name if record is not None else d.tag.removeprefix("vppnet:")
            owned[d.sw_if_index] = (name, d, record)
            out.sw_if_index[name] = d.sw_if_index
            out.names[d.sw_if_index] = name
        untagged = [d.sw_if_index for d in ifaces if not d.tag and d.sw_if_index != 0]
        if not owned and not untagged:
            return
        sockets = self._memif_sockets()
        taps = {t.sw_if_index: t for t in self.conn.dump(tap.dump())}
        afps = {a.sw_if_index: a for a in self.conn.dump(af_packet.dump())}
        memifs = {m.sw_if_index: m for m in self.conn.dump(memif.dump())}
        tunnels = {v.sw_if_index: v.tunnel for v in self.conn.dump(vxlan.dump())}
        ipips = {t.sw_if_index: t.tunnel for t in self.conn.dump(ipip.dump())}
        for idx in untagged:
            if idx in tunnels:
                v = tunnels[idx]
                out.untagged[("vxlan", v.src, v.dst, v.vni, v.encap_vrf)] = idx
            elif idx in ipips:
                tun = ipips[idx]
                out.untagged[("ipip", tun.src, tun.dst, tun.table_id)] = idx
            elif idx in afps:
                out.untagged[("af_packet", afps[idx].host_if_name)] = idx
            elif idx in memifs:
                out.untagged[("memif", memifs[idx].socket_id, memifs[idx].memif_id)] = idx
        for idx, (name, d, record) in owned.items():
            s = _settings(d, record)
            obj: Interface
            if idx in taps:
                obj = _tuntap(name, taps[idx], s, record)
            elif idx in afps:
                r = record if isinstance(record, AfPacket) else AfPacket(name, "")
                obj = replace(r, name=name, host_if_name=afps[idx].host_if_name, settings=s)
            elif idx in memifs:
                m = memifs[idx]
                r2 = record if isinstance(record, Memif) else Memif(name, "")
                obj = replace(
                    r2,
                    name=name,
                    socket=sockets.get(m.socket_id, f"#{m.socket_id}"),
                    memif_id=m.memif_id,
                    ip_mode=m.mode == memif.MemifMode.IP,
                    ring_size=m.ring_size,
                    buffer_size=m.buffer_size,
                    settings=s,
                )
            elif idx in tunnels:
                t = tunnels[idx]
                r3 = record if isinstance(record, Vxlan) else Vxlan(name, t.src, t.dst, t.vni)
                obj = replace(
                    r3,
                    name=name,
                    src=t.src,
                    dst=t.dst,
                    vni=t.vni,
                    encap_vrf=t.encap_vrf,
                    settings=s,
                )
            elif idx in ipips:
                p = ipips[idx]
                r4 = record if isinstance(record, Ipip) else Ipip(name, p.src, p.dst)
                obj = replace(r4, name=name, src=p.src, dst=p.dst, encap_vrf=p.table_id, settings=s)
            elif d.dev_type == LOOPBACK_DEV_TYPE:
                r5 = record if isinstance(record, Loopback) else Loopback(name)
                obj = replace(r5, name=name, settings=s)
            else:
                # Tagged by vppnet but of a kind it does not create: leave it alone.
                self.out.foreign[interface_key(name)] = f"{d.name} ({d.dev_type})"
                continue
            if record is None:
                unseen = _UNSEEN[type(obj)]
                if isinstance(obj, TunTap) and obj.host_mtu == 0:
                    unseen += ("host_mtu",)  # 0: VPP's default, i.e. none was asked for
                self.out.unseen[obj.key] = frozenset(unseen)
            lender = obj.settings.unnumbered_from
            if lender is not None and self.out.resolve(lender) is None:
                # VPP ends the borrowing when it deletes the lender: apply it again
                obj = replace(obj, settings=replace(obj.settings, unnumbered_from=None))
                if obj.key in self.out.unseen:
                    self.out.unseen[obj.key] -= {"settings.unnumbered_from"}
            self.out.objects[obj.key] = obj

    def _memif_sockets(self) -> dict[int, str]:
        by_path = {path: name for name, path in self.index.memif_sockets.items()}
        names: dict[int, str] = {}
        for s in self.conn.dump(memif.dump_sockets()):
            name = by_path.get(s.path)
            if name is None:
                self.out.foreign[f"memif-socket-path {s.path}"] = f"socket {s.socket_id}"
                continue
            names[s.socket_id] = name
            self.out.memif_socket_ids[name] = s.socket_id
            sock = MemifSocket(name, s.path)
            self.out.objects[sock.key] = sock
        return names

    def _addresses(self, ifaces: list[interfaces.Interface]) -> None:
        self.connected: set[tuple[int, IPNetwork]] = set()
        for d in ifaces:
            ref = self.out.names[d.sw_if_index]
            for ip6 in (False, True):
                for a in self.conn.dump(interfaces.dump_addresses(d.sw_if_index, ip6)):
                    self.connected.add((d.sw_if_index, a.prefix.network))
                    self.connected.add((d.sw_if_index, ipaddress.ip_interface(a.prefix.ip).network))
                    obj = InterfaceAddress(ref, a.prefix)
                    if isinstance(ref, str) or obj.key in self.index.addresses:
                        self.out.objects[obj.key] = obj
                    else:
                        self.out.foreign[obj.key] = f"address on {d.name}"

    def _tables(self) -> None:
        for t in self.conn.dump(ip.dump_tables()):
            table = VrfTable(t.table_id, t.ip6)
            if t.name.startswith(TABLE_NAME_PREFIX) and t.table_id != 0:
                self.out.objects[table.key] = table
            else:
                self.out.foreign[table.key] = f"table {t.name!r}"
            for r in self.conn.dump(ip.dump_routes(t.table_id, t.ip6)):
                self._route(r)

    def _route(self, r: ip.Route) -> None:
        key = route_key(r.table_id, r.prefix)
        if key in self.index.routes:
            paths = tuple(self._path(r.table_id, p) for p in r.paths)
            self.out.objects[key] = Route(r.table_id, r.prefix, paths)
        elif self._is_system(r):
            self.out.overridable.add(key)
        else:
            paths = tuple(self._path(r.table_id, p) for p in r.paths)
            self.out.foreign[key] = "route " + "; ".join(str(p) for p in paths)
            self.out.unowned[key] = Route(r.table_id, r.prefix, paths)

    def _is_system(self, r: ip.Route) -> bool:
        if all(p.type in (ip.PathType.DROP, ip.PathType.LOCAL) for p in r.paths):
            return True
        return all(p.nh is None and (p.sw_if_index, r.prefix) in self.connected for p in r.paths)

    def _path(self, table_id: int, p: ip.Path) -> RoutePath:
        if p.type == ip.PathType.DROP:
            return RoutePath(kind="drop")
        if p.type == ip.PathType.LOCAL:
            return RoutePath(kind="local")
        if p.type == ip.PathType.ICMP_UNREACH:
            return RoutePath(kind="unreach")
        iface = self.out.names.get(p.sw_if_index) if p.sw_if_index != ANY_INTERFACE else None
        lookup = p.table_id if iface is None and p.nh is None else None
        return RoutePath(
            nh=p.nh,
            interface=iface,
            lookup_table=lookup,
            weight=p.weight,
            preference=p.preference,
        )

    def _cnat(self) -> None:
        for t in self.conn.dump(cnat.dump()):
            key = cnat_key(t.vip.addr, t.vip.port, t.proto.name)
            self.out.cnat_ids[key] = t.translation_id
            obj = CnatTranslation(
                vip=t.vip.addr,
                port=t.vip.port,
                proto=t.proto.name,  # type: ignore[arg-type]
                backends=tuple(
                    Backend(
                        b.dst.addr,
                        b.dst.port,
                        src=b.src.addr if b.src is not None else None,
                        no_nat=bool(b.flags & cnat.ENDPOINT_NO_NAT),
                    )
                    for b in t.backends
                ),
                maglev=t.lb_type == cnat.LbType.MAGLEV,
            )
            if key in self.index.cnat:
                self.out.objects[key] = obj
            else:
                self.out.foreign[key] = f"cnat translation {t.translation_id}"
                self.out.unowned[key] = obj


Reader = Callable[[VppConnection, OwnershipIndex, Observed], None]
EXTRA_READERS: list[Reader] = []
"""Feature modules that observe kinds of their own, after everything above (they may
resolve interfaces); they register themselves when imported, like the step builders."""


def observe(conn: VppConnection, index: OwnershipIndex) -> Observed:
    """Dump everything relevant once and classify it (owned / foreign / VPP's own)."""
    return _Reader(conn, index).read()


def untagged_identity(obj: Interface, observed: Observed) -> tuple[Any, ...] | None:
    """What VPP knows ``obj`` by when it has no tag: the key under which it refuses a
    second one (None for kinds VPP lets exist twice, such as loopbacks, and for tun/tap,
    which are tagged in their create call)."""
    match obj:
        case Vxlan():
            return ("vxlan", obj.src, obj.dst, obj.vni, obj.encap_vrf)
        case Ipip():
            return ("ipip", obj.src, obj.dst, obj.encap_vrf)
        case AfPacket():
            return ("af_packet", obj.host_if_name)
        case Memif():
            socket_id = observed.memif_socket_ids.get(obj.socket)
            return None if socket_id is None else ("memif", socket_id, obj.memif_id)
        case _:
            return None
