"""What the node can do for pod interfaces, found out once at start-up.

VPP's tap driver (tun and tap pod interfaces) is virtio backed and needs
``/dev/vhost-net``; some kernels (minimal VM images, some managed nodes)
do not have it. Knowing that up front lets every ADD choose the veth
fallback directly instead of failing in VPP first. The probe is a plain
callable so tests can pretend either way.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

VHOST_NET = "/dev/vhost-net"

VhostNetProbe = Callable[[], bool]


def vhost_net_available(path: str = VHOST_NET) -> bool:
    """Whether the vhost-net character device exists (VPP opens it for every tap)."""
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False
