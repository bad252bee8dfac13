"""The shipped VPP binary API definitions (``agent/apidefs/*.api.json``).

They must describe exactly the messages vppnet uses with the names, fields and CRCs
VPP v26.06 announces (the ``name_crc`` keys of its message table), and vpp_papi must
be able to load them and (de)serialise real messages with them.
"""

from __future__ import annotations

import binascii
import ipaddress
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vpp_papi import VppEnum, vpp_serializer
from vpp_papi.vpp_papi import VPPApiClient, VPPApiJSONFiles

from agent.apidefs import api_dir, api_files, load_module, module_names

# Every message of VPP v26.06 that vppnet uses, as it appears in the message table
# of sockclnt_create_reply: "<name>_<crc without 0x>".
EXPECTED_NAME_CRCS = [
    # memclnt
    "sockclnt_create_455fb9c4",
    "sockclnt_create_reply_35166268",
    "sockclnt_delete_8ac76db6",
    "sockclnt_delete_reply_8f38b1ee",
    "control_ping_51077d14",
    "control_ping_reply_f6b0b8ca",
    "memclnt_keepalive_51077d14",
    "memclnt_keepalive_reply_e8d4e804",
    "get_first_msg_id_ebf79a66",
    "get_first_msg_id_reply_7d337472",
    "api_versions_51077d14",
    "api_versions_reply_5f0d99d6",
    # vpe
    "show_version_51077d14",
    "show_version_reply_c919bde1",
    # interface
    "sw_interface_dump_aa610c27",
    "sw_interface_details_6c221fc7",
    "sw_interface_set_flags_f5aec1b8",
    "sw_interface_set_flags_reply_e8d4e804",
    "sw_interface_add_del_address_5463d73b",
    "sw_interface_add_del_address_reply_e8d4e804",
    "sw_interface_set_table_df42a577",
    "sw_interface_set_table_reply_e8d4e804",
    "sw_interface_set_mtu_5cbe85e5",
    "sw_interface_set_mtu_reply_e8d4e804",
    "sw_interface_set_mac_address_c536e7eb",
    "sw_interface_set_mac_address_reply_e8d4e804",
    "sw_interface_tag_add_del_426f8bc1",
    "sw_interface_tag_add_del_reply_e8d4e804",
    "sw_interface_set_rx_mode_b04d1cfe",
    "sw_interface_set_rx_mode_reply_e8d4e804",
    "sw_interface_set_unnumbered_154a6439",
    "sw_interface_set_unnumbered_reply_e8d4e804",
    "want_interface_events_476f5a08",
    "want_interface_events_reply_e8d4e804",
    "sw_interface_event_2d3d95a7",
    "create_loopback_42bb5d22",
    "create_loopback_reply_5383d31f",
    "delete_loopback_f9e6675e",
    "delete_loopback_reply_e8d4e804",
    # ip
    "ip_table_add_del_0ffdaec0",
    "ip_table_add_del_reply_e8d4e804",
    "ip_table_add_del_v2_14e5081f",
    "ip_table_add_del_v2_reply_e8d4e804",
    "ip_table_dump_51077d14",
    "ip_table_details_c79fca0f",
    "ip_route_add_del_b8ecfe0d",
    "ip_route_add_del_reply_1992deab",
    "ip_route_dump_b9d2e09e",
    "ip_route_details_bda8f315",
    "ip_address_dump_2d033de4",
    "ip_address_details_ee29b797",
    "ip_punt_redirect_6580f635",
    "ip_punt_redirect_reply_e8d4e804",
    "ip_punt_redirect_dump_2d033de4",
    "ip_punt_redirect_details_2cef63e7",
    # ip_neighbor
    "ip_neighbor_add_del_0607c257",
    "ip_neighbor_add_del_reply_1992deab",
    "ip_neighbor_dump_d817a484",
    "ip_neighbor_details_e29d79f0",
    # af_packet
    "af_packet_create_v3_b3a809d4",
    "af_packet_create_v3_reply_5383d31f",
    "af_packet_delete_863fa648",
    "af_packet_delete_reply_e8d4e804",
    "af_packet_dump_51077d14",
    "af_packet_details_58c7c042",
    # tapv2
    "tap_create_v3_3f3fd1df",
    "tap_create_v3_reply_5383d31f",
    "tap_create_v2_2d0d6570",
    "tap_create_v2_reply_5383d31f",
    "tap_delete_v2_f9e6675e",
    "tap_delete_v2_reply_e8d4e804",
    "sw_interface_tap_v2_dump_f9e6675e",
    "sw_interface_tap_v2_details_1e2b2a47",
    # memif
    "memif_socket_filename_add_del_v2_34223bdf",
    "memif_socket_filename_add_del_v2_reply_9f29bdb9",
    "memif_create_v2_8c7de5f7",
    "memif_create_v2_reply_5383d31f",
    "memif_delete_f9e6675e",
    "memif_delete_reply_e8d4e804",
    "memif_dump_51077d14",
    "memif_details_da34feb9",
    "memif_socket_filename_dump_51077d14",
    "memif_socket_filename_details_7ff326f7",
    # vxlan
    "vxlan_add_del_tunnel_v3_0072b037",
    "vxlan_add_del_tunnel_v3_reply_5383d31f",
    "vxlan_tunnel_v2_dump_f9e6675e",
    "vxlan_tunnel_v2_details_d3bdd4d9",
    # cnat
    "cnat_translation_update_f8d40bc5",
    "cnat_translation_update_reply_e2fc8294",
    "cnat_translation_del_3a91bde5",
    "cnat_translation_del_reply_e8d4e804",
    "cnat_translation_dump_51077d14",
    "cnat_translation_details_1a5140b7",
    "cnat_snat_policy_add_del_if_4ebb8d02",
    "cnat_snat_policy_add_del_if_reply_e8d4e804",
    "cnat_snat_policy_add_del_exclude_pfx_e26dd79a",
    "cnat_snat_policy_add_del_exclude_pfx_reply_e8d4e804",
    "cnat_set_snat_policy_37a3ce23",
    "cnat_set_snat_policy_reply_e8d4e804",
    "cnat_set_snat_addresses_d997e96c",
    "cnat_set_snat_addresses_reply_e8d4e804",
    "cnat_get_snat_addresses_51077d14",
    "cnat_get_snat_addresses_reply_879513c1",
    "cnat_session_purge_51077d14",
    "cnat_session_purge_reply_e8d4e804",
    "feature_cnat_enable_disable_5501adee",
    "feature_cnat_enable_disable_reply_e8d4e804",
    # nat44_ed
    "nat44_ed_plugin_enable_disable_be17f8dd",
    "nat44_ed_plugin_enable_disable_reply_e8d4e804",
    "nat44_add_del_interface_addr_4aed50c0",
    "nat44_add_del_interface_addr_reply_e8d4e804",
    "nat44_interface_add_del_feature_f3699b83",
    "nat44_interface_add_del_feature_reply_e8d4e804",
    "nat44_interface_dump_51077d14",
    "nat44_interface_details_5d286289",
    "nat44_interface_addr_dump_51077d14",
    "nat44_interface_addr_details_e4aca9ca",
    "nat44_add_del_address_range_6f2b8055",
    "nat44_add_del_address_range_reply_e8d4e804",
    # lcp
    "lcp_itf_pair_add_del_40482b80",
    "lcp_itf_pair_add_del_reply_e8d4e804",
    "lcp_itf_pair_add_del_v2_40482b80",
    "lcp_itf_pair_add_del_v2_reply_39452f52",
    "lcp_itf_pair_add_del_v3_40482b80",
    "lcp_itf_pair_add_del_v3_reply_c2502663",
    "lcp_itf_pair_get_f75ba505",
    "lcp_itf_pair_get_reply_53b48f5d",
    "lcp_itf_pair_details_8b5481af",
    "lcp_default_ns_set_69749409",
    "lcp_default_ns_set_reply_e8d4e804",
    # npol
    "npol_get_version_51077d14",
    "npol_get_version_reply_9b32cf86",
    "npol_ipset_create_f948b404",
    "npol_ipset_create_reply_6a43f193",
    "npol_ipset_add_del_members_8ad1b2ed",
    "npol_ipset_add_del_members_reply_e8d4e804",
    "npol_ipset_delete_ceacdbcb",
    "npol_ipset_delete_reply_e8d4e804",
    "npol_rule_create_f113de45",
    "npol_rule_create_reply_b48f8052",
    "npol_rule_update_e38bffe2",
    "npol_rule_update_reply_e8d4e804",
    "npol_rule_delete_d19bb6be",
    "npol_rule_delete_reply_e8d4e804",
    "npol_policy_create_3441bb97",
    "npol_policy_create_reply_90f27405",
    "npol_policy_update_21a5f7ef",
    "npol_policy_update_reply_e8d4e804",
    "npol_policy_delete_ad833868",
    "npol_policy_delete_reply_e8d4e804",
    "npol_configure_policies_66fe1335",
    "npol_configure_policies_reply_e8d4e804",
    # uplink drivers created through the API (vppnet manager)
    "af_xdp_create_v3_cf4b1827",
    "af_xdp_create_v3_reply_5383d31f",
    "af_xdp_delete_f9e6675e",
    "af_xdp_delete_reply_e8d4e804",
    "rdma_create_v5_7112208a",
    "rdma_create_v5_reply_5383d31f",
    "rdma_delete_f9e6675e",
    "rdma_delete_reply_e8d4e804",
    "avf_create_daab8ae2",
    "avf_create_reply_5383d31f",
    "avf_delete_f9e6675e",
    "avf_delete_reply_e8d4e804",
    # ipip (inter-node IPIP tunnels)
    "ipip_add_tunnel_2ac399f5",
    "ipip_add_tunnel_reply_5383d31f",
    "ipip_del_tunnel_f9e6675e",
    "ipip_del_tunnel_reply_e8d4e804",
    "ipip_tunnel_dump_f9e6675e",
    "ipip_tunnel_details_d31cb34e",
]

