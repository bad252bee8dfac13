"""One node's BGP speaker against a real gobgpd (no sessions needed, so no root).

gobgpd runs without listening (listen_port -1); what the speaker put into it
is read back through gobgpd's own API: paths (ListPath) and peers (ListPeer).
"""

from __future__ import annotations

import ipaddress
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import plugins
from agent.bgp import BgpApiError, BgpError, BgpSettings, BgpSpeaker, GobgpdMissingError
from agent.bgp import paths as bgp_paths
from agent.bgp.client import GobgpClient
from agent.dataplane import Dataplane
from agent.model import (
    BgpConfiguration,
    BgpPeer,
    ClusterModel,
    Network,
    PodInterface,
    PodInterfaceKey,
    Service,
    ServiceEndpoint,
    ServiceType,
    TrafficPolicy,
)
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection
from agent.vppsim import Simulator
from tests.integration.bgp_fixtures import node
from tests.k8sfake import wait_until

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

needs_gobgpd = pytest.mark.skipif(
    shutil.which("gobgpd") is None, reason="gobgpd is not installed (Debian package gobgpd)"
)

RED = Network("red", 100, (NET("172.16.0.0/16"),), advertise=True)
CONFIG = BgpConfiguration("default", service_load_balancer_ips=(NET("203.0.113.0/24"),))
LB = Service(
    "default",
    "web",
    ServiceType.LOAD_BALANCER,
    load_balancer_ips=(IP("203.0.113.5"),),
    external_traffic_policy=TrafficPolicy.LOCAL,
    endpoints=(ServiceEndpoint((IP("10.244.1.5"),), node="a"),),
)
RED_POD = PodInterface(
    PodInterfaceKey("default", "r1", "net1"), "c-r1", "/var/run/netns/r1", "vpp-r1",
    (IF("172.16.1.2/32"),), network="red",
)  # fmt: skip


def model() -> ClusterModel:
    return ClusterModel.build(
        "a",
        nodes=[node("a", 1, "10.244.1.0/26")],
        networks=[RED],
        pod_interfaces=[RED_POD],
        services=[LB],
        bgp_configurations=[CONFIG],
    )


class Single:
    def __init__(self, tmp: Path, **settings: object) -> None:
        self.sim = Simulator(tmp / "vpp.sock", devices="record")
        self.sim.start()
        self.conn = VppConnection(self.sim.socket_path, timeout=5.0)
        self.conn.connect(check=REQUIRED_MESSAGES)
        self.state = ClusterState(model())
        self.dataplane = Dataplane(
            self.state, Reconciler(self.conn, tmp / "idx.json"), plugins.render
        )
        self.settings = BgpSettings.model_validate(
            {
                "api_socket": str(tmp / "gobgp.sock"),
                "listen_port": -1,
                "debounce_seconds": 0.01,
                "max_delay_seconds": 0.1,
                "restart_backoff_initial": 0.1,
                **settings,
            }
        )
        self.speaker = BgpSpeaker(self.state, self.dataplane, self.settings)

    def announced(self) -> set[tuple[str, str, int | None]]:
        """What gobgpd's RIB holds (empty while gobgpd is down or not started)."""
        out = set()
        with GobgpClient(f"unix:{self.settings.api_socket}") as client:
            try:
                for family in bgp_paths.ALL_FAMILIES:
                    for _prefix, path in client.paths(family):
                        d = bgp_paths.decode(path)
                        out.add((str(d.prefix), str(d.next_hop), d.vni))
            except BgpApiError:
                return set()
        return out

    def peers(self) -> set[str]:
        with GobgpClient(f"unix:{self.settings.api_socket}") as client:
            try:
                return {p.conf.neighbor_address for p in client.peers()}
            except BgpApiError:
                return set()

    def close(self) -> None:
        self.speaker.stop_sync()
        self.conn.close()
        self.sim.stop()


@pytest.fixture
def single(tmp_path: Path) -> Iterator[Single]:
    s = Single(tmp_path)
    try:
        s.speaker.start_sync()
        yield s
    finally:
        s.close()


EXPECTED = {
    ("10.244.1.0/26", "192.168.77.1", None),
    ("203.0.113.0/24", "192.168.77.1", None),
    ("203.0.113.5/32", "192.168.77.1", None),
    ("172.16.1.2/32", "192.168.77.1", 100),
}


