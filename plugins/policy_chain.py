"""Calico's tiers, policies and profiles as npol policies of one interface direction.

Calico evaluates, per direction: each tier that has policies for that direction,
policy by policy, rule by rule; ``allow`` and ``deny`` decide, ``pass`` skips the
rest of the tier; a tier none of whose rules matched ends in its default action
(``deny``, or ``pass`` to the next tier). After the tiers come the profiles, where
``pass`` skips to the next profile, and finally a deny.

npol evaluates the interface's policies as one list (a policy without a match
falls through to the next), then the policy default (allow, deny, or pass to the
profiles), then the profiles and the profile default; its ``pass`` jumps straight
to the profiles. So:

* tiers are concatenated up to the first tier whose default is deny, and the npol
  policy default is deny after it (pass when every tier passes): an end-of-tier
  deny costs nothing;
* a ``pass`` in the last tier is npol's ``pass``; a ``pass`` in an earlier tier is
  *inlined*: the passing rule is replaced by its AND with every rule that follows
  (the rest of the tiers, with their end-of-tier defaults), which is exactly what
  the packet would meet next. The same holds for ``pass`` in a profile. Inlined
  variants are distinct npol policies named after what follows them, shared by
  every endpoint with the same continuation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from agent.model import IpSetType, Rule, RuleAction
from agent.vppobjects import NpolPolicy, NpolRule
from plugins.policy_sets import SetExpr
from plugins.policy_terms import DENY_ALL, RuleError, Term, conj, terms_of, to_npol

MAX_INLINED = 4096
"""npol rules one ``pass`` may inline into; beyond, the rule is refused (fail closed)."""

Direction = Literal["in", "out"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """Something of a policy vppnet does not program as Calico means it.

    ``error``: the rule is replaced by a deny (fail closed) and the endpoints using
    it are reported in error; ``warning``: programmed as Calico's model means it, but
    worth knowing (a ``log`` rule, which decides nothing, is left out; a policy an
    endpoint names but Felix did not send counts as empty).
    """

    subject: str  # "policy default/ns/name" or "profile kns.ns" or "endpoint ..."
    where: str  # "inbound rule 2", ...
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.subject} {self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Slot:
    """One Calico rule, compiled: its index and the terms whose OR it is."""

    index: int
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A Calico policy or profile compiled for one interface network, both directions."""

    subject: str
    name: str  # the npol policy's name when nothing is inlined
    inbound: tuple[Slot, ...]
    outbound: tuple[Slot, ...]
    problems: tuple[PolicyProblem, ...] = ()

    def slots(self, d: Direction) -> tuple[Slot, ...]:
        return self.inbound if d == "in" else self.outbound

    def passes(self, d: Direction) -> bool:
        return any(t.action == "pass" for s in self.slots(d) for t in s.terms)


def _slots(
    subject: str,
    direction: str,
    rules: Sequence[tuple[int, Rule]],
    types: Mapping[str, IpSetType],
) -> tuple[tuple[Slot, ...], list[PolicyProblem]]:
    slots, problems = [], []
    for i, rule in rules:
        where = f"{direction} rule {i}"
        if rule.action is RuleAction.LOG:
            problems.append(PolicyProblem(subject, where, "log is not supported", "warning"))
            continue
        try:
            slots.append(Slot(i, terms_of(rule, types)))
        except RuleError as e:
            problems.append(PolicyProblem(subject, where, f"{e}; denying instead"))
            slots.append(Slot(i, (DENY_ALL,)))
    return tuple(slots), problems


def compile_rules(
    subject: str,
    name: str,
    ingress: Sequence[tuple[int, Rule]],
    egress: Sequence[tuple[int, Rule]],
    types: Mapping[str, IpSetType],
) -> Compiled:
    """Both directions' rules (with their Calico indexes), each as terms or a fail-closed deny."""
    inbound, p1 = _slots(subject, "inbound", ingress, types)
    outbound, p2 = _slots(subject, "outbound", egress, types)
    return Compiled(subject, name, inbound, outbound, tuple(p1 + p2))


