"""calico-vpp's pod annotations (and vppnet's interface-type one), parsed and bounded.

The names and value formats are calico-vpp's, so pods written for it work
unchanged: ``vppInterfacesSpec`` (per-interface queues, queue sizes, rx mode,
L3 or L2), ``vppExtraMemifPorts``/``vppExtraMemifSpec`` (a memif beside the
primary interface that gets some ports), ``AllowedSourcePrefixes``
(anti-spoofing exceptions) and ``vppVcl``. vppnet adds
``vppnet.io/interfaceType`` to choose tun, tap, veth or memif per interface.

Unlike calico-vpp, unknown keys inside an interface spec are errors: a typo
such as ``rxqueues`` would otherwise leave the pod on defaults without a word.
Every bad value fails the ADD with the annotation's name and the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.cni.config import CniSettings
from agent.cni.errors import CniRequestError
from agent.cni.validate import check_ifname, parse_prefix
from agent.model import InterfaceType, IPNetwork, L4Protocol, PortRange, RxMode, SteeredPorts

PREFIX = "cni.projectcalico.org/"
INTERFACES_SPEC = PREFIX + "vppInterfacesSpec"
EXTRA_MEMIF_PORTS = PREFIX + "vppExtraMemifPorts"
EXTRA_MEMIF_SPEC = PREFIX + "vppExtraMemifSpec"
VCL = PREFIX + "vppVcl"
ALLOWED_SOURCE_PREFIXES = PREFIX + "AllowedSourcePrefixes"
INTERFACE_TYPE = "vppnet.io/interfaceType"

_SPEC_KEYS = {"rx", "tx", "rxqsz", "txqsz", "isl3", "rxMode"}
_RX_MODES = {"interrupt": RxMode.INTERRUPT, "polling": RxMode.POLLING, "adaptive": RxMode.ADAPTIVE}


@dataclass(frozen=True, slots=True)
class IfSpec:
    """calico-vpp's InterfaceSpec, zero values already replaced by the defaults."""

    rx_queues: int
    tx_queues: int
    rx_queue_size: int
    tx_queue_size: int
    is_l3: bool | None = None  # None: not given
    rx_mode: RxMode | None = None


@dataclass(frozen=True, slots=True)
class PodAnnotations:
    interface_specs: Mapping[str, IfSpec]
    interface_types: Mapping[str, InterfaceType]  # "*" applies to every interface
    extra_memif_ports: tuple[SteeredPorts, ...] = ()
    extra_memif_spec: IfSpec | None = None
    vcl: bool = False
    allowed_source_prefixes: tuple[IPNetwork, ...] = ()

    def spec_for(self, ifname: str) -> IfSpec | None:
        return self.interface_specs.get(ifname)

    def type_for(self, ifname: str) -> InterfaceType | None:
        return self.interface_types.get(ifname, self.interface_types.get("*"))


def parse(annotations: Mapping[str, str], settings: CniSettings) -> PodAnnotations:
    """Every annotation vppnet reads, validated whole (not only the current interface's)."""
    specs: dict[str, IfSpec] = {}
    if INTERFACES_SPEC in annotations:
        raw = _json(INTERFACES_SPEC, annotations[INTERFACES_SPEC], dict, "an object")
        for ifname, value in raw.items():
            check_ifname(f"{INTERFACES_SPEC}: interface name", ifname)
            specs[ifname] = _spec(f"{INTERFACES_SPEC}: {ifname}", value, settings)
    extra_spec = None
    if EXTRA_MEMIF_SPEC in annotations:
        value = _json(EXTRA_MEMIF_SPEC, annotations[EXTRA_MEMIF_SPEC], dict, "an object")
        extra_spec = _spec(EXTRA_MEMIF_SPEC, value, settings)
    ports: tuple[SteeredPorts, ...] = ()
    if EXTRA_MEMIF_PORTS in annotations:
        ports = parse_ports(annotations[EXTRA_MEMIF_PORTS])
    prefixes: tuple[IPNetwork, ...] = ()
    if ALLOWED_SOURCE_PREFIXES in annotations:
        raw_list = _json(
            ALLOWED_SOURCE_PREFIXES, annotations[ALLOWED_SOURCE_PREFIXES], list, "a list"
        )
        prefixes = tuple(_prefix(i, item) for i, item in enumerate(raw_list))
    return PodAnnotations(
        interface_specs=specs,
        interface_types=parse_types(annotations.get(INTERFACE_TYPE, "")),
        extra_memif_ports=ports,
        extra_memif_spec=extra_spec,
        vcl=_vcl(annotations.get(VCL, "disable")),
        allowed_source_prefixes=tuple(dict.fromkeys(prefixes)),
    )