MODULES = {
    # module: (module version, file CRC)
    "memclnt": ("2.1.0", "0xb197c551"),
    "vpe": ("1.7.0", "0xbbfa7484"),
    "interface": ("3.2.4", "0xcf7004cc"),
    "ip": ("3.2.0", "0xc55aec44"),
    "ip_neighbor": ("1.0.1", "0x36db39bd"),
    "af_packet": ("2.0.0", "0x5b12de21"),
    "tapv2": ("4.0.0", "0xc2f80dc7"),
    "memif": ("3.1.0", "0xd48ac702"),
    "vxlan": ("2.1.0", "0x95381587"),
    "cnat": ("1.0.0", "0xc121e90a"),
    "nat44_ed": ("5.5.0", "0x6f9bc302"),
    "lcp": ("1.0.0", "0x68b5c2b5"),
    "npol": ("0.1.0", "0x4d281077"),
    "af_xdp": ("1.0.0", "0x7a23ff7b"),
    "rdma": ("4.0.0", "0x9da8a27b"),
    "avf": ("1.0.0", "0x4d79aac3"),
    "ipip": ("2.0.1", "0x03c9c667"),
}

DEPRECATED = {
    "ip_punt_redirect",
    "ip_punt_redirect_reply",
    "ip_punt_redirect_dump",
    "ip_punt_redirect_details",
    "tap_create_v2",
    "tap_create_v2_reply",
    "lcp_itf_pair_add_del",
    "lcp_itf_pair_add_del_reply",
    "avf_create",
    "avf_create_reply",
    "avf_delete",
    "avf_delete_reply",
}

