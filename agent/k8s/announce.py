"""This node's secondary-network pod prefixes, as announced on its Node object.

Secondary networks take addresses from their NAD's IPAM (whereabouts, static,
Calico pools), which hands them out across the cluster with no per-node
blocks. So each agent publishes the prefixes of its local pods per network in
the ``vppnet.io/network-prefixes`` annotation of its own Node (the smallest
exact cover of the addresses: contiguous pods collapse into larger prefixes,
never claiming an address the node does not hold), and every other agent
routes those prefixes to this node through the network's tunnel
(:mod:`plugins.networks`). Only addresses inside the network's ranges are
announced, which is also all the receivers accept.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping

from agent.k8s.convert.nodes import NETWORK_PREFIXES
from agent.model import ClusterModel, IPAddress, prefix_contains
from plugins import networks as networks_plugin


def local_prefixes(model: ClusterModel) -> dict[str, list[str]]:
    """Per valid secondary network, the prefixes covering its local pod addresses."""
    valid = networks_plugin.usable(model)
    out: dict[str, list[str]] = {}
    for name in sorted(valid.networks):
        network = valid.networks[name]
        addresses: list[IPAddress] = [
            ip
            for pod in valid.pod_interfaces_in(name)
            for ip in pod.ip_addresses
            if any(prefix_contains(r, ipaddress.ip_network(ip)) for r in network.ranges)
        ]
        v4 = [
            ipaddress.IPv4Network(ip) for ip in addresses if isinstance(ip, ipaddress.IPv4Address)
        ]
        v6 = [
            ipaddress.IPv6Network(ip) for ip in addresses if isinstance(ip, ipaddress.IPv6Address)
        ]
        prefixes = [str(p) for p in ipaddress.collapse_addresses(v4)]
        prefixes += [str(p) for p in ipaddress.collapse_addresses(v6)]
        if prefixes:
            out[name] = prefixes
    return out


def annotation_value(model: ClusterModel) -> str | None:
    """The annotation's JSON text (canonical, so equal sets compare equal), None for none."""
    prefixes = local_prefixes(model)
    return json.dumps(prefixes, sort_keys=True, separators=(",", ":")) if prefixes else None


def annotation_patch(
    model: ClusterModel, annotations: Mapping[str, str]
) -> dict[str, object] | None:
    """The Node merge patch that makes the annotation right, or None when it already is."""
    wanted = annotation_value(model)
    if annotations.get(NETWORK_PREFIXES) == wanted:
        return None
    return {"metadata": {"annotations": {NETWORK_PREFIXES: wanted}}}
