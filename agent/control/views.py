"""What the control socket shows: the agent's model, status and plans as plain JSON.

Every view is read from where the state lives when the request comes: the
model from the state store (an immutable value, so no lock), the desired VPP
objects from the dataplane's last converge, what is in VPP from the
reconciler's cached read. Only the drift view reads VPP afresh, as a resync
would, and changes nothing. Views carry plain values only (strings, numbers,
lists, dicts), so the CLI renders them without knowing the model's types.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any, Protocol

from agent.control.protocol import BadRequestError
from agent.dataplane import Dataplane
from agent.model import ClusterModel, PodInterface, Service
from agent.reconcile.observe import Observed
from agent.reconcile.plan import describe
from agent.state import ClusterState
from agent.vppobjects import CnatTranslation, VppObject, cnat_key

DEFAULT_LABEL = "default"  # how the default Calico network (named "" in the model) is shown


class StatusView(Protocol):
    """The runtime's status fields the control socket shows (RuntimeStatus has them)."""

    @property
    def ready(self) -> bool: ...
    @property
    def vpp_connected(self) -> bool: ...
    @property
    def vpp_reconnects(self) -> int: ...
    @property
    def resyncs(self) -> int: ...
    @property
    def repaired(self) -> int: ...
    @property
    def last_error(self) -> str: ...
    @property
    def started(self) -> float: ...