IN_PROGRESS = {
    "lcp_itf_pair_add_del_v2",
    "lcp_itf_pair_add_del_v2_reply",
    "lcp_itf_pair_add_del_v3",
    "lcp_itf_pair_add_del_v3_reply",
    "lcp_itf_pair_details",
    "lcp_default_ns_set",
    "lcp_default_ns_set_reply",
}

TOP_LEVEL_KEYS = {
    "types",
    "messages",
    "unions",
    "enums",
    "enumflags",
    "services",
    "options",
    "aliases",
    "vl_api_version",
    "imports",
    "counters",
    "paths",
}

BASE_TYPES = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f64", "bool", "string"}
TYPE_REF = re.compile(r"^vl_api_(\w+)_t$")
CRC = re.compile(r"^0x[0-9a-f]{8}$")


def _messages(module: dict[str, Any]) -> list[list[Any]]:
    msgs: list[list[Any]] = module["messages"]
    return msgs


def _meta(msg: list[Any]) -> dict[str, Any]:
    meta = msg[-1]
    assert isinstance(meta, dict), f"{msg[0]}: no trailing crc/options dict"
    return meta


def _fields(definition: list[Any]) -> Iterator[list[Any]]:
    """The field lists of a message/type/union definition (name and trailing dict skipped)."""
    for item in definition[1:]:
        if isinstance(item, list):
            yield item


