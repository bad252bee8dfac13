"""Give the uplink back to Linux, from a grab record (live or read from the state file).

Every step tolerates being already done — a VPP that is gone, a veth pair
already deleted, addresses already there — because give-back runs after
crashes at any point of a grab and may itself be interrupted and re-run.
Only what the record says was changed is touched: a grab that failed
before its first change to the host leaves the host exactly as it was.
"""

from __future__ import annotations

import logging

from pyroute2 import IPRoute

from agent.manager import pci, statefile
from agent.manager.config import ManagerSettings
from agent.manager.hostif import delete_veth
from agent.manager.linux import restore_uplink
from agent.manager.process import VppProcess, stop_pid
from agent.manager.statefile import GrabRecord

log = logging.getLogger(__name__)


def give_back(
    ipr: IPRoute, settings: ManagerSettings, record: GrabRecord, vpp: VppProcess | None = None
) -> None:
    c = record.created
    uplink = record.uplink
    if vpp is not None:
        vpp.stop()
    elif c.vpp_pid is not None:
        stop_pid(c.vpp_pid, c.vpp_start_time, settings.vpp.stop_timeout)
    if c.host_interface and (c.host_interface != uplink.name or c.pci_rebound_to):
        delete_veth(ipr, c.host_interface)
    changed = c.addresses_removed or c.link_flags_changed or bool(c.sysctls)
    if c.pci_rebound_to and uplink.pci_address:
        pci.unbind_override(settings.system.sysfs, uplink.pci_address, uplink.kernel_driver)
        pci.wait_netdev(ipr, uplink.pci_address, uplink.name)
        changed = True
    if changed:
        restore_uplink(ipr, uplink, settings.system.procfs)
        log.info("gave %s back to Linux", uplink.name)
    statefile.remove(settings.state_file)


def recover(ipr: IPRoute, settings: ManagerSettings) -> bool:
    """Restore from a state file left by a manager that did not finish; True if there was one."""
    record = statefile.load(settings.state_file)
    if record is None:
        return False
    log.warning(
        "found %s from a previous manager that did not give %s back; restoring it first",
        settings.state_file,
        record.uplink.name,
    )
    give_back(ipr, settings, record)
    return True
