"""What a batch of Felix messages changed, per model collection.

The store records each accepted message here; after InSync the batch becomes
one pure model update (:mod:`agent.felix.projection`), which copies each
touched collection once per batch rather than once per message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agent.model import (
    CalicoRoute,
    HostEndpoint,
    IPNetwork,
    IpPool,
    IpSet,
    PodInterfaceKey,
    Policy,
    PolicyId,
    Profile,
    VxlanTunnelEndpoint,
    WorkloadEndpoint,
)

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Delta(Generic[K, V]):
    """Puts and removes of one keyed collection; the last word on a key wins."""

    puts: dict[K, V] = field(default_factory=dict)
    removes: set[K] = field(default_factory=set)

    def put(self, key: K, value: V) -> None:
        self.puts[key] = value
        self.removes.discard(key)

    def remove(self, key: K) -> None:
        self.puts.pop(key, None)
        self.removes.add(key)

    def __bool__(self) -> bool:
        return bool(self.puts or self.removes)

    def __len__(self) -> int:
        return len(self.puts) + len(self.removes)

    def keys(self) -> set[K]:
        return set(self.puts) | self.removes

    def apply_to(self, mapping: Mapping[K, V]) -> Mapping[K, V]:
        """``mapping`` with the changes; the same object when there are none."""
        if not self:
            return mapping
        out = dict(mapping)
        for key in self.removes:
            out.pop(key, None)
        out.update(self.puts)
        return out


@dataclass
class ChangeSet:
    """The model-visible effect of a batch of messages.

    ``nodes`` names the hosts whose Felix view (addresses, AS number, blocks)
    changed; ``config`` says Felix's configuration changed.
    """

    policies: Delta[PolicyId, Policy] = field(default_factory=Delta)
    profiles: Delta[str, Profile] = field(default_factory=Delta)
    ip_sets: Delta[str, IpSet] = field(default_factory=Delta)
    workload_endpoints: Delta[PodInterfaceKey, WorkloadEndpoint] = field(default_factory=Delta)
    host_endpoints: Delta[str, HostEndpoint] = field(default_factory=Delta)
    pools: Delta[str, IpPool] = field(default_factory=Delta)
    routes: Delta[IPNetwork, CalicoRoute] = field(default_factory=Delta)
    vteps: Delta[str, VxlanTunnelEndpoint] = field(default_factory=Delta)
    nodes: set[str] = field(default_factory=set)
    config: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.policies
            or self.profiles
            or self.ip_sets
            or self.workload_endpoints
            or self.host_endpoints
            or self.pools
            or self.routes
            or self.vteps
            or self.nodes
            or self.config
        )

    def summary(self) -> str:
        """A short reason for the state update (``felix: 3 workload endpoints, 1 IP set``)."""
        parts = [
            f"{len(delta)} {name}"
            for name, delta in (
                ("policies", self.policies),
                ("profiles", self.profiles),
                ("IP sets", self.ip_sets),
                ("workload endpoints", self.workload_endpoints),
                ("host endpoints", self.host_endpoints),
                ("pools", self.pools),
                ("routes", self.routes),
                ("VTEPs", self.vteps),
            )
            if delta
        ]
        if self.nodes:
            parts.append(f"{len(self.nodes)} nodes")
        if self.config:
            parts.append("config")
        return "felix: " + (", ".join(parts) or "no change")