@pytest.fixture(scope="module")
def papi_messages() -> dict[str, Any]:
    _files, messages, _services = VPPApiJSONFiles.load_api(apidir=str(api_dir()))
    loaded: dict[str, Any] = messages
    return loaded


# The 148 messages of the fact sheet plus the 12 of the uplink drivers (af_xdp, rdma, avf).
SHIPPED_MESSAGES = 148 + 12 + 6 + 4  # + ipip's 6, + the loopback's 4 (interface.api)


def test_expected_list_is_the_sheet() -> None:
    assert len(EXPECTED_NAME_CRCS) == SHIPPED_MESSAGES
    assert len(set(EXPECTED_NAME_CRCS)) == SHIPPED_MESSAGES


def test_one_file_per_module() -> None:
    assert module_names() == sorted(MODULES)
    assert [p.name for p in api_files()] == [f"{m}.api.json" for m in sorted(MODULES)]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_file_layout(name: str) -> None:
    module = load_module(name)
    version, file_crc = MODULES[name]
    assert set(module) == TOP_LEVEL_KEYS
    assert module["options"] == {"version": version}
    assert module["vl_api_version"] == file_crc
    assert module["counters"] == []
    assert module["paths"] == []
    assert all(isinstance(i, str) and i.endswith(".api") for i in module["imports"])


def test_files_are_plain_json() -> None:
    for path in api_files():
        # Parsable by the standard library alone (the simulator reads them without vpp_papi).
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


def test_message_table_is_exactly_v26_06() -> None:
    shipped: list[str] = []
    for name in MODULES:
        for msg in _messages(load_module(name)):
            shipped.append(msg[0] + "_" + _meta(msg)["crc"][2:])
    assert len(shipped) == len(set(shipped)), "a message is defined twice"
    assert set(shipped) == set(EXPECTED_NAME_CRCS)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_message_shape(name: str) -> None:
    for msg in _messages(load_module(name)):
        assert isinstance(msg[0], str)
        assert msg[1] == ["u16", "_vl_msg_id"], msg[0]
        meta = _meta(msg)
        assert CRC.match(meta["crc"]), msg[0]
        assert isinstance(meta["options"], dict), msg[0]
        assert ("deprecated" in meta["options"]) == (msg[0] in DEPRECATED), msg[0]
        if msg[0] in DEPRECATED:
            assert meta["options"]["deprecated"] is None
        assert (meta["options"].get("status") == "in_progress") == (msg[0] in IN_PROGRESS), msg[0]
        names = [f[1] for f in _fields(msg)]
        assert len(names) == len(set(names)), f"{msg[0]}: duplicate field"


