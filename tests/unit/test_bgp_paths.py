"""agent.bgp.paths, learned, config: paths in GoBGP's API form and what is learned from them."""

from __future__ import annotations

import ipaddress

import pytest
from google.protobuf.any_pb2 import Any as AnyPb
from pydantic import ValidationError

from agent.bgp import BgpSettings
from agent.bgp.learned import LearnedRib
from agent.bgp.paths import AS_TRANS, Announced, DecodedPath, decode, encode
from agent.proto_gen import gobgp_pb2 as pb

NET = ipaddress.ip_network
IP = ipaddress.ip_address


def received(path: pb.Path, neighbor: str = "192.168.0.2", withdraw: bool = False) -> pb.Path:
    copy = pb.Path()
    copy.CopyFrom(path)
    copy.neighbor_ip = neighbor
    copy.is_withdraw = withdraw
    return copy


@pytest.mark.parametrize(
    ("prefix", "next_hop", "vni", "attr"),
    [
        ("10.244.1.0/26", "192.168.0.1", None, "apipb.NextHopAttribute"),
        ("fd10::100/122", "fd00::1", None, "apipb.MpReachNLRIAttribute"),
        ("172.16.1.0/24", "192.168.0.1", 100, "apipb.NextHopAttribute"),
        ("fd20::/64", "fd00::1", 4001, "apipb.MpReachNLRIAttribute"),
    ],
)
def test_encode_then_decode(prefix: str, next_hop: str, vni: int | None, attr: str) -> None:
    announced = Announced(NET(prefix), IP(next_hop), vni)
    path = encode(announced, 64512)
    assert path.family.safi == (pb.Family.SAFI_MPLS_VPN if vni else pb.Family.SAFI_UNICAST)
    urls = [a.type_url for a in path.pattrs]
    assert urls == ["type.googleapis.com/apipb.OriginAttribute", f"type.googleapis.com/{attr}"]
    local = decode(path)
    assert local.neighbor is None and local.announced == announced
    learned = decode(received(path))
    assert learned == DecodedPath(NET(prefix), IP(next_hop), vni, IP("192.168.0.2"), False)


def test_a_four_octet_asn_uses_as_trans_in_the_route_distinguisher() -> None:
    path = encode(Announced(NET("172.16.0.0/24"), IP("192.168.0.1"), 7), 4_200_000_000)
    nlri = pb.LabeledVPNIPAddressPrefix()
    path.nlri.Unpack(nlri)
    rd = pb.RouteDistinguisherTwoOctetASN()
    nlri.rd.Unpack(rd)
    assert (rd.admin, rd.assigned) == (AS_TRANS, 7)


def test_other_families_are_refused() -> None:
    other = AnyPb()
    other.Pack(pb.OriginAttribute())
    with pytest.raises(ValueError, match="unsupported NLRI"):
        decode(pb.Path(nlri=other))


def test_learned_rib_best_paths_withdrawals_and_our_own() -> None:
    rib = LearnedRib()
    path = encode(Announced(NET("10.244.2.0/26"), IP("192.168.0.2")), 64512)
    assert rib.apply(decode(received(path)))
    assert not rib.apply(decode(received(path))), "the same path again changes nothing"
    assert list(rib.routes()) == [("", NET("10.244.2.0/26"))]
    assert rib.apply(decode(path)), "our own path became best: nothing learned for it"
    assert rib.routes() == {}
    rib.apply(decode(received(path)))
    assert rib.apply(decode(received(path, withdraw=True)))
    assert rib.routes() == {}


def test_learned_rib_keeps_stale_routes_across_a_restart() -> None:
    rib = LearnedRib()
    a = encode(Announced(NET("10.244.2.0/26"), IP("192.168.0.2")), 64512)
    b = encode(Announced(NET("10.244.3.0/26"), IP("192.168.0.3")), 64512)
    rib.apply(decode(received(a)))
    rib.apply(decode(received(b, "192.168.0.3")))
    rib.begin_restart()
    assert len(rib.routes()) == 2 and rib.stale_count == 2
    rib.apply(decode(received(a)))
    assert rib.stale_count == 1
    assert rib.end_restart() == 1
    assert list(rib.routes()) == [("", NET("10.244.2.0/26"))]


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"gobgpd_bin": "x"}, "Extra inputs are not permitted"),
        ({"router_id": "fd00::1"}, "router id is an IPv4 address"),
        ({"restart_backoff_initial": 5, "restart_backoff_max": 1}, "restart_backoff_max"),
        ({"peers": [{"name": "x", "address": "nope", "asn": 1}]}, "address"),
        (
            {"peers": [{"name": "x", "address": "10.0.0.1", "asn": 1}] * 2},
            "names must be unique",
        ),
        ({"graceful_restart": {"restart_time": 0}}, "restart_time"),
    ],
)
def test_settings_refuse_bad_values(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        BgpSettings.model_validate(settings)
