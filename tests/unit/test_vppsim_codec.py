"""The simulator's codec against vpp-papi's serializer: identical bytes for random values."""

from __future__ import annotations

import ipaddress
import json
import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vpp_papi.vpp_papi import VPPApiJSONFiles

from agent.apidefs import api_dir, api_files
from agent.vppsim.codec import ApiSchema, CodecError, UnionValue

SCHEMA = ApiSchema(api_files())
_, PAPI, _ = VPPApiJSONFiles.load_api(apidir=str(api_dir()))

_DEFS: dict[str, tuple[str, Any]] = {}
for _path in api_files():
    _api = json.loads(_path.read_text())
    for _kind in ("types", "unions", "enums", "enumflags"):
        for _t in _api.get(_kind, []):
            _DEFS.setdefault(_t[0], (_kind, _t[1:]))
    for _name, _alias in _api.get("aliases", {}).items():
        _DEFS.setdefault(_name, ("alias", _alias))

_INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}
_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_/.:", max_size=20)
_V4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
_V6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
_SPECIAL: dict[str, st.SearchStrategy[Any]] = {
    "ip4_address": _V4,
    "ip6_address": _V6,
    "address": st.one_of(_V4, _V6),
    "mac_address": st.binary(min_size=6, max_size=6),
    "prefix": st.one_of(
        st.tuples(_V4, st.integers(0, 32)).map(lambda t: ipaddress.ip_network(t, strict=False)),
        st.tuples(_V6, st.integers(0, 128)).map(lambda t: ipaddress.ip_network(t, strict=False)),
    ),
    "address_with_prefix": st.one_of(
        st.tuples(_V4, st.integers(0, 32)).map(ipaddress.ip_interface),
        st.tuples(_V6, st.integers(0, 128)).map(ipaddress.ip_interface),
    ),
    "ip4_prefix": st.tuples(_V4, st.integers(0, 32)).map(
        lambda t: ipaddress.ip_network(t, strict=False)
    ),
    "ip4_address_with_prefix": st.tuples(_V4, st.integers(0, 32)).map(ipaddress.ip_interface),
    "ip6_address_with_prefix": st.tuples(_V6, st.integers(0, 128)).map(ipaddress.ip_interface),
}


def _bare(tname: str) -> str:
    return (
        tname.removeprefix("vl_api_").removesuffix("_t") if tname.startswith("vl_api_") else tname
    )


def _scalar(tname: str) -> st.SearchStrategy[Any]:
    name = _bare(tname)
    if name in _SPECIAL:
        return _SPECIAL[name]
    if name == "bool":
        return st.booleans()
    if name == "f64":
        # papi packs a falsy value as the field's default, so -0.0 goes out as +0.0
        return st.floats(allow_nan=False).filter(lambda x: x != 0.0 or math.copysign(1, x) > 0)
    if name in _INT_BITS:
        return st.integers(0, 2 ** _INT_BITS[name] - 1)
    if name.startswith("i") and name[1:].isdigit():
        bits = int(name[1:])
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    kind, data = _DEFS[name]
    if kind in ("enums", "enumflags"):
        width = next((d["enumtype"] for d in data if isinstance(d, dict)), "u32")
        return st.integers(0, 2 ** _INT_BITS[width] - 1)
    if kind == "alias":
        if "length" in data:
            return _array(data["type"], data["length"])
        return _scalar(data["type"])
    if kind == "unions":
        members = [f for f in data if isinstance(f, list)]
        return st.one_of(*(_member(f[0], f[1]) for f in members))
    return _struct([f for f in data if isinstance(f, list)], optional=False)


def _member(tname: str, name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: _scalar(tname)})


def _array(tname: str, n: int) -> st.SearchStrategy[Any]:
    if tname == "u8":
        return st.binary(max_size=n)
    return st.lists(_scalar(tname), min_size=n, max_size=n)


def _field(f: list[Any]) -> st.SearchStrategy[Any]:
    parts = [x for x in f if not isinstance(x, dict)]
    if parts[0] == "string":
        if parts[2]:
            return st.text(alphabet=string.ascii_letters + string.digits, max_size=parts[2] - 1)
        return _TEXT
    if len(parts) == 2:
        return _scalar(parts[0])
    return _array(parts[0], parts[2])


