"""What VPP's ipip feature keeps per tunnel, besides the tunnel's interface."""

from __future__ import annotations

from dataclasses import dataclass

from agent.vppsim.codec import IPAddress


@dataclass
class IpipTunnel:
    sw_if_index: int
    instance: int
    src: IPAddress
    dst: IPAddress
    table_id: int
    flags: int
    mode: int
    dscp: int

    @property
    def key(self) -> tuple[int, int, IPAddress, IPAddress, int]:
        """VPP's ipip tunnel key: transport family, mode, source, destination, outer FIB."""
        return (self.src.version, self.mode, self.src, self.dst, self.table_id)