def _check_field(field: list[Any], earlier: list[str], known: set[str], where: str) -> None:
    ftype, fname = field[0], field[1]
    assert isinstance(fname, str), where
    rest = field[2:]
    if rest and isinstance(rest[-1], dict):
        assert set(rest[-1]) <= {"default", "limit"}, where
        rest = rest[:-1]
    if ftype not in BASE_TYPES:
        m = TYPE_REF.match(ftype)
        assert m, f"{where}.{fname}: bad type {ftype}"
        assert m.group(1) in known, f"{where}.{fname}: {ftype} not defined in this file"
    if rest:
        assert isinstance(rest[0], int) and rest[0] >= 0, where
    if len(rest) == 2:
        assert rest[0] == 0, where
        assert rest[1] in earlier, f"{where}.{fname}: count field {rest[1]} not before it"
    assert len(rest) <= 2, where
    if ftype == "string":
        assert len(rest) == 1, f"{where}.{fname}: string needs a length (0 = variable)"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_type_references_resolve_within_the_file(name: str) -> None:
    module = load_module(name)
    known: set[str] = set(module["aliases"])
    for section in ("types", "unions", "enums", "enumflags"):
        known |= {d[0] for d in module[section]}
    definitions = [d[0] for s in ("types", "unions", "enums", "enumflags") for d in module[s]]
    assert len(definitions) == len(set(definitions)), f"{name}: a type is defined twice"
    for alias, target in module["aliases"].items():
        assert set(target) <= {"type", "length"}, alias
        tm = TYPE_REF.match(target["type"])
        assert target["type"] in BASE_TYPES or (tm and tm.group(1) in known), alias
    for section in ("enums", "enumflags"):
        for enum in module[section]:
            assert enum[-1] in ({"enumtype": "u8"}, {"enumtype": "u16"}, {"enumtype": "u32"})
            for entry in enum[1:-1]:
                assert isinstance(entry[0], str) and isinstance(entry[1], int), enum[0]
    for section in ("types", "unions", "messages"):
        for definition in module[section]:
            earlier: list[str] = []
            for field in _fields(definition):
                _check_field(field, earlier, known, f"{name}:{definition[0]}")
                earlier.append(field[1])


# Enum members marked [backwards_compatible] in the .api files: vppapigen leaves them out
# of the CRC (the JSON does not mark them).
BACKWARDS_COMPATIBLE = {
    "TAP_API_FLAG_PACKED",
    "TAP_API_FLAG_IN_ORDER",
    "TAP_API_FLAG_CONSISTENT_QP",
    "AF_PACKET_API_FLAG_VERSION_2",
    "TUNNEL_API_ENCAP_DECAP_FLAG_ENCAP_INNER_HASH",
}


def _crc_text(definition: list[Any], skip_msg_id: bool = False) -> bytes:
    """vppapigen's CRC input for a block: str() of [type, name] / [type, name, len, count]."""
    items: list[list[Any]] = []
    for field in _fields(definition):
        if skip_msg_id and field == ["u16", "_vl_msg_id"]:
            continue
        rest = [x for x in field[2:] if not isinstance(x, dict)]
        if rest:
            items.append([field[0], field[1], rest[0], rest[1] if len(rest) > 1 else None])
        else:
            items.append([field[0], field[1]])
    return str(items).encode()


def _fold(definition: list[Any], crc: int, defs: dict[str, tuple[str, Any]]) -> int:
    """vppapigen's foldup_blocks: mix in the CRC of every nested type, recursively."""
    for field in _fields(definition):
        m = TYPE_REF.match(field[0])
        if not m:
            continue
        kind, d = defs[m.group(1)]
        if kind == "enum":
            members = [e for e in d[1:-1] if e[0] not in BACKWARDS_COMPATIBLE]
            crc = binascii.crc32(str(members).encode(), crc)
        elif kind == "alias":
            crc = binascii.crc32(b"[]", crc)
        else:
            crc = _fold(d, binascii.crc32(_crc_text(d), crc), defs)
    return crc


