"""Calico policy -> VPP's npol: IP sets, rules, policies, and each pod interface's binding.

Every local pod interface gets an :class:`~agent.vppobjects.NpolInterface` in
the same render as the interface itself, so the reconciler binds it to its
policies before bringing it up (see the npol phases in
:mod:`agent.reconcile.steps`): there is never an allow-all window. The binding
is, per direction (``inbound`` is traffic to the pod):

* the endpoint's tiers as :mod:`plugins.policy_chain` compiles them, then the
  npol policy default (deny after a tier whose default is deny, otherwise pass);
* its profiles, then deny. A pod Felix has not described yet has neither: deny,
  as Calico drops traffic of workloads it does not know;
* outbound, first of all, anti-spoofing: a pod may send only from its own
  addresses and its ``allowed_source_prefixes`` (and IPv6 link-local ones).

Policy rules carrying the multinet annotation apply to the pod's interfaces in
that network only, the others to its default-network interface; profiles apply
to every interface (calico-vpp's semantics).

Rendering costs what changed: compiled policies, npol variants and IP sets are
reused while the model objects they come from are the very same objects.
What cannot be programmed as Calico means it is reported per policy
(:func:`problems`, :func:`endpoint_problems`), never silently dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    IpSetType,
    PodInterface,
    PodInterfaceKey,
    Policy,
    PolicyId,
    Profile,
    RuleAction,
)
from agent.vppobjects import (
    NpolDefault,
    NpolInterface,
    VppObject,
)
from plugins.pods import interface_name
from plugins.policy_chain import (
    Compiled,
    Continuation,
    Direction,
    PolicyProblem,
    Tier,
    Variant,
    compile_rules,
    profile_continuation,
    tier_continuation,
    variant,
    variant_name,
)
from plugins.policy_guard import antispoof, host_endpoint_problems
from plugins.policy_sets import SetTable, epoch_set

DIRECTIONS: tuple[Direction, ...] = ("in", "out")


def policy_subject(pid: PolicyId) -> str:
    return f"policy {pid}" + (f" ({pid.kind})" if pid.kind else "")


def policy_name(pid: PolicyId, network: str) -> str:
    """The npol policy of a Calico policy on one network's interfaces."""
    base = str(pid) + (f" ({pid.kind})" if pid.kind else "")
    return base if network == DEFAULT_NETWORK else f"{base} @{network}"


def profile_name(profile_id: str) -> str:
    return f"profile {profile_id}"


def policy_binding_key(pod: PodInterface) -> str:
    """The key of a pod interface's npol binding (every local pod interface has one)."""
    return NpolInterface(interface_name(pod)).key


@dataclass(frozen=True, slots=True)
class Rendered:
    objects: tuple[VppObject, ...]
    problems: tuple[PolicyProblem, ...]
    by_endpoint: Mapping[PodInterfaceKey, tuple[PolicyProblem, ...]] = field(default_factory=dict)
    # the objects by key; an object equal to the previous render's is that very object
    by_key: Mapping[str, VppObject] = field(default_factory=dict)


def _referenced_sets(rules: Any) -> tuple[str, ...]:
    return tuple(sorted({s for r in rules for s in r.ip_set_ids}))


_Entry = tuple[Any, tuple[str, ...], tuple[Any, ...], Compiled]
"""A compiled policy with what it was made from: source object, its sets and their types."""


@dataclass(frozen=True, slots=True)
class _Bound:
    """What one pod interface's binding renders to."""

    variants: tuple[tuple[Compiled, Variant], ...]  # npol policies (and rules) it uses
    own: tuple[VppObject, ...]  # its anti-spoofing rule and policy, its binding
    problems: tuple[PolicyProblem, ...]


