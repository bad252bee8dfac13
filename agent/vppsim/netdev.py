"""Real Linux devices behind the simulated tap, tun and af_packet interfaces.

VPP's tap driver leaves a real tun/tap device in the host (or a pod's netns),
configured with the host-side MTU, MAC, addresses and default routes; the
agent then adjusts it with netlink. Creating the same real device here is what
lets the agent's host-side code be tested against the kernel instead of
against assumptions. The device lives as long as the simulator keeps its tun
file descriptor open (no TUNSETPERSIST), exactly like VPP's.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from agent.vppsim.errors import NETLINK_ERROR, SYSCALL_ERROR_2, ApiError

log = logging.getLogger(__name__)

DevicesMode = Literal["auto", "real", "record"]

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_CAP_NET_ADMIN = 12
NETNS_RUN_DIR = "/var/run/netns"


def netns_path(name: str) -> str:
    """VPP's rule (tap.c open_netns_fd): absolute path as is, else under /var/run/netns."""
    if name.startswith("pid:"):
        return f"/proc/{name[4:]}/ns/net"
    return name if name.startswith("/") else os.path.join(NETNS_RUN_DIR, name)


def _has_net_admin() -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_NET_ADMIN & 1)
    except OSError:
        return os.geteuid() == 0
    return False


@contextmanager
def _netlink(path: str | None) -> Iterator[IPRoute]:
    """An IPRoute in the netns at ``path`` (None: ours), opened without forking.

    ``IPRoute(netns=...)`` forks a child to open its socket there, and a fork
    in a process that also runs gRPC threads (the agent's CNI server beside
    an in-process simulator) can kill the child. A socket keeps the netns it
    was opened in, so this thread enters the netns (setns is per thread),
    opens the socket and returns; pyroute2 keeps sockets per thread, so the
    handle is used in this thread only.
    """
    if path is None:
        with IPRoute() as ipr:
            yield ipr
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            netns.setns(target)
        finally:
            os.close(target)
        try:
            ipr = IPRoute()
        finally:
            netns.setns(own)
    finally:
        os.close(own)
    with ipr:
        yield ipr


@dataclass
class TapSpec:
    tun: bool
    host_if_name: str
    netns: str | None
    mtu: int | None
    mac: bytes | None
    ip4: ipaddress.IPv4Interface | None
    ip6: ipaddress.IPv6Interface | None
    gw4: ipaddress.IPv4Address | None
    gw6: ipaddress.IPv6Address | None
    bridge: str | None = None


@dataclass
class HostDevice:
    """A device we created: its name, where it lives and the fd that keeps it alive."""

    name: str
    netns: str | None
    fd: int
    ifindex: int