def _json(name: str, text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise CniRequestError(name, f"invalid JSON ({e.msg}) in {text!r}") from None
    if not isinstance(value, kind):
        raise CniRequestError(name, f"must be {what}, got {text!r}")
    return value


def _spec(where: str, value: Any, settings: CniSettings) -> IfSpec:
    if not isinstance(value, dict):
        raise CniRequestError(where, f"must be an object, got {json.dumps(value)}")
    unknown = sorted(set(value) - _SPEC_KEYS)
    if unknown:
        raise CniRequestError(
            where, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_SPEC_KEYS))})"
        )
    rx = _count(f"{where}.rx", value.get("rx"), 1, settings.max_queues)
    tx = _count(f"{where}.tx", value.get("tx"), 1, settings.max_queues)
    rxqsz = _size(f"{where}.rxqsz", value.get("rxqsz"), settings)
    txqsz = _size(f"{where}.txqsz", value.get("txqsz"), settings)
    is_l3 = value.get("isl3")
    if is_l3 is not None and not isinstance(is_l3, bool):
        raise CniRequestError(f"{where}.isl3", f"must be true or false, got {json.dumps(is_l3)}")
    mode = value.get("rxMode")
    rx_mode = None
    if mode is not None:
        if not isinstance(mode, str) or mode not in _RX_MODES:
            raise CniRequestError(
                f"{where}.rxMode", f"{json.dumps(mode)} is not one of interrupt, polling, adaptive"
            )
        rx_mode = _RX_MODES[mode]
    return IfSpec(rx, tx, rxqsz, txqsz, is_l3, rx_mode)


def _count(where: str, value: Any, default: int, maximum: int) -> int:
    """An integer setting; 0 or absent means the default, as in calico-vpp."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise CniRequestError(where, f"must be an integer, got {json.dumps(value)}")
    if value < 0:
        raise CniRequestError(where, f"{value} is negative")
    count = int(value) or default
    if count > maximum:
        raise CniRequestError(where, f"{count} is above the node's maximum of {maximum}")
    return count


def _size(where: str, value: Any, settings: CniSettings) -> int:
    size = _count(where, value, settings.default_queue_size, settings.max_queue_size)
    if size & (size - 1):
        raise CniRequestError(where, f"{size} is not a power of 2 (VPP's ring sizes are)")
    return size


def parse_ports(text: str) -> tuple[SteeredPorts, ...]:
    """``tcp:4444-20000,udp:53``: protocol, then one port or an inclusive range."""
    out: list[SteeredPorts] = []
    for raw in text.split(","):
        item = raw.strip()
        proto, sep, ports = item.partition(":")
        protocol = proto.strip().upper()
        if not sep or protocol not in L4Protocol.__members__:
            raise CniRequestError(
                EXTRA_MEMIF_PORTS, f"{item!r} is not proto:port or proto:start-end (tcp/udp/sctp)"
            )
        first, _, last = ports.partition("-")
        low = _port(first)
        high = _port(last) if last else low
        if low is None or high is None or low > high:
            raise CniRequestError(EXTRA_MEMIF_PORTS, f"{item!r} has an invalid port or range")
        out.append(SteeredPorts(L4Protocol[protocol], PortRange(low, high)))
    return tuple(out)


def _port(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):  # "²" is a digit to str.isdigit, not to int()
        return None
    port = int(text)
    return port if 1 <= port <= 65535 else None


def parse_types(text: str) -> dict[str, InterfaceType]:
    """``veth`` (every interface of the pod) or ``eth0=veth,net1=tap``."""
    text = text.strip()
    if not text:
        return {}
    out: dict[str, InterfaceType] = {}
    for item in text.split(","):
        ifname, sep, kind = item.strip().rpartition("=")
        key = ifname.strip() if sep else "*"
        if sep:
            check_ifname(f"{INTERFACE_TYPE}: interface name", key)
        try:
            out[key] = InterfaceType(kind.strip())
        except ValueError:
            raise CniRequestError(
                INTERFACE_TYPE, f"{kind.strip()!r} in {text!r} is not one of tun, tap, veth, memif"
            ) from None
    return out


def _vcl(value: str) -> bool:
    if value not in ("enable", "disable"):
        raise CniRequestError(VCL, f"{value!r} is not enable or disable")
    return value == "enable"


def _prefix(i: int, item: Any) -> IPNetwork:
    if not isinstance(item, str):
        raise CniRequestError(
            ALLOWED_SOURCE_PREFIXES, f"entry {i} must be a string, got {json.dumps(item)}"
        )
    return parse_prefix(f"{ALLOWED_SOURCE_PREFIXES}[{i}]", item)
