"""One grab of the uplink: VPP up, NIC in VPP, host on the host interface — and back.

The order keeps the outage short and every step undoable: the state file
is written before anything changes and updated before each change that must
be undone; VPP is configured completely (uplink, host interface, routes,
punt) while Linux still serves the node; only then are the addresses and
routes moved from the Linux uplink to the host interface. Any failure gives
the uplink back before the error goes up.
"""

from __future__ import annotations

import logging
import threading

from pyroute2 import IPRoute

from agent.manager import hostenv, pci, startup, statefile, vppconf
from agent.manager.config import ManagerSettings
from agent.manager.drivers import DRIVERS, create_uplink, pci_of
from agent.manager.hostif import (
    HostInterface,
    create_veth,
    create_vpp_end,
    dress_linux_side,
)
from agent.manager.linux import QUIET_SYSCTLS, strip_uplink
from agent.manager.process import VppProcess, start_time
from agent.manager.restore import give_back
from agent.manager.statefile import GrabRecord
from agent.manager.validate import Preflight
from agent.vpp import BASE_MESSAGES, VppConnection, af_packet, interfaces, ip, tap

log = logging.getLogger(__name__)


def needed_messages(settings: ManagerSettings, host_type: str) -> tuple[str, ...]:
    """Every message this grab sends: the start-up check requires exactly these."""
    names = [*BASE_MESSAGES, *interfaces.MESSAGES, *ip.MESSAGES]
    names += DRIVERS[settings.uplink.driver].messages
    names += af_packet.MESSAGES if host_type == "veth" else tap.MESSAGES
    return tuple(dict.fromkeys(names))


class Grab:
    def __init__(self, ipr: IPRoute, settings: ManagerSettings, pre: Preflight) -> None:
        assert pre.uplink is not None, "preflight found no uplink"
        self.ipr = ipr
        self.settings = settings
        self.pre = pre
        self.uplink = pre.uplink
        self.record = GrabRecord(pre.uplink, settings.uplink.driver)
        self.vpp = VppProcess(settings, vhost_net=hostenv.vhost_net(settings.system))
        self.conn: VppConnection | None = None
        self.host: HostInterface | None = None

    def _save(self, **created: object) -> None:
        self.record = self.record.with_created(**created)
        statefile.save(self.settings.state_file, self.record)

    def up(self) -> None:
        """Grab; on any failure give everything back and re-raise."""
        try:
            self._up()
        except BaseException:
            try:
                self.down()
            except Exception as e:
                log.error(
                    "giving %s back after the failed grab failed too (%s); %s stays for the next "
                    "start",
                    self.uplink.name,
                    e,
                    self.settings.state_file,
                )
            raise

    def _up(self) -> None:
        s, pre, uplink = self.settings, self.pre, self.uplink
        spec = DRIVERS[s.uplink.driver]
        statefile.save(s.state_file, self.record)
        startup.write(s.vpp.startup_conf, startup.render(s, uplink))
        address = pci_of(s, uplink)
        target = s.uplink.kernel_driver or spec.default_kernel_driver
        if (
            spec.needs_pci
            and address
            and target
            and pci.current_driver(s.system.sysfs, address) != target
        ):
            self._save(pci_rebound_to=target)
            pci.bind(s.system.sysfs, address, target)
        self.vpp.start()
        pid = self.vpp.pid
        self._save(vpp_pid=pid, vpp_start_time=start_time(pid) if pid else None)
        self.vpp.wait_ready()
        conn = self.conn = VppConnection(s.vpp.socket, timeout=s.vpp.api_timeout)
        conn.connect(wait=s.vpp.start_timeout, check=needed_messages(s, pre.host_type))
        uplink_sw = create_uplink(conn, s, uplink)
        self._save(host_interface=pre.host_name)
        if pre.host_type == "veth":
            self._save(host_peer=pre.peer_name)
            create_veth(
                self.ipr, pre.host_name, pre.peer_name, uplink.mac, pre.mtu, s.system.procfs
            )
        host_sw = create_vpp_end(
            conn, s, pre.host_type, pre.host_name, pre.peer_name, uplink, pre.mtu
        )
        peer = pre.peer_name if pre.host_type == "veth" else None
        self.host = HostInterface(pre.host_type, pre.host_name, host_sw, peer)
        vppconf.configure(conn, uplink, uplink_sw, host_sw, pre.host_type, pre.mtu)
        if spec.kernel_keeps_netdev:
            planned = dict(uplink.sysctls)
            quiet = tuple((t, v) for t, v in QUIET_SYSCTLS if t in planned and planned[t] != v)
            self._save(addresses_removed=True, link_flags_changed=True, sysctls=quiet)
            strip_uplink(self.ipr, uplink, s.system.procfs)
        dress_linux_side(self.ipr, self.host, uplink, pre.mtu)
        log.warning(
            "vppnet manager: %s is served by VPP (%s); the host uses %s %s",
            uplink.name,
            s.uplink.driver,
            pre.host_type,
            pre.host_name,
        )

    def wait(self, stop: threading.Event, poll: float = 0.2) -> int | None:
        """Until ``stop`` is set (None) or VPP exits (its status)."""
        while not stop.wait(poll):
            code = self.vpp.poll()
            if code is not None:
                return code
        return None

    def down(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        give_back(self.ipr, self.settings, self.record, self.vpp)
