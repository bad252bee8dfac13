"""Network objects -> model Networks, from vppnet's CRD and from calico-vpp's.

vppnet's ``networks.vppnet.io`` (cluster-scoped) has per-family ranges, an
encapsulation ``type``, an optional VRF table id and a status. calico-vpp's
``networks.projectcalico.org/v3`` (namespaced, keyed by bare name upstream)
has one ``range`` and no status; it is read so that existing manifests carry
over. Only shape is checked here (types, CIDR syntax, families); what depends
on other objects or on value ranges (VNI bounds, duplicates, overlaps) is
judged by :func:`plugins.networks.problems`, which the renderer also obeys.
"""

from __future__ import annotations

from typing import Final

from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta, cidr, integer, section, string
from agent.model import IPNetwork, Network

ENCAPSULATIONS: Final = ("VXLAN",)


def from_vppnet(obj: Obj) -> Network:
    """A ``networks.vppnet.io`` object; raises :class:`ConversionError`."""
    meta = ObjectMeta.of(obj)
    spec = section(obj, "spec")
    vni = integer(spec, "spec", "vni", required=True)
    assert vni is not None
    kind = string(spec, "spec", "type") or "VXLAN"
    if kind not in ENCAPSULATIONS:
        raise ConversionError(
            "UnsupportedType", "spec.type", f"{kind!r}: supported types are {list(ENCAPSULATIONS)}"
        )
    ranges: list[IPNetwork] = []
    for key, version in (("ipv4Range", 4), ("ipv6Range", 6)):
        text = string(spec, "spec", key)
        if text:
            ranges.append(cidr(text, f"spec.{key}", version))
    if not ranges:
        raise ConversionError("NoRange", "spec", "set ipv4Range, ipv6Range or both")
    return Network(
        name=meta.name,
        vni=vni,
        ranges=tuple(ranges),
        table_id=integer(spec, "spec", "vrfTableId"),
        physical_network=string(spec, "spec", "physicalNetworkName") or "",
        created=meta.created,
        terminating=meta.deleting,
        advertise=_flag(spec, "spec", "advertise"),
    )


def _flag(data: Obj, path: str, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConversionError(
            "InvalidSpec", f"{path}.{key}", f"must be true or false, not {value!r}"
        )
    return value


def from_calico_vpp(obj: Obj) -> Network:
    """A calico-vpp ``networks.projectcalico.org`` object; raises :class:`ConversionError`."""
    meta = ObjectMeta.of(obj)
    spec = section(obj, "spec")
    vni = integer(spec, "spec", "vni", required=True)
    assert vni is not None
    text = string(spec, "spec", "range")
    if not text:
        raise ConversionError("NoRange", "spec.range", "required")
    return Network(
        name=meta.name,
        vni=vni,
        ranges=(cidr(text, "spec.range"),),
        physical_network=string(spec, "spec", "physicalNetworkName") or "",
        created=meta.created,
    )
