"""Kubernetes Nodes -> model Nodes: addresses, AS number, pod prefixes per network.

Addresses come from Calico's node annotations (``projectcalico.org/IPv4Address``
and ``IPv6Address``, with prefix length: the BGP addresses Felix also uses),
falling back to ``status.addresses`` (InternalIP, then ExternalIP) as host
prefixes. Secondary-network prefixes come from vppnet's own annotation
``vppnet.io/network-prefixes`` (JSON ``{network: [cidr, ...]}``), which each
agent writes on its own Node (:mod:`agent.k8s.announce`). ``spec.podCIDRs``
are the default-network blocks only where pods take their addresses from
them (host-local IPAM); with Calico IPAM, Felix provides the blocks.

A malformed annotation costs only what it describes: the node is kept with
what could be read, and the problems are reported.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta, cidr, section
from agent.model import (
    DEFAULT_NETWORK,
    IPInterface,
    IPNetwork,
    Node,
    PodBlock,
    host_prefix,
)

CALICO_IPV4: Final = "projectcalico.org/IPv4Address"
CALICO_IPV6: Final = "projectcalico.org/IPv6Address"
CALICO_ASN: Final = "projectcalico.org/ASNumber"
NETWORK_PREFIXES: Final = "vppnet.io/network-prefixes"
CALICO_RR_CLUSTER_ID: Final = "projectcalico.org/RouteReflectorClusterID"
ZONE_LABEL: Final = "topology.kubernetes.io/zone"
LEGACY_ZONE_LABEL: Final = "failure-domain.beta.kubernetes.io/zone"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the Kubernetes Node says; ``problems`` lists what could not be read."""

    name: str
    addresses: tuple[IPInterface, ...]
    asn: int | None
    pod_cidrs: tuple[IPNetwork, ...]
    network_prefixes: tuple[PodBlock, ...]
    problems: tuple[str, ...] = ()
    zone: str | None = None  # topology.kubernetes.io/zone
    labels: tuple[tuple[str, str], ...] = ()  # for BGPPeer node and peer selectors
    route_reflector_cluster_id: str | None = None  # Calico's, kept as an annotation

    def merged_into(self, existing: Node | None, own_default_blocks: bool) -> Node:
        """This information over what other sources (Felix) know of the node.

        Secondary-network prefixes are always this source's; default-network blocks
        only with ``own_default_blocks``; the uplink is never this source's.
        """
        kept = () if existing is None else existing.pod_blocks
        blocks = [b for b in kept if b.network == DEFAULT_NETWORK and not own_default_blocks]
        if own_default_blocks:
            blocks += [PodBlock(c) for c in self.pod_cidrs]
        blocks += self.network_prefixes
        return Node(
            name=self.name,
            addresses=self.addresses or (existing.addresses if existing else ()),
            pod_blocks=tuple(blocks),
            asn=self.asn if self.asn is not None else (existing.asn if existing else None),
            uplink_interface=existing.uplink_interface if existing else None,
            zone=self.zone,
            labels=self.labels,
            route_reflector_cluster_id=self.route_reflector_cluster_id,
        )


def from_k8s(obj: Obj) -> NodeInfo:
    """A Kubernetes Node; raises ConversionError only for an object without a name."""
    meta = ObjectMeta.of(obj)
    problems: list[str] = []
    addresses = _annotated_addresses(meta.annotations, problems) or _status_addresses(obj)
    asn = None
    if CALICO_ASN in meta.annotations:
        text = meta.annotations[CALICO_ASN]
        if text.isdigit() and 0 < int(text) < 2**32:
            asn = int(text)
        else:
            problems.append(f"annotation {CALICO_ASN}: {text!r} is not an AS number")
    return NodeInfo(
        name=meta.name,
        addresses=addresses,
        asn=asn,
        pod_cidrs=_pod_cidrs(obj, problems),
        network_prefixes=_network_prefixes(meta.annotations.get(NETWORK_PREFIXES), problems),
        problems=tuple(problems),
        zone=meta.labels.get(ZONE_LABEL) or meta.labels.get(LEGACY_ZONE_LABEL) or None,
        labels=tuple(sorted(meta.labels.items())),
        route_reflector_cluster_id=meta.annotations.get(CALICO_RR_CLUSTER_ID) or None,
    )


def _annotated_addresses(
    annotations: Mapping[str, str], problems: list[str]
) -> tuple[IPInterface, ...]:
    found: list[IPInterface] = []
    for key, version in ((CALICO_IPV4, 4), (CALICO_IPV6, 6)):
        text = annotations.get(key)
        if not text:
            continue
        try:
            address = ipaddress.ip_interface(text)
        except ValueError:
            problems.append(f"annotation {key}: {text!r} is not an address/prefix")
            continue
        if address.version != version:
            problems.append(f"annotation {key}: {text} is not IPv{version}")
            continue
        found.append(address)
    return tuple(found)


def _status_addresses(obj: Obj) -> tuple[IPInterface, ...]:
    entries = section(obj, "status").get("addresses")
    if not isinstance(entries, list):
        return ()
    by_family: dict[int, IPInterface] = {}
    for wanted in ("InternalIP", "ExternalIP"):
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("type") != wanted:
                continue
            try:
                ip = ipaddress.ip_address(str(entry.get("address", "")))
            except ValueError:
                continue
            by_family.setdefault(ip.version, ipaddress.ip_interface(host_prefix(ip)))
    return tuple(by_family[v] for v in sorted(by_family))


def _pod_cidrs(obj: Obj, problems: list[str]) -> tuple[IPNetwork, ...]:
    spec = section(obj, "spec")
    texts = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    out: list[IPNetwork] = []
    for i, text in enumerate(texts if isinstance(texts, list) else []):
        try:
            out.append(cidr(str(text), f"spec.podCIDRs[{i}]"))
        except ConversionError as error:
            problems.append(str(error))
    return tuple(dict.fromkeys(out))


def _network_prefixes(text: str | None, problems: list[str]) -> tuple[PodBlock, ...]:
    if not text:
        return ()
    where = f"annotation {NETWORK_PREFIXES}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        problems.append(f"{where}: not JSON: {exc}")
        return ()
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a JSON object of network -> list of CIDRs")
        return ()
    blocks: list[PodBlock] = []
    for network, prefixes in sorted(data.items()):
        if not network or not isinstance(prefixes, list):
            problems.append(f"{where}: entry {network!r} must be a non-empty name with a list")
            continue
        for prefix in prefixes:
            try:
                blocks.append(PodBlock(cidr(str(prefix), f"{where}[{network}]"), network))
            except ConversionError as error:
                problems.append(str(error))
    return tuple(dict.fromkeys(blocks))