@pytest.mark.parametrize("name", sorted(MODULES))
def test_crcs_match_the_definitions(name: str) -> None:
    """Recompute each message CRC from the JSON itself: fields, types and enum values agree."""
    module = load_module(name)
    defs: dict[str, tuple[str, Any]] = {a: ("alias", t) for a, t in module["aliases"].items()}
    for section, kind in (("types", "type"), ("unions", "type"), ("enums", "enum")):
        defs |= {d[0]: (kind, d) for d in module[section]}
    defs |= {d[0]: ("enum", d) for d in module["enumflags"]}
    for msg in _messages(module):
        crc = _fold(msg, binascii.crc32(_crc_text(msg, skip_msg_id=True)), defs)
        assert f"0x{crc:08x}" == _meta(msg)["crc"], msg[0]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_services_refer_to_messages_of_the_file(name: str) -> None:
    module = load_module(name)
    names = {m[0] for m in _messages(module)}
    services: dict[str, dict[str, Any]] = module["services"]
    covered: set[str] = set()
    for request, svc in services.items():
        assert request in names, request
        assert set(svc) <= {"reply", "stream", "stream_msg", "events"}, request
        covered.add(request)
        if svc["reply"] != "null":
            assert svc["reply"] in names, request
            covered.add(svc["reply"])
        if "stream_msg" in svc:
            assert svc["stream"] is True
            assert svc["stream_msg"] in names, request
            covered.add(svc["stream_msg"])
        elif svc.get("stream"):
            assert request.endswith("_dump") and svc["reply"] == request[:-5] + "_details"
        for event in svc.get("events", []):
            assert event in names, request
            covered.add(event)
    # Every shipped message is a request, or the reply/details/event of one.
    assert covered == names


def test_special_services() -> None:
    assert load_module("interface")["services"]["want_interface_events"] == {
        "reply": "want_interface_events_reply",
        "events": ["sw_interface_event"],
    }
    assert load_module("lcp")["services"]["lcp_itf_pair_get"] == {
        "reply": "lcp_itf_pair_get_reply",
        "stream": True,
        "stream_msg": "lcp_itf_pair_details",
    }
    assert load_module("interface")["services"]["sw_interface_dump"] == {
        "reply": "sw_interface_details",
        "stream": True,
    }
    assert load_module("memclnt")["services"]["control_ping"] == {"reply": "control_ping_reply"}


def _field(module: str, message: str, field: str) -> list[Any]:
    for msg in _messages(load_module(module)):
        if msg[0] == message:
            for f in _fields(msg):
                if f[1] == field:
                    return f
    raise AssertionError(f"{module}.{message}.{field} not found")


def test_defaults_and_arrays() -> None:
    assert _field("interface", "sw_interface_dump", "sw_if_index") == [
        "vl_api_interface_index_t",
        "sw_if_index",
        {"default": 4294967295},
    ]
    assert _field("interface", "sw_interface_dump", "name_filter") == ["string", "name_filter", 0]
    assert _field("interface", "sw_interface_details", "mtu") == ["u32", "mtu", 4]
    assert _field("tapv2", "tap_create_v3", "use_random_mac")[2] == {"default": "true"}
    assert _field("tapv2", "tap_create_v3", "tx_ring_sz")[2] == {"default": 256}
    assert _field("tapv2", "tap_create_v3", "tag") == ["string", "tag", 0]
    assert _field("tapv2", "tap_create_v3", "host_if_name") == ["string", "host_if_name", 64]
    assert _field("vxlan", "vxlan_add_del_tunnel_v3", "is_l3")[2] == {"default": False}
    assert _field("npol", "npol_configure_policies", "policy_ids") == [
        "u32",
        "policy_ids",
        0,
        "total_ids",
    ]
    assert _field("memclnt", "sockclnt_create_reply", "message_table") == [
        "vl_api_message_table_entry_t",
        "message_table",
        0,
        "count",
    ]


