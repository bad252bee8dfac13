"""The driver requests of agent.vpp.drivers pack with papi against the shipped definitions."""

from __future__ import annotations

from typing import Any

import pytest
from vpp_papi.vpp_papi import VPPApiJSONFiles

from agent.apidefs import api_dir
from agent.vpp import drivers
from agent.vpp.request import Request

_, MESSAGES, _SERVICES = VPPApiJSONFiles.load_api(apidir=str(api_dir()))


def _unpack(req: Request[Any]) -> Any:
    packed = MESSAGES[req.msg].pack(
        {"_vl_msg_id": 100, "client_index": 0, "context": 1, **req.args}
    )
    decoded, size = MESSAGES[req.msg].unpack(packed)
    assert size == len(packed)
    return decoded


def test_af_xdp_create() -> None:
    spec = drivers.AfXdpCreate("ens3", "ens3", rx_queues=4, mode=drivers.AfXdpMode.ZERO_COPY)
    d = _unpack(drivers.af_xdp_create(spec))
    assert (d.host_if, d.name, d.rxq_num, int(d.mode), int(d.flags)) == ("ens3", "ens3", 4, 2, 0)


def test_rdma_create() -> None:
    d = _unpack(
        drivers.rdma_create(drivers.RdmaCreate("ens4", rx_queues=2, mode=drivers.RdmaMode.DV))
    )
    assert (d.host_if, d.rxq_num, d.rxq_size, int(d.mode)) == ("ens4", 2, 1024, 2)


def test_avf_create_encodes_the_pci_address_like_vpp() -> None:
    d = _unpack(drivers.avf_create(drivers.AvfCreate("0000:3b:02.1", rx_queues=2)))
    assert d.pci_addr == 0x0000 | 0x3B << 16 | 0x02 << 24 | 1 << 29
    assert d.rxq_num == 2


@pytest.mark.parametrize("bad", ["3b:02.1", "0000:3b:02", "0000:3b:20.0", "zzzz:00:00.0"])
def test_bad_pci_addresses(bad: str) -> None:
    with pytest.raises(ValueError, match="PCI"):
        drivers.pci_address_u32(bad)


@pytest.mark.parametrize(
    "req", [drivers.af_xdp_delete(3), drivers.rdma_delete(3), drivers.avf_delete(3)], ids=str
)
def test_deletes(req: Request[None]) -> None:
    assert _unpack(req).sw_if_index == 3


def test_each_driver_lists_request_messages_with_replies() -> None:
    for name in drivers.MESSAGES:
        assert _SERVICES[name]["reply"] == f"{name}_reply"