def _struct(fields: list[list[Any]], optional: bool) -> st.SearchStrategy[dict[str, Any]]:
    counted = {f[3]: f[1] for f in fields if len([x for x in f if not isinstance(x, dict)]) == 4}
    required: dict[str, st.SearchStrategy[Any]] = {}
    maybe: dict[str, st.SearchStrategy[Any]] = {}
    vlas: dict[str, st.SearchStrategy[Any]] = {}
    for f in fields:
        name = f[1]
        if name == "_vl_msg_id" or name in counted:
            continue
        if name in counted.values():
            vlas[name] = st.lists(_scalar(f[0]), max_size=3)
            continue
        plain = [x for x in f if not isinstance(x, dict)]
        fixed_list = len(plain) == 3 and plain[2] and plain[0] not in ("u8", "string")
        (required if not optional or fixed_list else maybe)[name] = _field(f)
    base = st.fixed_dictionaries(required, optional=maybe)

    def add_vlas(d: dict[str, Any], lists: dict[str, list[Any]]) -> dict[str, Any]:
        for count, array in counted.items():
            d[count] = len(lists[array])
            d[array] = lists[array]
        return d

    return st.builds(add_vlas, base, st.fixed_dictionaries(vlas))


def _message(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Every field given: papi's own handling of omitted fields has a quirk (below)."""
    for path in api_files():
        for m in json.loads(path.read_text())["messages"]:
            if m[0] == name:
                return _struct([f for f in m[1:] if isinstance(f, list)], optional=False)
    raise KeyError(name)


RICH = [
    "ip_route_add_del",
    "tap_create_v3",
    "cnat_translation_update",
    "sw_interface_details",
    "ip_neighbor_details",
    "npol_rule_create",
    "npol_ipset_add_del_members",
    "sockclnt_create_reply",
]


@pytest.mark.parametrize("name", RICH)
def test_same_bytes_as_papi(name: str) -> None:
    mdef = SCHEMA.messages[name]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_message(name))
    def check(values: dict[str, Any]) -> None:
        values = {**values, "_vl_msg_id": mdef.msg_id}
        ours = mdef.encode(values)
        assert ours == PAPI[name].pack(values)
        decoded = mdef.decode(ours)
        assert mdef.encode(decoded) == ours

    check()


def test_decoded_values_are_python_objects() -> None:
    mdef = SCHEMA.messages["ip_route_add_del"]
    path = {
        "sw_if_index": 3,
        "proto": 0,
        "nh": {"address": {"ip4": "192.0.2.1"}},
        "label_stack": [{}] * 16,
    }
    raw = PAPI["ip_route_add_del"].pack(
        {
            "_vl_msg_id": mdef.msg_id,
            "context": 9,
            "is_add": True,
            "route": {"prefix": "10.1.2.3/16", "n_paths": 1, "paths": [path]},
        }
    )
    msg = mdef.decode(raw)
    assert msg["route"]["prefix"] == ipaddress.ip_network("10.1.0.0/16")
    nh = msg["route"]["paths"][0]["nh"]["address"]
    assert isinstance(nh, UnionValue)
    assert nh["ip4"] == ipaddress.IPv4Address("192.0.2.1")
    assert msg["is_add"] is True and msg["context"] == 9


def test_defaults_match_papi() -> None:
    """Omitted fields take the JSON default, else zero.

    papi 2.4.2 registers an alias or enum that carries a default in one message
    globally, so in papi an omitted ``interface_index`` anywhere becomes ~0;
    the messages here have no such field to omit.
    """
    for name in (
        "tap_create_v3",
        "ip_table_add_del",
        "sw_interface_dump",
        "af_packet_create_v3",
        "memif_socket_filename_add_del_v2",
    ):
        mdef = SCHEMA.messages[name]
        assert mdef.encode({}) == PAPI[name].pack({"_vl_msg_id": mdef.msg_id}), name


def test_truncated_and_lying_messages_raise() -> None:
    mdef = SCHEMA.messages["npol_ipset_add_del_members"]
    good = mdef.encode({"set_id": 1, "members": [{"val": {"address": "10.0.0.1"}}]})
    with pytest.raises(CodecError):
        mdef.decode(good[:-3])
    lying = bytearray(good)
    lying[15:19] = (10**9).to_bytes(4, "big")
    with pytest.raises(CodecError):
        mdef.decode(bytes(lying))
    with pytest.raises(CodecError):
        mdef.encode({"len": 2, "members": []})