def test_papi_loads_every_file(papi_messages: dict[str, Any]) -> None:
    assert len(papi_messages) == SHIPPED_MESSAGES
    for name in MODULES:
        for msg in _messages(load_module(name)):
            assert papi_messages[msg[0]].crc == _meta(msg)["crc"]
    assert vpp_serializer.vpp_get_type("vl_api_address_family_t") is not None
    assert VppEnum.vl_api_address_family_t.ADDRESS_IP4 == 0
    assert VppEnum.vl_api_address_family_t.ADDRESS_IP6 == 1


def test_papi_client_accepts_the_directory(tmp_path: Path) -> None:
    # The constructor loads the files and insists on the address_family enum; it does not connect.
    client = VPPApiClient(
        apidir=str(api_dir()), use_socket=True, server_address=str(tmp_path / "api.sock")
    )
    assert "control_ping" in client.messages
    assert "sockclnt_create" in client.messages
    assert len(client.messages) == SHIPPED_MESSAGES


@pytest.mark.parametrize(
    ("type_name", "size"),
    [
        ("vl_api_fib_path_t", 167),
        ("vl_api_address_t", 17),
        ("vl_api_prefix_t", 18),
        ("vl_api_address_with_prefix_t", 18),
        ("vl_api_ip4_address_with_prefix_t", 5),
        ("vl_api_ip6_address_with_prefix_t", 17),
        ("vl_api_mac_address_t", 6),
        ("vl_api_cnat_endpoint_t", 24),
        ("vl_api_cnat_endpoint_tuple_t", 49),
        ("vl_api_npol_ipset_member_t", 20),
        ("vl_api_npol_ipset_member_val_t", 20),
        ("vl_api_ip_table_t", 69),
    ],
)
def test_serialized_sizes(papi_messages: dict[str, Any], type_name: str, size: int) -> None:
    assert papi_messages  # types are registered by loading the files
    assert vpp_serializer.vpp_get_type(type_name).size == size


def _fib_path(sw_if_index: int, nh: str) -> dict[str, Any]:
    return {
        "sw_if_index": sw_if_index,
        "table_id": 0,
        "rpf_id": 0,
        "weight": 1,
        "preference": 0,
        "type": 0,  # FIB_API_PATH_TYPE_NORMAL
        "flags": 0,
        "proto": 0,  # FIB_API_PATH_NH_PROTO_IP4
        "nh": {"address": {"ip4": nh}, "via_label": 0, "obj_id": 0, "classify_table_index": 0},
        "n_labels": 0,
        "label_stack": [{}] * 16,
    }


def test_round_trip_ip_route_add_del(papi_messages: dict[str, Any]) -> None:
    msg = papi_messages["ip_route_add_del"]
    data = msg.pack(
        {
            "_vl_msg_id": 42,
            "client_index": 7,
            "context": 99,
            "is_add": True,
            "is_multipath": False,
            "route": {
                "table_id": 3,
                "prefix": "10.8.0.0/16",
                "n_paths": 2,
                "paths": [_fib_path(1, "192.168.1.1"), _fib_path(2, "192.168.2.1")],
            },
        }
    )
    assert len(data) == 2 + 4 + 4 + 1 + 1 + (4 + 4 + 18 + 1) + 2 * 167
    assert data[:2] == b"\x00\x2a"
    r, size = msg.unpack(data)
    assert size == len(data)
    assert (r.client_index, r.context, r.is_add, r.is_multipath) == (7, 99, True, False)
    assert r.route.table_id == 3
    assert r.route.prefix == ipaddress.IPv4Network("10.8.0.0/16")
    assert r.route.n_paths == 2
    assert [p.sw_if_index for p in r.route.paths] == [1, 2]
    assert [p.nh.address.ip4 for p in r.route.paths] == [
        ipaddress.IPv4Address("192.168.1.1"),
        ipaddress.IPv4Address("192.168.2.1"),
    ]
    assert len(r.route.paths[0].label_stack) == 16


