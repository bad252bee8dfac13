"""agent.vpp.ipip builds exactly the messages VPP expects (packed by vpp-papi's serializer)."""

from __future__ import annotations

import ipaddress
from typing import Any

from vpp_papi.vpp_papi import VPPApiJSONFiles

from agent.apidefs import api_dir
from agent.vpp import ipip
from agent.vpp.request import Dump, Request

_, MESSAGES, _SERVICES = VPPApiJSONFiles.load_api(apidir=str(api_dir()))


def _roundtrip(req: Request[Any] | Dump[Any]) -> Any:
    fields = {"_vl_msg_id": 100, "client_index": 0, "context": 1, **req.args}
    decoded, _ = MESSAGES[req.msg].unpack(MESSAGES[req.msg].pack(fields))
    return decoded


def test_add_tunnel_carries_the_endpoints_and_outer_table() -> None:
    t = ipip.IpipTunnel(ipaddress.ip_address("192.168.0.1"), ipaddress.ip_address("10.1.0.2"), 7)
    d = _roundtrip(ipip.add_tunnel(t)).tunnel
    assert (str(d.src), str(d.dst), d.table_id) == ("192.168.0.1", "10.1.0.2", 7)
    assert d.instance == ipip.AUTO_INSTANCE and int(d.mode) == ipip.TunnelMode.P2P


def test_delete_is_by_interface_and_dump_defaults_to_all() -> None:
    assert _roundtrip(ipip.del_tunnel(12)).sw_if_index == 12
    assert _roundtrip(ipip.dump()).sw_if_index == 0xFFFFFFFF


def test_details_parse_to_typed_values() -> None:
    msg = MESSAGES["ipip_tunnel_details"]
    tunnel = {
        "instance": 3,
        "src": "fd00::1",
        "dst": "fd00::2",
        "sw_if_index": 9,
        "table_id": 0,
        "flags": 4,
        "mode": 0,
        "dscp": 0,
    }
    raw, _ = msg.unpack(msg.pack({"_vl_msg_id": 1, "context": 1, "tunnel": tunnel}))
    parsed = ipip.dump().parse(raw)
    assert parsed.sw_if_index == 9
    assert parsed.tunnel.src == ipaddress.IPv6Address("fd00::1")
    assert parsed.tunnel.flags == ipip.EncapDecapFlags.ENCAP_COPY_DSCP
