"""Kubernetes Pods of this node -> PodMeta: identity, annotations, labels, addresses."""

from __future__ import annotations

import ipaddress

from agent.k8s.convert.meta import Obj, ObjectMeta, section
from agent.model import IPAddress, PodMeta, PodRef


def from_k8s(obj: Obj) -> PodMeta:
    """A pod; raises ConversionError only for an object without a name.

    Unparseable pod IPs are skipped: the addresses are informational (the CNI
    and Felix own the pod's interfaces), the annotations are what matter.
    """
    meta = ObjectMeta.of(obj)
    ips: list[IPAddress] = []
    entries = section(obj, "status").get("podIPs")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            try:
                ips.append(ipaddress.ip_address(str(entry.get("ip", ""))))
            except ValueError:
                continue
    return PodMeta(
        ref=PodRef(meta.namespace or "default", meta.name),
        uid=meta.uid,
        annotations=meta.annotations,
        labels=meta.labels,
        ips=tuple(dict.fromkeys(ips)),
    )
