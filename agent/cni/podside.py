"""The pod's side of a pod interface, through netlink (pyroute2) in the pod's netns.

VPP's tap_create makes the tun or tap device in the pod with its name, MTU
and addresses; what it cannot do is the pod's routing. That is done here:

* **tun** (L3, no MAC): each route goes straight out of the interface,
  ``default dev eth0``, as calico-vpp does.
* **tap and veth** (Ethernet): Calico's link-local gateway scheme. The pod
  routes through ``169.254.1.1`` (IPv4) and ``fe80::ecee:eeff:feee:eeee``
  (IPv6), reachable on the interface (``169.254.1.1 dev eth0 scope link``).
  Where Calico answers ARP for the gateway with proxy ARP on the host veth,
  vppnet writes a permanent neighbour entry mapping the gateway to the MAC
  of VPP's side of the interface, so the pod never has to resolve it.
* **veth** (fallback without /dev/vhost-net): the pair is made here, host
  end in the root netns under the Calico-style host interface name, pod end
  created directly inside the pod's netns under its final name, with the
  pod's MTU, MAC and addresses; VPP then attaches af_packet to the host end.

The MAC of an Ethernet pod interface is the one the CNI chose
(``PodInterface.mac``, given to VPP as a static neighbour); :func:`configure`
returns the MAC actually found in the pod so the caller can check it.

Everything is idempotent (replace, not add), so a repeated ADD converges to
the same pod. Deleting the device (VPP deleting its tap, or the veth pair
going) removes its addresses, routes and neighbours with it.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import ndmsg

from agent.cni.nsnetlink import NetnsEntryError, netlink_in
from agent.model import InterfaceType, IPNetwork, PodInterface

GATEWAY4 = ipaddress.IPv4Address("169.254.1.1")
GATEWAY6 = ipaddress.IPv6Address("fe80::ecee:eeff:feee:eeee")
TUN_MAC = "02:00:00:00:00:00"
"""What the reply carries for interfaces without a MAC (tun, memif), as calico-vpp does;
Calico's plugin requires a parseable MAC."""
SCOPE_LINK = 253
AF_INET6 = 10


class PodSideError(RuntimeError):
    """The pod's side could not be set up; the message says which step and why."""


def _netlink(what: str, fn: Callable[[], Any], tolerate: int | None = None) -> Any:
    try:
        return fn()
    except NetlinkError as e:
        if tolerate is not None and e.code == tolerate:
            return None
        raise PodSideError(f"{what}: {os.strerror(e.code) if e.code else e}") from e


@contextmanager
def _pod_ns(pod: PodInterface) -> Iterator[IPRoute]:
    try:
        with netlink_in(pod.netns) as ipr:
            yield ipr
    except NetnsEntryError as e:
        raise PodSideError(str(e)) from e


