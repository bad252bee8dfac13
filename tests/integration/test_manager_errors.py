"""Bad settings and unfit nodes: a clear error naming what to fix, and an untouched host."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pyroute2 import IPRoute

from tests.integration.manager_fixtures import (
    UPLINK,
    Topology,
    links,
    run_manager_once,
    settings_file,
    snapshot,
    topology,
)

pytestmark = pytest.mark.root

__all__ = ["topology"]


def _fails(topo: Topology, *messages: str, **settings: Any) -> str:
    before = topo.wait_settled()
    code, output = run_manager_once(topo, settings_file(topo, **settings))
    assert code == 2, output
    for message in messages:
        assert message in output, output
    assert "Traceback" not in output
    assert snapshot(topo.node) == before, "the host was changed"
    assert set(links(topo.node)) == {"lo", UPLINK}
    assert not (topo.tmp / "state" / "uplink.json").exists()
    return output


def test_unknown_uplink(topology: Topology) -> None:
    _fails(topology, "uplink.interface: no interface 'eth9'", uplink={"interface": "eth9"})


def test_unknown_key_names_it(topology: Topology) -> None:
    _fails(topology, "uplink.drivr", "Extra inputs are not permitted", uplink={"drivr": "dpdk"})


def test_driver_not_available(topology: Topology) -> None:
    _fails(
        topology,
        "uplink.driver: dpdk drives a PCI function and eth0 has none (it is a veth device)",
        "dpdk needs hugepages",
        "memory.page_size: dpdk needs 'hugepage'",
        uplink={"driver": "dpdk"},
    )


def test_rdma_needs_an_rdma_nic(topology: Topology) -> None:
    _fails(topology, "uplink.driver: rdma needs an RDMA-capable NIC", uplink={"driver": "rdma"})


def test_vpp_binary_missing(topology: Topology) -> None:
    missing = str(topology.tmp / "no" / "vpp")
    _fails(topology, f"vpp.binary: {missing} is not an executable file", vpp={"binary": missing})


def test_socket_never_appears(topology: Topology) -> None:
    script = topology.tmp / "silent-vpp"
    script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n", encoding="utf-8")
    script.chmod(0o755)
    _fails(
        topology,
        "did not open its API socket",
        "(vpp.start_timeout)",
        vpp={"binary": str(script), "start_timeout": 1},
    )


def test_vpp_exits_at_once(topology: Topology) -> None:
    script = topology.tmp / "broken-vpp"
    script.write_text(f"#!{sys.executable}\nraise SystemExit(3)\n", encoding="utf-8")
    script.chmod(0o755)
    _fails(
        topology, "exited with status 3 before opening its API socket", vpp={"binary": str(script)}
    )


def test_more_queues_than_the_nic_has(topology: Topology) -> None:
    _fails(
        topology,
        "uplink.rx_queues: 64 requested, eth0 has",
        uplink={"driver": "af_xdp", "rx_queues": 64},
    )


def test_jumbo_mtu_with_af_xdp(topology: Topology) -> None:
    _fails(
        topology,
        "uplink.mtu: 9000 is more than af_xdp can carry (3498)",
        uplink={"driver": "af_xdp", "mtu": 9000},
    )


def test_two_ports_in_one_subnet(topology: Topology) -> None:
    with IPRoute(netns=topology.node, flags=0) as ipr:
        ipr.link("add", ifname="eth1", kind="veth", peer="eth1p")
        (index,) = ipr.link_lookup(ifname="eth1")
        ipr.addr("add", index=index, address="10.77.0.9", prefixlen=24)
    before = topology.wait_settled()
    code, output = run_manager_once(topology, settings_file(topology))
    assert code == 2
    assert "eth1 (10.77.0.9/24) is in the subnet of eth0 (10.77.0.5/24)" in output
    assert snapshot(topology.node) == before


def test_network_manager_owns_the_uplink(topology: Topology) -> None:
    index = snapshot(topology.node).ifindex
    devices = topology.tmp / "run" / "NetworkManager" / "devices"
    devices.mkdir(parents=True)
    (devices / str(index)).write_text("[device]\nmanaged=true\n", encoding="utf-8")
    links_dir = topology.tmp / "run" / "systemd" / "netif" / "links"
    links_dir.mkdir(parents=True)
    (links_dir / str(index)).write_text("ADMIN_STATE=configured\nOPER_STATE=routable\n")
    _fails(
        topology,
        "eth0 is managed by NetworkManager",
        "eth0 is managed by systemd-networkd",
        "ADMIN_STATE=configured",
    )


def test_unmanaged_devices_are_fine(topology: Topology, tmp_path: Path) -> None:
    from tests.integration.manager_fixtures import start_manager, wait_ready

    index = snapshot(topology.node).ifindex
    devices = topology.tmp / "run" / "NetworkManager" / "devices"
    devices.mkdir(parents=True)
    (devices / str(index)).write_text("[device]\nmanaged=false\n", encoding="utf-8")
    run = start_manager(topology, settings_file(topology))
    try:
        wait_ready(topology, run, "vpp0")
    finally:
        assert run.stop() == 0


def test_check_only_validates(topology: Topology) -> None:
    from tests.integration.manager_fixtures import start_manager

    before = topology.wait_settled()
    run = start_manager(topology, settings_file(topology, vhost_net=False), "--check")
    assert run.proc.wait(30) == 0, run.output()
    assert "ok: eth0 can be taken with af_packet" in run.output()
    assert "using a veth pair" in run.output()
    assert snapshot(topology.node) == before
    assert set(links(topology.node)) == {"lo", UPLINK}
