"""The simulated VPP's state: one object tests can read (``sim.state``).

Everything is mutated only by the request handlers, under the simulator's
lock; tests read it between requests.
"""

from __future__ import annotations

from agent.vppsim.codec import IPAddress
from agent.vppsim.state.fib import Fib, Route, Table
from agent.vppsim.state.interfaces import Interface, InterfaceEvent, Interfaces
from agent.vppsim.state.ipip import IpipTunnel
from agent.vppsim.state.objects import (
    AfPacket,
    Cnat,
    CnatTranslation,
    IdPool,
    Lcp,
    LcpPair,
    Memif,
    Nat44,
    NativeUplink,
    Neighbor,
    Npol,
    NpolInterfaceConfig,
    NpolIpset,
    PuntRedirect,
    Tap,
    VxlanTunnel,
)

DEFAULT_MEMIF_SOCKET = "/run/vpp/memif.sock"
"""memif socket id 0, which VPP creates at start-up."""


class VppState:
    """A fresh VPP: local0 and the two tables 0, nothing else."""

    def __init__(self) -> None:
        self.interfaces = Interfaces()
        self.fib = Fib()
        self.neighbors: dict[tuple[int, IPAddress], Neighbor] = {}
        self.taps: dict[int, Tap] = {}
        self.af_packet: dict[int, AfPacket] = {}
        self.native_uplinks: dict[int, NativeUplink] = {}
        self.memif_sockets: dict[int, str] = {0: DEFAULT_MEMIF_SOCKET}
        self.memifs: dict[int, Memif] = {}
        self.vxlan_tunnels: dict[int, VxlanTunnel] = {}
        self.tap_ids = IdPool()
        self.vxlan_instances = IdPool()
        self.ipip_tunnels: dict[int, IpipTunnel] = {}
        self.ipip_instances = IdPool()
        self.punt_redirects: dict[tuple[int, bool], PuntRedirect] = {}
        self.cnat = Cnat()
        self.nat44 = Nat44()
        self.npol = Npol()
        self.lcp = Lcp()

    def bound_tables(self) -> set[tuple[bool, int]]:
        out: set[tuple[bool, int]] = set()
        for iface in self.interfaces:
            out.add((False, iface.table4))
            out.add((True, iface.table6))
        return out

    def forget_interface(self, sw_if_index: int) -> None:
        """What VPP's interface-delete callbacks clean up in the other features."""
        for nkey in [k for k in self.neighbors if k[0] == sw_if_index]:
            del self.neighbors[nkey]
        for pkey, punt in list(self.punt_redirects.items()):
            if sw_if_index in (punt.rx_sw_if_index, punt.tx_sw_if_index):
                del self.punt_redirects[pkey]
        self.nat44.interfaces.pop(sw_if_index, None)
        self.nat44.interface_addrs.pop(sw_if_index, None)
        self.cnat.enabled_interfaces.discard(sw_if_index)
        for members in self.cnat.policy_interfaces.values():
            members.discard(sw_if_index)
        self.npol.interfaces.pop(sw_if_index, None)
        for phy, pair in list(self.lcp.pairs.items()):
            if sw_if_index in (pair.phy_sw_if_index, pair.host_sw_if_index):
                del self.lcp.pairs[phy]
        self.fib.collect(self.bound_tables())


__all__ = [
    "AfPacket",
    "Cnat",
    "CnatTranslation",
    "Fib",
    "IdPool",
    "Interface",
    "InterfaceEvent",
    "Interfaces",
    "IpipTunnel",
    "Lcp",
    "LcpPair",
    "Memif",
    "Nat44",
    "NativeUplink",
    "Neighbor",
    "Npol",
    "NpolInterfaceConfig",
    "NpolIpset",
    "PuntRedirect",
    "Route",
    "Table",
    "Tap",
    "VppState",
    "VxlanTunnel",
]