class Views:
    """The read-only views of one running agent."""

    def __init__(self, state: ClusterState, dataplane: Dataplane, status: StatusView) -> None:
        self.state = state
        self.dataplane = dataplane
        self.status = status

    @property
    def _observed(self) -> Observed | None:
        return self.dataplane.reconciler.last_observed

    def _in_vpp(self, key: str) -> bool | None:
        """Whether VPP holds the desired object ``key`` as desired; None: not known now."""
        observed = self._observed
        if observed is None:
            return None
        want = self.dataplane.desired.get(key)
        have = observed.objects.get(key)
        if want is None or have is None:
            return False
        # as the diff judges it: fields VPP cannot show of an adopted interface are not drift
        return observed.assume_unseen(key, have, want) == want

    # -- views ---------------------------------------------------------------------
    def status_view(self) -> dict[str, Any]:
        s, model = self.status, self.state.model
        observed = self._observed
        return {
            "node": model.local_node_name,
            "ready": s.ready,
            "vpp_connected": s.vpp_connected,
            "vpp_reconnects": s.vpp_reconnects,
            "resyncs": s.resyncs,
            "repaired": s.repaired,
            "last_error": s.last_error,
            "uptime_seconds": round(time.monotonic() - s.started, 1),
            "desired_objects": len(self.dataplane.desired),
            "owned_objects": None if observed is None else len(observed.objects),
            "pending": self.dataplane.pending,
            "model": {
                "nodes": len(model.nodes),
                "pools": len(model.pools),
                "networks": len(model.networks),
                "pod_interfaces": len(model.pod_interfaces),
                "services": len(model.services),
                "policies": len(model.policies),
                "profiles": len(model.profiles),
                "ip_sets": len(model.ip_sets),
            },
        }

    def pods(self) -> list[dict[str, Any]]:
        model = self.state.model
        observed = self._observed
        return [
            _pod(model, model.pod_interfaces[k], observed, self._in_vpp(f"interface pod/{k}"))
            for k in sorted(model.pod_interfaces)
        ]

    def networks(self) -> list[dict[str, Any]]:
        model = self.state.model
        out = []
        for name in sorted(model.networks):
            n = model.networks[name]
            tables = [
                f"table {family} {n.vrf_table_id}"
                for family, version in (("ip4", 4), ("ip6", 6))
                if n.range_for(version) is not None
            ]
            present = [self._in_vpp(t) for t in tables]
            out.append(
                {
                    "name": n.name,
                    "vni": n.vni,
                    "table": n.vrf_table_id,
                    "ranges": [str(r) for r in n.ranges],
                    "attachments": [f"{a.namespace}/{a.name}" for a in n.attachments],
                    "pods": len(model.pod_interfaces_in(n.name)),
                    "terminating": n.terminating,
                    "in_vpp": None if None in present else all(present),
                }
            )
        return out

    def services(self) -> list[dict[str, Any]]:
        model = self.state.model
        node_ports = self._node_port_keys()
        return [self._service(model.services[k], node_ports) for k in sorted(model.services)]

    def _node_port_keys(self) -> dict[tuple[str, int], list[str]]:
        """The desired translations on the node's own addresses, by (protocol, port): a
        NodePort's (one per node address), found in one pass."""
        out: dict[tuple[str, int], list[str]] = {}
        for key, obj in self.dataplane.desired.items():
            if isinstance(obj, CnatTranslation) and obj.is_real_ip:
                out.setdefault((obj.proto, obj.port), []).append(key)
        return out

    def _service(self, s: Service, node_ports: dict[tuple[str, int], list[str]]) -> dict[str, Any]:
        vips = [*s.cluster_ips, *s.external_ips, *s.load_balancer_ips]
        keys = [cnat_key(v, p.port, p.protocol.value) for v in vips for p in s.ports]
        keys += [
            k
            for p in s.ports
            if p.node_port
            for k in node_ports.get((p.protocol.value, p.node_port), [])
        ]
        wanted = [k for k in dict.fromkeys(keys) if k in self.dataplane.desired]
        present = [self._in_vpp(k) for k in wanted]
        return {
            "name": f"{s.namespace}/{s.name}",
            "type": s.service_type.value,
            "network": s.network or DEFAULT_LABEL,
            "vips": [str(v) for v in vips],
            "ports": [
                f"{p.port}/{p.protocol.value}" + (f" node {p.node_port}" if p.node_port else "")
                for p in s.ports
            ],
            "endpoints": sum(len(e.addresses) for e in s.endpoints),
            "ready_endpoints": sum(len(e.addresses) for e in s.endpoints if e.ready),
            "translations": len(wanted),
            "translations_in_vpp": (None if None in present else sum(1 for p in present if p)),
        }

    def policies(self) -> list[dict[str, Any]]:
        model = self.state.model
        applied: dict[str, list[str]] = {}
        for key in sorted(model.pod_interfaces):
            for tier in model.policy_for(key).tiers:
                for pid in {*tier.ingress_policies, *tier.egress_policies}:
                    applied.setdefault(str(pid), []).append(str(key))
        out = [
            {
                "kind": "policy",
                "name": str(p.id),
                "order": p.order,
                "ingress_rules": len(p.ingress_rules),
                "egress_rules": len(p.egress_rules),
                "pods": applied.get(str(p.id), []),
            }
            for p in (model.policies[k] for k in sorted(model.policies))
        ]
        profiles: dict[str, list[str]] = {}
        for key in sorted(model.pod_interfaces):
            for profile in model.policy_for(key).profile_ids:
                profiles.setdefault(profile, []).append(str(key))
        out += [
            {
                "kind": "profile",
                "name": p.id,
                "order": None,
                "ingress_rules": len(p.ingress_rules),
                "egress_rules": len(p.egress_rules),
                "pods": profiles.get(p.id, []),
            }
            for p in (model.profiles[k] for k in sorted(model.profiles))
        ]
        return out

    def desired(self) -> list[dict[str, Any]]:
        desired = self.dataplane.desired
        return [_object(k, desired[k], self._in_vpp(k)) for k in sorted(desired)]

    def drift(self) -> dict[str, Any]:
        """Desired against a fresh read of VPP, as a resync would plan it; applies nothing."""
        if not self.status.vpp_connected:
            raise BadRequestError("VPP is not connected: no drift can be read now")
        if not self.status.ready:
            raise BadRequestError(
                "the agent has not finished its first reconcile: drift means nothing yet"
            )
        plan = self.dataplane.reconciler.plan(self.dataplane.desired, refresh=True)
        return {
            "drift": bool(plan.changes or plan.conflicts),
            "plan": plan.to_json(),
            "text": plan.render(),
        }

    def npol_records(self) -> dict[str, Any]:
        """A copy of the npol part of the ownership index (what explain-policy evaluates)."""
        for _ in range(5):
            try:
                return copy.deepcopy(self.dataplane.reconciler.index.npol)
            except RuntimeError:  # a converge changed it while we copied: copy again
                continue
        raise BadRequestError("the npol records kept changing; try again")

    def model(self) -> ClusterModel:
        return self.state.model


def _table_of(model: ClusterModel, network: str) -> int | None:
    try:
        return model.vrf_table_id(network)
    except KeyError:  # a network not (or no longer) known: the pod waits for it
        return None


def _object(key: str, obj: VppObject, in_vpp: bool | None) -> dict[str, Any]:
    return {"key": key, "kind": type(obj).__name__, "object": describe(obj), "in_vpp": in_vpp}


def _pod(
    model: ClusterModel, p: PodInterface, observed: Observed | None, in_vpp: bool | None
) -> dict[str, Any]:
    index: Mapping[str, int] = observed.sw_if_index if observed is not None else {}
    return {
        "name": str(p.key),
        "network": p.network or DEFAULT_LABEL,
        "table": _table_of(model, p.network),
        "type": p.interface_type.value,
        "addresses": [str(a) for a in p.addresses],
        "host_interface": p.host_interface_name,
        "mtu": p.mtu,
        "queues": f"{p.rx_queues}/{p.tx_queues}x{p.queue_size}",
        "sw_if_index": index.get(f"pod/{p.key}"),
        "in_vpp": in_vpp,
    }
