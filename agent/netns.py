"""Named network namespaces (``/var/run/netns/<name>``), through pyroute2.

Used where vppnet itself must make or inspect a pod's namespace: the demo
creates the namespaces its sample pods live in, and shows what VPP put
there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyroute2 import netns

from agent.cni.nsnetlink import netlink_in

NETNS_DIRS = ("/var/run/netns", "/run/netns")


def named(path: str) -> str | None:
    """The name of a netns given as ``/var/run/netns/<name>`` (or /run/netns), else None."""
    p = Path(path)
    if str(p.parent) in NETNS_DIRS and p.name and "/" not in p.name:
        return p.name
    return None


def can_manage() -> bool:
    """Creating namespaces and devices needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)."""
    return os.geteuid() == 0


def ensure(name: str) -> bool:
    """Create the named netns unless it exists; True when this call created it."""
    if name in netns.listnetns():
        return False
    netns.create(name)
    return True


def remove(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


def links(name: str) -> list[dict[str, Any]]:
    """Name, MTU, state and addresses of every link in the named netns."""
    out: list[dict[str, Any]] = []
    with netlink_in(f"{NETNS_DIRS[0]}/{name}") as ns:
        addrs: dict[int, list[str]] = {}
        for a in ns.get_addr():
            addrs.setdefault(a["index"], []).append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
        for link in ns.get_links():
            out.append(
                {
                    "name": link.get_attr("IFLA_IFNAME"),
                    "mtu": link.get_attr("IFLA_MTU"),
                    "state": link.get_attr("IFLA_OPERSTATE"),
                    "addresses": addrs.get(link["index"], []),
                }
            )
    return out