def _index(ipr: IPRoute, name: str, where: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise PodSideError(f"no interface {name} in {where}")
    return int(found[0])


def configure(pod: PodInterface, gateway_mac: str | None) -> str:
    """Routes (and the gateway neighbour) in the pod; returns the MAC for the reply.

    ``gateway_mac`` is VPP's MAC on an Ethernet pod interface; unused for tun.
    """
    if pod.interface_type is InterfaceType.MEMIF:
        return TUN_MAC  # no kernel interface: the pod's app speaks memif to VPP
    with _pod_ns(pod) as ipr:
        idx = _index(ipr, pod.key.interface, f"netns {pod.netns}")
        if pod.interface_type is InterfaceType.TUN:
            for route in pod.routes:
                _route_dev(ipr, idx, route)
            return TUN_MAC
        if gateway_mac is None:
            raise PodSideError(f"VPP's MAC on {pod.key} is unknown")
        versions = {route.version for route in pod.routes}
        for version in sorted(versions):
            _gateway(ipr, idx, version, gateway_mac)
        for route in pod.routes:
            gw = str(GATEWAY4 if route.version == 4 else GATEWAY6)
            family = {} if route.version == 4 else {"family": AF_INET6}
            _netlink(
                f"route {route} via {gw}",
                partial(ipr.route, "replace", dst=str(route), gateway=gw, oif=idx, **family),
            )
        links = ipr.get_links(idx)
        return str(links[0].get_attr("IFLA_ADDRESS"))


def _route_dev(ipr: IPRoute, idx: int, route: IPNetwork) -> None:
    args: dict[str, Any] = {"scope": SCOPE_LINK} if route.version == 4 else {"family": AF_INET6}
    _netlink(f"route {route} dev", lambda: ipr.route("replace", dst=str(route), oif=idx, **args))


def _gateway(ipr: IPRoute, idx: int, version: int, mac: str) -> None:
    if version == 4:
        _netlink(
            f"route {GATEWAY4}/32 scope link",
            lambda: ipr.route("replace", dst=f"{GATEWAY4}/32", oif=idx, scope=SCOPE_LINK),
        )
        gw, family = str(GATEWAY4), 2
    else:
        gw, family = str(GATEWAY6), AF_INET6
    _netlink(
        f"neighbour {gw}",
        lambda: ipr.neigh(
            "replace",
            dst=gw,
            lladdr=mac,
            ifindex=idx,
            family=family,
            state=ndmsg.states["permanent"],
        ),
    )


def create_veth(pod: PodInterface) -> bool:
    """The veth pair of a veth pod interface, pod end configured; idempotent.

    True when this call made the pair. A pair made here and not fully set up
    is removed again before the error is raised.
    """
    host = pod.host_interface_name
    with IPRoute() as root:
        existing = root.link_lookup(ifname=host)
        if existing:
            kind = root.get_links(existing[0])[0].get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
            if kind != "veth":
                raise PodSideError(f"host interface {host} exists and is not a veth ({kind})")
        else:
            nsfd = os.open(pod.netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                peer: dict[str, Any] = {"ifname": pod.key.interface, "net_ns_fd": nsfd}
                if pod.mac is not None:
                    peer["address"] = pod.mac
                _netlink(
                    f"veth {host} <-> {pod.key.interface} in {pod.netns}",
                    lambda: root.link("add", ifname=host, kind="veth", peer=peer),
                )
            finally:
                os.close(nsfd)
    try:
        _configure_veth(pod)
    except PodSideError:
        if not existing:
            delete_veth(host)
        raise
    return not existing


def _configure_veth(pod: PodInterface) -> None:
    host = pod.host_interface_name
    with IPRoute() as root:
        idx = _index(root, host, "the root netns")
        _netlink(f"{host} up", lambda: root.link("set", index=idx, mtu=pod.mtu, state="up"))
    with _pod_ns(pod) as ipr:
        idx = _index(ipr, pod.key.interface, f"netns {pod.netns}")
        _netlink(f"{pod.key.interface} mtu", lambda: ipr.link("set", index=idx, mtu=pod.mtu))
        if pod.mac is not None:  # also when the pair was there already: VPP is told this MAC
            mac = pod.mac
            _netlink(f"{pod.key.interface} mac", lambda: ipr.link("set", index=idx, address=mac))
        for address in pod.addresses:
            _netlink(
                f"address {address}",
                partial(
                    ipr.addr,
                    "add",
                    index=idx,
                    address=str(address.ip),
                    prefixlen=address.network.prefixlen,
                ),
                tolerate=errno.EEXIST,
            )
        _netlink(f"{pod.key.interface} up", lambda: ipr.link("set", index=idx, state="up"))


def delete_veth(host_name: str) -> bool:
    """Remove a veth pair by its host end (both ends go); False when it was not there.

    Only a veth is ever deleted: a device of another kind under that name is
    not ours.
    """
    with IPRoute() as root:
        found = root.link_lookup(ifname=host_name)
        if not found:
            return False
        kind = root.get_links(found[0])[0].get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
        if kind != "veth":
            return False
        _netlink(f"delete {host_name}", lambda: root.link("del", index=found[0]), errno.ENODEV)
        return True