@needs_gobgpd
def test_advertisements_follow_the_model(single: Single) -> None:
    wait_until(lambda: single.announced() == EXPECTED)
    assert single.speaker.status.started and single.speaker.status.announced == 4
    # the endpoint moves away: the /32 is withdrawn; the pool range stays
    moved = replace(LB, endpoints=(ServiceEndpoint((IP("10.244.2.5"),), node="b"),))
    single.state.update(lambda m: replace(m, services={LB.key: moved}), "endpoint moved")
    wait_until(lambda: single.announced() == EXPECTED - {("203.0.113.5/32", "192.168.77.1", None)})
    # the network stops asking: its VPN route is withdrawn
    quiet = replace(RED, advertise=False)
    single.state.update(lambda m: replace(m, networks={"red": quiet}), "red quiet")
    wait_until(lambda: ("172.16.1.2/32", "192.168.77.1", 100) not in single.announced())


@needs_gobgpd
def test_a_crashed_gobgpd_is_restarted_with_everything_re_added(single: Single) -> None:
    peer = BgpPeer("tor", peer_ip=IP("192.168.77.9"), as_number=65009)
    single.state.update(lambda m: replace(m, bgp_peers={"tor": peer}), "peer")
    wait_until(lambda: single.announced() == EXPECTED and single.peers() == {"192.168.77.9"})
    first = single.speaker.status.pid
    single.speaker.kill_gobgpd()
    wait_until(lambda: single.speaker.status.restarts == 1, timeout=15)
    assert single.speaker.status.pid != first
    wait_until(lambda: single.announced() == EXPECTED and single.peers() == {"192.168.77.9"})


@needs_gobgpd
def test_bad_peer_configuration_is_reported_and_the_rest_applied(single: Single) -> None:
    good = BgpPeer("tor", peer_ip=IP("192.168.77.9"), as_number=65009)
    bad = BgpPeer("racks", node_selector="rack in {'r1'", peer_ip=IP("192.168.77.8"), as_number=1)
    no_asn = BgpPeer("half", peer_ip=IP("192.168.77.7"))
    single.state.update(
        lambda m: replace(m, bgp_peers={"tor": good, "racks": bad, "half": no_asn}), "peers"
    )
    wait_until(lambda: single.peers() == {"192.168.77.9"})
    single.speaker.wait_idle()
    problems = single.speaker.status.problems
    assert any(p.startswith("BGPPeer racks: spec.nodeSelector: ") for p in problems), problems
    assert "BGPPeer half: spec.asNumber: required with spec.peerIP" in problems
    assert single.speaker.status.running, "a bad peer never stops the speaker"


def test_a_missing_gobgpd_is_a_clear_error(tmp_path: Path) -> None:
    s = Single(tmp_path, gobgpd_path=str(tmp_path / "no" / "gobgpd"))
    try:
        with pytest.raises(GobgpdMissingError, match=r"bgp.gobgpd_path .* does not exist"):
            s.speaker.start_sync()
    finally:
        s.close()
    s = Single(tmp_path, gobgpd_path="no-such-gobgpd-binary")
    try:
        with pytest.raises(GobgpdMissingError, match="install the Debian package gobgpd"):
            s.speaker.start_sync()
    finally:
        s.close()


def test_a_gobgpd_that_dies_at_start_says_why(tmp_path: Path) -> None:
    fake = tmp_path / "gobgpd"
    fake.write_text("#!/bin/sh\necho 'bind: address already in use' >&2\nexit 3\n")
    fake.chmod(0o755)
    s = Single(tmp_path, gobgpd_path=str(fake))
    try:
        with pytest.raises(BgpError, match=r"status 3 while starting:\nbind: address already"):
            s.speaker.start_sync()
    finally:
        s.close()


def bgp_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("bgp-"))


@needs_gobgpd
def test_a_stop_while_starting_waits_for_the_start_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    """The agent torn down while its speaker starts: the start goes on in its thread
    after the agent's await is cancelled, and the stop comes at once. Whatever the
    start launches after the stop began must still be stopped."""
    before = bgp_threads()
    for attempt in range(3):
        run_dir = tmp_path / str(attempt)
        run_dir.mkdir()
        s = Single(run_dir)
        starting = threading.Thread(target=s.speaker.start_sync)
        try:
            starting.start()
            while starting.is_alive() and not s.speaker.status.running:
                time.sleep(0)  # stop the moment gobgpd runs, as the torn-down agent does
            s.speaker.stop_sync()
            starting.join(10)
            assert not s.speaker.status.running
            assert bgp_threads() == before, f"attempt {attempt}"
        finally:
            s.close()
