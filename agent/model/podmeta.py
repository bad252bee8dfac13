"""Kubernetes pods of the local node, as the API server describes them.

The CNI and Felix describe pod *interfaces*; the pod object itself carries what
only Kubernetes knows: its annotations (Multus' ``k8s.v1.cni.cncf.io/networks``,
calico-vpp's ``cni.projectcalico.org/vpp*`` interface specs), labels and uid.
The Kubernetes pod watch keeps them here so that the CNI server and the
plugins can read them without a round trip to the API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from agent.model.base import IPAddress


@dataclass(frozen=True, slots=True, order=True)
class PodRef:
    """A pod by namespace and name (pod names are unique within a namespace)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class PodMeta:
    """A local pod's identity, annotations, labels and (primary) addresses.

    Annotations and labels are read-only views, and left out of the hash: two
    PodMeta values are equal when everything, annotations included, is equal.
    """

    ref: PodRef
    uid: str
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    ips: tuple[IPAddress, ...] = ()

    def __post_init__(self) -> None:
        for name in ("annotations", "labels"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    @property
    def key(self) -> PodRef:
        return self.ref