def test_round_trip_tap_create_v3(papi_messages: dict[str, Any]) -> None:
    msg = papi_messages["tap_create_v3"]
    tag = "vppnet:pod/default/web-0/eth0"
    data = msg.pack(
        {
            "_vl_msg_id": 300,
            "client_index": 1,
            "context": 5,
            "mac_address": "02:fe:00:00:00:01",
            "host_if_name_set": True,
            "host_if_name": "vpp-tap0",
            "host_namespace_set": True,
            "host_namespace": "/var/run/netns/pod1",
            "host_ip4_prefix_set": True,
            "host_ip4_prefix": "10.1.2.3/24",
            "tap_flags": 16,  # TAP_API_FLAG_TUN
            "tag": tag,
        }
    )
    assert len(data) == msg.size + 4 + len(tag)
    r, size = msg.unpack(data)
    assert size == len(data)
    assert r.tag == tag
    assert r.context == 5
    # Omitted fields take the JSON defaults.
    assert r.id == 0xFFFFFFFF
    assert r.use_random_mac is True
    assert (r.num_rx_queues, r.num_tx_queues, r.tx_ring_sz, r.rx_ring_sz) == (1, 1, 256, 256)
    assert r.host_if_name == "vpp-tap0"
    assert r.host_namespace == "/var/run/netns/pod1"
    assert r.host_ip4_prefix == ipaddress.IPv4Interface("10.1.2.3/24")
    assert str(r.mac_address) == "02:fe:00:00:00:01"
    assert int(r.tap_flags) == 16


def _endpoint(addr: str, port: int) -> dict[str, Any]:
    return {"addr": addr, "sw_if_index": 0xFFFFFFFF, "if_af": 0, "port": port}


def test_round_trip_cnat_translation_update(papi_messages: dict[str, Any]) -> None:
    msg = papi_messages["cnat_translation_update"]
    paths = [
        {"dst_ep": _endpoint("10.0.1.5", 8080), "src_ep": _endpoint("0.0.0.0", 0), "flags": 0},
        {"dst_ep": _endpoint("fd00::6", 8080), "src_ep": _endpoint("::", 0), "flags": 2},
    ]
    data = msg.pack(
        {
            "_vl_msg_id": 400,
            "client_index": 1,
            "context": 11,
            "translation": {
                "vip": _endpoint("10.96.0.10", 80),
                "id": 0,
                "ip_proto": 6,  # IP_API_PROTO_TCP
                "is_real_ip": 0,
                "flags": 1,  # CNAT_TRANSLATION_ALLOC_PORT
                "lb_type": 1,  # CNAT_LB_TYPE_MAGLEV
                "n_paths": 2,
                "flow_hash_config": 0x1F,
                "paths": paths,
            },
        }
    )
    fixed = 2 + 4 + 4 + (24 + 4 + 1 + 1 + 1 + 1 + 4 + 4)
    assert len(data) == fixed + 2 * 49
    r, size = msg.unpack(data)
    assert size == len(data)
    t = r.translation
    assert t.vip.addr == ipaddress.IPv4Address("10.96.0.10")
    assert (t.vip.port, t.vip.sw_if_index) == (80, 0xFFFFFFFF)
    assert (int(t.ip_proto), t.flags, int(t.lb_type), t.n_paths) == (6, 1, 1, 2)
    assert int(t.flow_hash_config) == 0x1F
    assert t.paths[0].dst_ep.addr == ipaddress.IPv4Address("10.0.1.5")
    assert t.paths[1].dst_ep.addr == ipaddress.IPv6Address("fd00::6")
    assert [p.dst_ep.port for p in t.paths] == [8080, 8080]
    assert [p.flags for p in t.paths] == [0, 2]
