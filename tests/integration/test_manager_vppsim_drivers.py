"""The simulator's af_xdp, rdma and avf handlers, through the typed VPP layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.vpp import VppApiError, VppConnection, drivers, interfaces
from agent.vppsim import Simulator


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[VppConnection]:
    with Simulator(tmp_path / "api.sock", devices="record"):
        c = VppConnection(tmp_path / "api.sock", timeout=3.0)
        c.connect(check=drivers.MESSAGES)
        try:
            yield c
        finally:
            c.close()


def test_af_xdp_create_and_delete(conn: VppConnection) -> None:
    sw = conn.call(drivers.af_xdp_create(drivers.AfXdpCreate("ens3", "ens3", rx_queues=2)))
    (i,) = conn.dump(interfaces.dump(sw))
    assert (i.name, i.dev_type, i.link_up) == ("ens3", "af_xdp", True)
    with pytest.raises(VppApiError, match="IF_ALREADY_EXISTS"):
        conn.call(drivers.af_xdp_create(drivers.AfXdpCreate("ens3", "other")))
    with pytest.raises(VppApiError, match="INVALID_INTERFACE"):
        conn.call(drivers.rdma_delete(sw))
    conn.call(drivers.af_xdp_delete(sw))
    assert conn.dump(interfaces.dump(sw)) == []
    with pytest.raises(VppApiError, match="INVALID_VALUE"):
        conn.call(drivers.af_xdp_create(drivers.AfXdpCreate("")))


def test_rdma_default_name(conn: VppConnection) -> None:
    sw = conn.call(drivers.rdma_create(drivers.RdmaCreate("ens4")))
    (i,) = conn.dump(interfaces.dump(sw))
    assert i.name.startswith("rdma-") and i.dev_type == "rdma"
    conn.call(drivers.rdma_delete(sw))


def test_avf_names_the_interface_after_the_pci_address(conn: VppConnection) -> None:
    sw = conn.call(drivers.avf_create(drivers.AvfCreate("0000:3b:02.1")))
    (i,) = conn.dump(interfaces.dump(sw))
    assert i.name == "avf-0/3b/2/1"
    conn.call(drivers.avf_delete(sw))


@pytest.mark.root
def test_af_xdp_checks_the_host_interface(tmp_path: Path) -> None:
    with (
        Simulator(tmp_path / "r.sock", devices="real"),
        VppConnection(tmp_path / "r.sock", timeout=3.0) as c,
    ):
        c.connect()
        with pytest.raises(VppApiError, match="INVALID_VALUE"):
            c.call(drivers.af_xdp_create(drivers.AfXdpCreate("no-such-if0")))
        with pytest.raises(VppApiError, match="INVALID_VALUE"):
            c.call(drivers.af_xdp_create(drivers.AfXdpCreate("lo", rx_queues=500)))
        with pytest.raises(VppApiError, match="INVALID_INTERFACE"):
            c.call(drivers.avf_create(drivers.AvfCreate("ffff:ff:1f.7")))