# -- evaluation chains ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier as one endpoint direction sees it: its policies there and its default."""

    name: str
    deny: bool  # the end-of-tier default
    policies: tuple[Compiled, ...]


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_INLINED

    def spend(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise RuleError(f"its pass inlines into more than {MAX_INLINED} npol rules")


def _after_tiers(head: Term, d: Direction, tiers: Sequence[Tier], k: int, b: _Budget) -> list[Term]:
    """Terms equivalent to ``head`` passing on to tier ``k`` and whatever follows."""
    if k == len(tiers):
        b.spend()
        return [replace(head, action="pass")]  # on to the profiles: npol's own pass
    out: list[Term] = []
    tier = tiers[k]
    for policy in tier.policies:
        for slot in policy.slots(d):
            for s in slot.terms:
                c = conj(head, s)
                if c is None:
                    continue
                if s.action == "pass":
                    out += _after_tiers(c, d, tiers, k + 1, b)
                else:
                    b.spend()
                    out.append(c)
    if tier.deny:
        b.spend()
        out.append(replace(head, action="deny"))
    else:
        out += _after_tiers(head, d, tiers, k + 1, b)
    return out


def _after_profiles(
    head: Term, d: Direction, profiles: Sequence[Compiled], j: int, b: _Budget
) -> list[Term]:
    """Terms equivalent to ``head`` passing on to profile ``j`` (then the final deny)."""
    if j == len(profiles):
        b.spend()
        return [replace(head, action="deny")]
    out: list[Term] = []
    for slot in profiles[j].slots(d):
        for s in slot.terms:
            c = conj(head, s)
            if c is None:
                continue
            if s.action == "pass":
                out += _after_profiles(c, d, profiles, j + 1, b)
            else:
                b.spend()
                out.append(c)
    return out + _after_profiles(head, d, profiles, j + 1, b)


Inline = Callable[[Term, _Budget], list[Term]]
Continuation = tuple[object, Inline]  # (identity, inliner)


def _rules(
    compiled: Compiled,
    variant: str,
    d: Direction,
    inline: Inline | None,
    name: Callable[[SetExpr], str],
    problems: list[PolicyProblem],
) -> list[NpolRule]:
    out: list[NpolRule] = []
    tag = "inbound" if d == "in" else "outbound"
    for slot in compiled.slots(d):
        terms: list[Term] = []
        for t in slot.terms:
            if t.action != "pass" or inline is None:
                terms.append(t)
                continue
            try:
                terms += inline(t, _Budget())
            except RuleError as e:
                problems.append(
                    PolicyProblem(
                        compiled.subject, f"{tag} rule {slot.index}", f"{e}; denying instead"
                    )
                )
                terms.append(DENY_ALL)
        for k, t in enumerate(terms):
            suffix = f"{slot.index}" if len(terms) == 1 else f"{slot.index}.{k}"
            rule_name = f"{variant} {d} {suffix}"
            try:
                out.append(to_npol(rule_name, t, name))
            except RuleError as e:
                problems.append(
                    PolicyProblem(
                        compiled.subject, f"{tag} rule {slot.index}", f"{e}; denying instead"
                    )
                )
                out.append(to_npol(rule_name, DENY_ALL, name))
    return out


def digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class Variant:
    """An npol policy (and its rules) for a compiled policy in one place of a chain."""

    policy: NpolPolicy
    rules: tuple[NpolRule, ...]
    sets: tuple[tuple[str, SetExpr], ...]  # the set expressions its rules use, by name
    problems: tuple[PolicyProblem, ...]


def variant_name(compiled: Compiled, continuations: Mapping[Direction, Continuation]) -> str:
    ids = sorted((d, c[0]) for d, c in continuations.items())
    return compiled.name if not ids else f"{compiled.name} ~{digest(ids)}"


def variant(
    compiled: Compiled,
    continuations: Mapping[Direction, Continuation],
    types: Mapping[str, IpSetType],
) -> Variant:
    """The npol policy of ``compiled`` when a pass meets ``continuations`` (per direction:
    an identity, part of the name, and the inliner); a direction without one: npol's pass."""
    vname = variant_name(compiled, continuations)
    used: dict[str, SetExpr] = {}

    def name(expr: SetExpr) -> str:
        text = expr.name(types)
        used[text] = expr
        return text

    problems: list[PolicyProblem] = []
    rules_in = _rules(compiled, vname, "in", _inliner(continuations.get("in")), name, problems)
    rules_out = _rules(compiled, vname, "out", _inliner(continuations.get("out")), name, problems)
    policy = NpolPolicy(vname, tuple(r.name for r in rules_in), tuple(r.name for r in rules_out))
    return Variant(policy, tuple(rules_in + rules_out), tuple(used.items()), tuple(problems))


def _inliner(c: Continuation | None) -> Inline | None:
    return None if c is None else c[1]


def tier_continuation(d: Direction, tiers: Sequence[Tier], k: int) -> Continuation:
    """What a pass in tier ``k - 1`` meets: tiers ``k``... (their policies and defaults)."""
    identity = tuple((t.name, t.deny, tuple(p.name for p in t.policies)) for t in tiers[k:])
    return identity, lambda head, b: _after_tiers(head, d, tiers, k, b)


def profile_continuation(d: Direction, profiles: Sequence[Compiled], j: int) -> Continuation:
    """What a pass in profile ``j - 1`` meets: profiles ``j``..., then the final deny."""
    identity = ("profiles", tuple(p.name for p in profiles[j:]))
    return identity, lambda head, b: _after_profiles(head, d, profiles, j, b)