class NetDevices:
    """Creates and removes the real devices, or only records when it cannot."""

    def __init__(self, mode: DevicesMode) -> None:
        self.mode = mode
        self.real = False
        self._devices: dict[int, HostDevice] = {}

    def start(self) -> None:
        possible = _has_net_admin() and os.path.exists("/dev/net/tun")
        if self.mode == "real" and not possible:
            raise RuntimeError(
                "devices='real' needs CAP_NET_ADMIN and /dev/net/tun to create tun/tap devices"
            )
        self.real = possible and self.mode != "record"
        if self.mode == "auto" and not possible:
            log.warning(
                "vppsim: no CAP_NET_ADMIN or no /dev/net/tun: tap/tun interfaces are recorded "
                "only, no Linux device is created"
            )

    # -- tap / tun -------------------------------------------------------------
    def create_tap(self, spec: TapSpec) -> HostDevice | None:
        """Create the device or raise ApiError with the retval VPP would give."""
        if not self.real:
            return None
        path = netns_path(spec.netns) if spec.netns else None
        if path is not None and not os.path.exists(path):
            raise ApiError(SYSCALL_ERROR_2, f"netns {spec.netns} does not exist")
        tmp = "vsim" + secrets.token_hex(5)
        flags = (_IFF_TUN if spec.tun else _IFF_TAP) | _IFF_NO_PI
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR)
        except OSError as e:
            raise ApiError(SYSCALL_ERROR_2, f"open /dev/net/tun: {e}") from e
        try:
            fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", tmp.encode(), flags))
            self._place(tmp, spec.host_if_name, path)
            dev = HostDevice(spec.host_if_name, path, fd, 0)
            self._configure(dev, spec)
        except ApiError:
            os.close(fd)
            raise
        except (OSError, NetlinkError) as e:
            os.close(fd)
            raise ApiError(NETLINK_ERROR, f"configuring {spec.host_if_name}: {e}") from e
        self._devices[fd] = dev
        return dev

    @staticmethod
    def _place(tmp: str, name: str, path: str | None) -> None:
        """Rename (and move) the fresh device; the kernel does both in one RTM_SETLINK."""
        with IPRoute() as ipr:
            (idx,) = ipr.link_lookup(ifname=tmp)
            if path is None:
                ipr.link("set", index=idx, ifname=name)
                return
            nsfd = os.open(path, os.O_RDONLY)
            try:
                ipr.link("set", index=idx, net_ns_fd=nsfd, ifname=name)
            finally:
                os.close(nsfd)

    @staticmethod
    def _configure(dev: HostDevice, spec: TapSpec) -> None:
        with _netlink(dev.netns) as ipr:
            (idx,) = ipr.link_lookup(ifname=dev.name)
            dev.ifindex = int(idx)
            if not spec.tun:
                mac = spec.mac or bytes([0x02, 0xFE]) + secrets.token_bytes(4)
                ipr.link("set", index=idx, address=mac.hex(":"))
                if spec.bridge:
                    (master,) = ipr.link_lookup(ifname=spec.bridge) or (None,)
                    if master is None:
                        raise ApiError(NETLINK_ERROR, f"no bridge {spec.bridge}")
                    ipr.link("set", index=idx, master=master)
            if spec.mtu:
                ipr.link("set", index=idx, mtu=spec.mtu)
            for iface in (spec.ip4, spec.ip6):
                if iface is not None:
                    ipr.addr(
                        "add", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen
                    )
            ipr.link("set", index=idx, state="up")
            if spec.gw4 is not None:
                ipr.route("add", dst="0.0.0.0/0", gateway=str(spec.gw4))
            if spec.gw6 is not None:
                ipr.route("add", dst="::/0", gateway=str(spec.gw6), family=10)

    def delete(self, dev: HostDevice | None) -> None:
        """Closing the only fd of a non-persistent tun/tap destroys the device."""
        if dev is None:
            return
        if self._devices.pop(dev.fd, None) is not None:
            try:
                os.close(dev.fd)
            except OSError as e:
                log.warning("vppsim: closing tun fd of %s: %s", dev.name, e)

    def delete_all(self) -> None:
        for dev in list(self._devices.values()):
            self.delete(dev)

    # -- af_packet -------------------------------------------------------------
    def host_interface_mac(self, name: str) -> bytes | None:
        """MAC of a host interface in our own netns; None when it does not exist.

        Without real devices the host is not looked at: any name is taken to
        exist, so a recording simulator still accepts af_packet interfaces.
        """
        if not self.real:
            return b""
        try:
            with IPRoute() as ipr:
                links = ipr.link("get", ifname=name)  # one RTM_GETLINK, not a dump of all
        except NetlinkError:
            return None
        if not links:
            return None
        addr = links[0].get_attr("IFLA_ADDRESS")
        return bytes.fromhex(addr.replace(":", "")) if addr else b""

    def host_interface_queues(self, name: str) -> int | None:
        """Receive queues of a host interface in our own netns (None: no such interface).

        Drivers that own NIC queues (af_xdp, rdma) cannot open more than the
        NIC has. A recording simulator does not look and answers a large number.
        """
        if not self.real:
            return 1024
        try:
            with IPRoute() as ipr:
                links = ipr.get_links(ifname=name)
        except NetlinkError:
            return None
        if not links:
            return None
        return int(links[0].get_attr("IFLA_NUM_RX_QUEUES") or 1)

    def pci_device_exists(self, address: str) -> bool:
        """Whether the PCI function exists on this host (always, when only recording)."""
        return not self.real or os.path.isdir(f"/sys/bus/pci/devices/{address}")
