"""vppnet manager: gives the node's uplink to VPP and the host its connectivity back.

The process of the DaemonSet's VPP container. It captures the uplink's
Linux state, renders startup.conf, starts VPP (or the simulator), has VPP
take the NIC with the configured driver, moves the node's addresses and
routes onto a tun/tap (or veth) host interface served by VPP, and on
shutdown, on VPP's death, or at the next start after a crash, restores the
uplink exactly as captured. See docs/operations.md.

Entry points: :func:`run_manager` (programmatic), :func:`agent.manager.entry.command`
with :func:`agent.manager.entry.add_arguments` (the ``vppnet manager`` sub-command).
"""

from agent.manager.config import ManagerConfigError, ManagerSettings, load_settings, parse_settings
from agent.manager.errors import ManagerError, ValidationError, VppStartError
from agent.manager.run import check, run_manager

__all__ = [
    "ManagerConfigError",
    "ManagerError",
    "ManagerSettings",
    "ValidationError",
    "VppStartError",
    "check",
    "load_settings",
    "parse_settings",
    "run_manager",
]
