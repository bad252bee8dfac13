"""Address plan: pools, network ranges and pod blocks must not overlap, and every pod
address must sit where routing will look for it.

These are the mistakes that do not fail loudly in production: overlapping prefixes
make the FIB pick one at random, and an address outside the node's blocks is simply
unreachable from other nodes.
"""

from __future__ import annotations

from agent.model import DEFAULT_NETWORK, IPNetwork, prefix_contains, prefixes_overlap
from agent.scenario import defaults
from agent.scenario.checks.common import family, network_label
from agent.scenario.errors import Loc, Problems
from agent.scenario.schema import ScenarioSpec

_BLOCK_SIZE_RANGE = {4: (20, 32), 6: (116, 128)}
"""Block sizes Calico accepts per family."""


def check_addressing(spec: ScenarioSpec, problems: Problems) -> None:
    _check_node_addresses(spec, problems)
    _check_pools(spec, problems)
    _check_network_ranges(spec, problems)
    _check_pod_blocks(spec, problems)
    _check_pod_addresses(spec, problems)


def _check_node_addresses(spec: ScenarioSpec, problems: Problems) -> None:
    for i, node in enumerate(spec.nodes):
        seen: set[int] = set()
        for j, address in enumerate(node.addresses):
            if address.version in seen:
                problems.add(
                    ("nodes", i, "addresses", j),
                    f"a second {family(address.version)} address; a node has one per family",
                )
            seen.add(address.version)


def _check_pools(spec: ScenarioSpec, problems: Problems) -> None:
    for i, pool in enumerate(spec.pools):
        low, high = _BLOCK_SIZE_RANGE[pool.cidr.version]
        size = defaults.block_size(pool)
        if not low <= size <= high:
            problems.add(
                ("pools", i, "blockSize"),
                f"block size {size} is out of range {low}..{high} "
                f"for an {family(pool.cidr.version)} pool",
            )
        elif size < pool.cidr.prefixlen:
            problems.add(
                ("pools", i, "blockSize"),
                f"block size /{size} is larger than the pool {pool.cidr}",
            )
        if pool.ipip_mode != "Never" and pool.cidr.version == 6:
            problems.add(("pools", i, "ipipMode"), "IPIP carries IPv4 only; use vxlanMode for IPv6")
        elif pool.ipip_mode != "Never" and pool.vxlan_mode != "Never":
            problems.add(("pools", i, "vxlanMode"), "a pool uses IPIP or VXLAN, not both")
        for other in spec.pools[:i]:
            if prefixes_overlap(pool.cidr, other.cidr):
                problems.add(
                    ("pools", i, "cidr"), f"{pool.cidr} overlaps pool {other.name!r} ({other.cidr})"
                )


def _check_network_ranges(spec: ScenarioSpec, problems: Problems) -> None:
    for i, network in enumerate(spec.networks):
        if len({r.version for r in network.ranges}) < len(network.ranges):
            problems.add(
                ("networks", i, "ranges", 1), "a network has at most one range per IP family"
            )
        for j, cidr in enumerate(network.ranges):
            loc: Loc = ("networks", i, "ranges", j)
            for other in spec.networks[:i]:
                for other_cidr in other.ranges:
                    if prefixes_overlap(cidr, other_cidr):
                        problems.add(loc, f"{cidr} overlaps network {other.name!r} ({other_cidr})")
            for pool in spec.pools:
                if pool.network != network.name and prefixes_overlap(cidr, pool.cidr):
                    problems.add(loc, f"{cidr} overlaps pool {pool.name!r} ({pool.cidr})")
    ranges = {network.name: network.ranges for network in spec.networks}
    for i, pool in enumerate(spec.pools):
        if pool.network in ranges and not any(
            prefix_contains(r, pool.cidr) for r in ranges[pool.network]
        ):
            problems.add(
                ("pools", i, "cidr"),
                f"{pool.cidr} is outside the ranges of network {pool.network!r}",
            )


def _check_pod_blocks(spec: ScenarioSpec, problems: Problems) -> None:
    seen: list[tuple[IPNetwork, str]] = []
    for i, node in enumerate(spec.nodes):
        for j, block in enumerate(node.pod_blocks):
            loc: Loc = ("nodes", i, "podBlocks", j, "cidr")
            for other, owner in seen:
                if prefixes_overlap(block.cidr, other):
                    problems.add(loc, f"{block.cidr} overlaps block {other} of node {owner!r}")
            seen.append((block.cidr, node.name))
            _check_block_home(spec, block.cidr, block.network, loc, problems)


def _check_block_home(
    spec: ScenarioSpec, cidr: IPNetwork, network: str, loc: Loc, problems: Problems
) -> None:
    """A block lies in a pool of its network; a secondary network without pools of its
    own is its range (its IPAM is not Calico's), so the range stands in for the pool."""
    pools = [pool.cidr for pool in spec.pools if pool.network == network]
    if any(prefix_contains(pool, cidr) for pool in pools):
        return
    secondary = next((n for n in spec.networks if n.name == network), None)
    if network != DEFAULT_NETWORK and secondary is None:
        return  # unknown network: reported by the reference checks
    if secondary is not None and not pools:
        if not any(prefix_contains(r, cidr) for r in secondary.ranges):
            problems.add(loc, f"{cidr} is outside the ranges of network {network!r}")
        return
    problems.add(loc, f"{cidr} is outside every pool of {network_label(network)}")


def _check_pod_addresses(spec: ScenarioSpec, problems: Problems) -> None:
    local = next((node for node in spec.nodes if node.name == spec.local_node), None)
    networks = {network.name: network for network in spec.networks}
    owners: dict[object, str] = {}
    for i, pod in enumerate(spec.pods):
        for j, interface in enumerate(pod.interfaces):
            loc: Loc = ("pods", i, "interfaces", j)
            owner = f"{pod.namespace}/{pod.name} {interface.name}"
            known = interface.network == DEFAULT_NETWORK or interface.network in networks
            blocks = (
                None
                if local is None or not known  # reported by the reference checks
                else [b.cidr for b in local.pod_blocks if b.network == interface.network]
            )
            for k, address in enumerate(interface.addresses):
                if address.ip in owners:
                    problems.add(
                        (*loc, "addresses", k),
                        f"{address.ip} is already used by {owners[address.ip]}",
                    )
                owners.setdefault(address.ip, owner)
                if blocks is not None and not any(address.ip in b for b in blocks):
                    problems.add(
                        (*loc, "addresses", k),
                        f"{address.ip} is not in any pod block of node {spec.local_node!r} "
                        f"for {network_label(interface.network)}",
                    )
            versions = {address.version for address in interface.addresses}
            if 6 in versions and interface.mtu < 1280:
                problems.add((*loc, "mtu"), f"MTU {interface.mtu} is below IPv6's minimum of 1280")
            network = networks.get(interface.network)
            for k, route in enumerate(defaults.pod_routes(interface, network)):
                if route.version not in versions:
                    problems.add(
                        (*loc, "routes", k),
                        f"{route} needs an {family(route.version)} address on the interface",
                    )