class PolicyRenderer:
    """Renders the policy objects of a model, reusing what did not change since last time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._compiled: dict[tuple[str, object, str], _Entry] = {}
        self._plain: dict[str, tuple[Compiled, Variant]] = {}
        self._sets: dict[Any, Any] = {}
        self._objects: dict[str, VppObject] = {}  # the last render's, by key
        self._endpoints: dict[PodInterfaceKey, tuple[tuple[object, ...], _Bound]] = {}
        self._last: tuple[ClusterModel, Rendered] | None = None

    def __call__(self, model: ClusterModel) -> Rendered:
        with self._lock:
            if self._last is not None and self._last[0] is model:
                return self._last[1]
            rendered = _Render(self, model).run()
            self._last = (model, rendered)
            return rendered


class _Render:
    """One render: the renderer's caches of the previous render, swapped for this one's."""

    def __init__(self, owner: PolicyRenderer, model: ClusterModel) -> None:
        self.owner = owner
        self.model = model
        self.types: dict[str, IpSetType] = {k: s.type for k, s in model.ip_sets.items()}
        self.sets = SetTable(model.ip_sets, owner._sets)
        self.compiled: dict[tuple[str, object, str], _Entry] = {}
        self.plain: dict[str, tuple[Compiled, Variant]] = {}
        self.variants: dict[str, Variant] = {}
        self.endpoints: dict[PodInterfaceKey, tuple[tuple[object, ...], _Bound]] = {}
        self.objects: dict[str, VppObject] = {}
        self.problems: dict[PolicyProblem, None] = {}

    def run(self) -> Rendered:
        by_endpoint: dict[PodInterfaceKey, tuple[PolicyProblem, ...]] = {}
        for key in sorted(self.model.pod_interfaces):
            found: dict[PolicyProblem, None] = {}
            self._endpoint(self.model.pod_interfaces[key], found)
            by_endpoint[key] = tuple(found)
            self.problems.update(found)
        self.problems.update(dict.fromkeys(host_endpoint_problems(self.model)))
        if self.model.pod_interfaces:
            self._add(epoch_set())
        used = self.sets.used
        for variant_ in self.variants.values():
            for name, expr in variant_.sets:
                if name not in used:
                    self.sets.npol_set(expr)
        for s in self.sets.used.values():
            self._add(s)
        previous = self.owner._objects
        for name, obj in self.objects.items():  # unchanged: the very same object, cheap to compare
            old = previous.get(name)
            if old is not None and old is not obj and old == obj:
                self.objects[name] = old
        self.owner._compiled, self.owner._plain, self.owner._sets = (
            self.compiled,
            self.plain,
            self.sets.cache,
        )
        self.owner._objects = self.objects
        self.owner._endpoints = self.endpoints
        return Rendered(
            tuple(self.objects.values()), tuple(self.problems), by_endpoint, self.objects
        )

    def _add(self, obj: VppObject) -> None:
        self.objects[obj.key] = obj

    # -- compiled policies and profiles ------------------------------------------------

    def _compile(
        self, kind: str, ident: PolicyId | str, network: str, source: Policy | Profile | None
    ) -> Compiled:
        key = (kind, ident, network)
        done = self.compiled.get(key)
        if done is not None and done[0] is source:
            return done[3]
        # the same policy (or the same one missing), and its sets of the same types: the
        # very same Compiled, so the endpoints using it are not bound again
        hit = self.owner._compiled.get(key)
        if (
            hit is not None
            and hit[0] is source
            and hit[2] == tuple(self.types.get(s) for s in hit[1])
        ):
            self.compiled[key] = hit
            return hit[3]
        subject = policy_subject(source.id) if isinstance(source, Policy) else f"{kind} {ident}"
        if source is None:
            missing = PolicyProblem(
                subject, "reference", f"{kind} is not known; treated as empty", "warning"
            )
            name = f"missing {kind} {ident}"
            compiled = Compiled(subject, name, (), (), (missing,))
            self.compiled[key] = (None, (), (), compiled)
            return compiled
        rules = (*source.ingress_rules, *source.egress_rules)
        refs = _referenced_sets(rules)
        if isinstance(source, Policy):
            name = policy_name(source.id, network)
            keep = [r.network == network for r in rules]
        else:
            name, keep = profile_name(str(ident)), [True] * len(rules)
        n_in = len(source.ingress_rules)
        ingress = [(i, r) for i, r in enumerate(source.ingress_rules) if keep[i]]
        egress = [(i, r) for i, r in enumerate(source.egress_rules) if keep[n_in + i]]
        compiled = compile_rules(subject, name, ingress, egress, self.types)
        self.compiled[key] = (source, refs, tuple(self.types.get(s) for s in refs), compiled)
        return compiled

    def _policy(self, pid: PolicyId, network: str) -> Compiled:
        return self._compile("policy", pid, network, self.model.policies.get(pid))

    def _profile(self, profile_id: str) -> Compiled:
        return self._compile("profile", profile_id, "", self.model.profiles.get(profile_id))

    def _variant(self, compiled: Compiled, cont: Mapping[Direction, Continuation]) -> Variant:
        name = variant_name(compiled, cont)
        found = self.variants.get(name)
        if found is not None:
            return found
        if not cont:
            hit = self.owner._plain.get(name)
            found = hit[1] if hit is not None and hit[0] is compiled else None
            if found is None:
                found = variant(compiled, cont, self.types)
            self.plain[name] = (compiled, found)
        else:
            found = variant(compiled, cont, self.types)
        self.variants[name] = found
        return found

    # -- one pod interface ----------------------------------------------------------

    def _tiers(self, pod: PodInterface, d: Direction) -> list[Tier]:
        out = []
        for t in self.model.policy_for(pod).tiers:
            ids = t.ingress_policies if d == "in" else t.egress_policies
            if ids:
                policies = tuple(self._policy(pid, pod.network) for pid in ids)
                out.append(Tier(t.name, t.default_action is not RuleAction.PASS, policies))
        return out

    def _endpoint(self, pod: PodInterface, found: dict[PolicyProblem, None]) -> None:
        """The binding of one pod interface; what it was last time if its inputs are the same."""
        tiers = {d: self._tiers(pod, d) for d in DIRECTIONS}
        profiles = [self._profile(p) for p in self.model.policy_for(pod).profile_ids]
        endpoint = self.model.workload_endpoints.get(pod.key)
        shape = (
            pod,
            endpoint.allowed_source_prefixes if endpoint is not None else (),
            tuple((d, t.name, t.deny, len(t.policies)) for d in DIRECTIONS for t in tiers[d]),
            len(profiles),
        )
        # compiled policies are cached: the same object unless the policy (or its sets' types)
        # changed, so identity is the test (equal terms may name sets of another type)
        used = (*(p for d in DIRECTIONS for t in tiers[d] for p in t.policies), *profiles)
        inputs = (shape, *used)
        hit = self.owner._endpoints.get(pod.key)
        same = (
            hit is not None
            and len(hit[0]) == len(inputs)
            and hit[0][0] == shape
            and all(a is b for a, b in zip(hit[0][1:], used, strict=True))
        )
        bound = hit[1] if hit is not None and same else self._bind(pod, tiers, profiles)
        self._use(pod.key, inputs, bound, found)

    def _use(
        self,
        key: PodInterfaceKey,
        inputs: tuple[object, ...],
        bound: _Bound,
        found: dict[PolicyProblem, None],
    ) -> None:
        self.endpoints[key] = (inputs, bound)
        for compiled, v in bound.variants:
            if v.policy.name == compiled.name:  # no pass inlined: keep it for the next render
                self.plain.setdefault(v.policy.name, (compiled, v))
            if self.variants.setdefault(v.policy.name, v) is v:
                self._add(v.policy)
                for rule in v.rules:
                    self._add(rule)
        for obj in bound.own:
            self._add(obj)
        found.update(dict.fromkeys(bound.problems))

    def _bind(
        self, pod: PodInterface, tiers: dict[Direction, list[Tier]], profiles: list[Compiled]
    ) -> _Bound:
        variants: list[tuple[Compiled, Variant]] = []
        problems: list[PolicyProblem] = []
        places: dict[int, tuple[Compiled, dict[Direction, int]]] = {}
        for d in DIRECTIONS:
            for k, tier in enumerate(tiers[d]):
                for p in tier.policies:
                    places.setdefault(id(p), (p, {}))[1][d] = k
        chosen: dict[int, str] = {}
        for p, where in places.values():
            cont = {
                d: tier_continuation(d, tiers[d], k + 1)
                for d, k in where.items()
                if p.passes(d) and k + 1 < len(tiers[d])
            }
            v = self._variant(p, cont)
            variants.append((p, v))
            problems += p.problems + v.problems
            chosen[id(p)] = v.policy.name
        names: dict[Direction, list[str]] = {"in": [], "out": []}
        defaults: dict[Direction, NpolDefault] = {"in": "pass", "out": "pass"}
        for d in DIRECTIONS:
            for tier in tiers[d]:
                names[d] += [chosen[id(p)] for p in tier.policies]
                if tier.deny:  # what follows is reached only through inlined passes
                    defaults[d] = "deny"
                    break
        profile_names = []
        for j, p in enumerate(profiles):
            cont = {d: profile_continuation(d, profiles, j + 1) for d in DIRECTIONS if p.passes(d)}
            v = self._variant(p, cont)
            variants.append((p, v))
            problems += p.problems + v.problems
            profile_names.append(v.policy.name)
        iface = interface_name(pod)
        guard, guard_rule = antispoof(pod, self.model.workload_endpoints.get(pod.key))
        binding = NpolInterface(
            iface,
            inbound=tuple(names["in"]),
            outbound=(guard.name, *names["out"]),
            profiles=tuple(profile_names),
            inbound_default=defaults["in"],
            outbound_default=defaults["out"],
        )
        return _Bound(tuple(variants), (guard_rule, guard, binding), tuple(problems))


_DEFAULT = PolicyRenderer()


def render(model: ClusterModel) -> Iterator[VppObject]:
    """The npol objects of every local pod interface (and the IP sets they use)."""
    yield from _DEFAULT(model).objects


def rendered(model: ClusterModel) -> Rendered:
    """The whole render of ``model`` (cached: the same model renders once)."""
    return _DEFAULT(model)


def problems(model: ClusterModel) -> tuple[PolicyProblem, ...]:
    """Everything of the model's policy that vppnet does not program as Calico means it."""
    return _DEFAULT(model).problems


def endpoint_problems(model: ClusterModel, key: PodInterfaceKey) -> tuple[PolicyProblem, ...]:
    """The errors in the policies and profiles a pod interface uses (empty: none)."""
    found = _DEFAULT(model).by_endpoint.get(key, ())
    return tuple(p for p in found if p.severity == "error")
