"""A small cluster for policy truth tables, in the style of cyclonus.

Three namespaces x, y, z with pods a, b, c each, all on the local node, so every
probe evaluates the source pod's egress and the destination pod's ingress. The
helpers play Felix's part: they turn Kubernetes-like selections into what Felix
sends (IP sets of pod addresses, policies whose rules name those sets, and each
endpoint's tiers and profiles), which is the model vppnet translates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_interface, ip_network

from agent.model import (
    ClusterModel,
    IpPortMember,
    IpSet,
    IpSetType,
    L4Protocol,
    PodInterface,
    PodInterfaceKey,
    Policy,
    PolicyAssignment,
    PolicyId,
    Profile,
    Rule,
    RuleAction,
    TierAssignment,
    WorkloadEndpoint,
)
from agent.reconcile.npol_eval import NpolState, evaluate_pod, state_of
from plugins import policy
from plugins.pods import interface_name
from plugins.policy_oracle import Packet, evaluate

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
KEYS = tuple(PodInterfaceKey(ns, p, "eth0") for ns in NAMESPACES for p in PODS)
ALLOW_ALL = Rule(RuleAction.ALLOW)
PORTS = (("tcp", 80), ("tcp", 81), ("udp", 53))
"""The probes: every pod to every pod on these."""

Select = Callable[[PodInterfaceKey], bool]


def address(key: PodInterfaceKey) -> IPv4Address:
    return IPv4Address(f"10.1.{NAMESPACES.index(key.namespace)}.{PODS.index(key.pod) + 1}")


def name(key: PodInterfaceKey) -> str:
    return f"{key.namespace}/{key.pod}"


def pods(select: Select) -> list[PodInterfaceKey]:
    return [k for k in KEYS if select(k)]


def in_ns(*namespaces: str) -> Select:
    return lambda k: k.namespace in namespaces


def is_pod(ns: str, pod: str) -> Select:
    return lambda k: k.namespace == ns and k.pod == pod


def everyone(_k: PodInterfaceKey) -> bool:
    return True


def selector_set(set_id: str, select: Select) -> IpSet:
    """A selector's IP set as Felix sends it: the selected pods' /32s."""
    return IpSet(
        set_id, IpSetType.NET, frozenset(ip_network(f"{address(k)}/32") for k in pods(select))
    )


def named_port_set(set_id: str, members: Iterable[tuple[PodInterfaceKey, int]]) -> IpSet:
    return IpSet(
        set_id,
        IpSetType.IP_AND_PORT,
        frozenset(IpPortMember(address(k), L4Protocol.TCP, port) for k, port in members),
    )


@dataclass
class Applied:
    """A policy and the endpoints Felix applies it to, per direction."""

    policy: Policy
    ingress: Select | None = None
    egress: Select | None = None


@dataclass
class Cluster:
    """Tiers in order, each with its policies in order, plus IP sets: Felix's output."""

    tiers: Sequence[tuple[str, RuleAction, Sequence[Applied]]] = ()
    ip_sets: Sequence[IpSet] = ()
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def model(self) -> ClusterModel:
        endpoints = []
        for key in KEYS:
            tiers = []
            for tier_name, default, applied in self.tiers:
                ingress = tuple(a.policy.id for a in applied if a.ingress and a.ingress(key))
                egress = tuple(a.policy.id for a in applied if a.egress and a.egress(key))
                if ingress or egress:
                    tiers.append(TierAssignment(tier_name, ingress, egress, default))
            profile_ids = (f"kns.{key.namespace}", f"ksa.{key.namespace}.default")
            endpoints.append(WorkloadEndpoint(key, PolicyAssignment(tuple(tiers), profile_ids)))
        profiles = dict(self.profiles)
        for ns in NAMESPACES:
            profiles.setdefault(f"kns.{ns}", Profile(f"kns.{ns}", (ALLOW_ALL,), (ALLOW_ALL,)))
            profiles.setdefault(f"ksa.{ns}.default", Profile(f"ksa.{ns}.default"))
        return ClusterModel.build(
            "node-a",
            pod_interfaces=[pod_interface(k) for k in KEYS],
            policies=[a.policy for _, _, applied in self.tiers for a in applied],
            profiles=profiles.values(),
            ip_sets=self.ip_sets,
            workload_endpoints=endpoints,
        )


def pod_interface(key: PodInterfaceKey) -> PodInterface:
    return PodInterface(
        key,
        key.pod,
        f"/var/run/netns/{key.pod}",
        f"cali{key.pod}",
        (ip_interface(f"{address(key)}/32"),),
    )


def k8s_policy(
    policy_name: str, namespace: str, ingress: Sequence[Rule] = (), egress: Sequence[Rule] = ()
) -> Policy:
    """A Kubernetes NetworkPolicy as Calico renders it (tier default, knp.default.*)."""
    pid = PolicyId("default", f"knp.default.{policy_name}", namespace, "KubernetesNetworkPolicy")
    return Policy(pid, tuple(ingress), tuple(egress))


def packet(src: PodInterfaceKey, dst: PodInterfaceKey, proto: str, port: int) -> Packet:
    return Packet(address(src), address(dst), 6 if proto == "tcp" else 17, 40000, port)


Decide = Callable[[PodInterfaceKey, str, Packet], bool]


def oracle(model: ClusterModel) -> Decide:
    return lambda key, direction, p: evaluate(model, key, direction, p).allowed  # type: ignore[arg-type]


def rendered_state(model: ClusterModel) -> NpolState:
    """The npol state the policy plugin's objects make, with made-up VPP ids."""
    objects = list(policy.render(model))
    return state_of(objects, {o.key: i for i, o in enumerate(objects)})


def programmed(model: ClusterModel, state: NpolState | None = None) -> Decide:
    st = state if state is not None else rendered_state(model)

    def decide(key: PodInterfaceKey, direction: str, p: Packet) -> bool:
        iface = interface_name(model.pod_interfaces[key])
        return evaluate_pod(st, iface, direction == "ingress", p).allowed

    return decide


def table(decide: Decide) -> dict[tuple[str, str, str], bool]:
    """Every probe: (source pod, destination pod, proto/port) -> reachable."""
    out = {}
    for src, dst in itertools.product(KEYS, KEYS):
        for proto, port in PORTS:
            p = packet(src, dst, proto, port)
            out[(name(src), name(dst), f"{proto}/{port}")] = decide(src, "egress", p) and decide(
                dst, "ingress", p
            )
    return out


def expect(
    allowed: Callable[[PodInterfaceKey, PodInterfaceKey, str, int], bool],
) -> dict[tuple[str, str, str], bool]:
    return {
        (name(s), name(d), f"{proto}/{port}"): allowed(s, d, proto, port)
        for s, d in itertools.product(KEYS, KEYS)
        for proto, port in PORTS
    }


def differences(
    got: Mapping[tuple[str, str, str], bool], want: Mapping[tuple[str, str, str], bool]
) -> list[str]:
    return [f"{k}: got {got[k]}, want {want[k]}" for k in sorted(want) if got[k] != want[k]]
