"""``vppnet explain policy``: which tier, policy and rule decide a packet, and why.

The answer comes from what vppnet *programmed* (the npol records of its
ownership index, evaluated as VPP's npol plugin evaluates them), so it explains
VPP's behaviour, not the intent. Given the cluster model too, it puts Calico's
own verdict beside it (:mod:`plugins.policy_oracle`) and says whether they agree.

npol object names carry their origin: an npol policy is named after the Calico
policy (``tier/namespace/name``, ``@network`` for a secondary network's rules,
``~digest`` for a variant with an inlined pass) or ``profile <id>`` or
``antispoof <interface>``; an npol rule after its policy, direction (``in`` is
towards the pod) and the Calico rule's index (``.k`` for the k-th npol rule one
Calico rule became).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal

from agent.model import ClusterModel, PodInterfaceKey, protocol_number
from agent.reconcile.journal import read_npol_records
from agent.reconcile.npol_eval import NpolState, evaluate_pod, state_of
from agent.reconcile.npol_records import programmed
from agent.vppobjects import NpolPolicy, NpolRule, VppObject
from plugins.policy_oracle import ICMP, Packet, evaluate

Direction = Literal["ingress", "egress"]
POD_PREFIX = "pod/"


class ExplainError(ValueError):
    """Bad arguments (a packet that does not parse, an unknown interface)."""


@dataclass(frozen=True)
class Programmed:
    """What vppnet programmed in npol: its objects, VPP's ids, and the evaluable state."""

    objects: tuple[VppObject, ...]
    ids: dict[str, int]
    state: NpolState

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> Programmed:
        objects, ids = programmed(records)
        return cls(tuple(objects), ids, state_of(objects, ids))

    @classmethod
    def load(cls, index_path: str | Path) -> Programmed:
        """Read an ownership index file (read only: nothing is moved or rewritten)."""
        try:
            records = read_npol_records(index_path)  # with its journal
        except (OSError, ValueError) as e:
            raise ExplainError(f"cannot read the ownership index {index_path}: {e}") from None
        return cls.from_records(records)

    def name_of(self, kind: type, vpp_id: int | None) -> str:
        for obj in self.objects:
            if isinstance(obj, kind) and self.ids.get(obj.key) == vpp_id:
                return str(getattr(obj, "name", ""))
        return f"#{vpp_id}"


_ADDRESS_PORT = re.compile(r"^\[(?P<v6>[^\]]+)\]:(?P<p6>\d+)$|^(?P<v4>[\d.]+):(?P<p4>\d+)$")


def _endpoint(text: str) -> tuple[Any, int]:
    m = _ADDRESS_PORT.match(text)
    try:
        if m is None:
            return ip_address(text.strip("[]")), 0
        return ip_address(m["v6"] or m["v4"]), int(m["p6"] or m["p4"])
    except ValueError:
        raise ExplainError(f"packet: {text!r} is not an address[:port]") from None


def parse_packet(text: str) -> Packet:
    """``<proto> <src>[:<port>] <dst>[:<port>] [<icmp type>/<code>]``, e.g.
    ``tcp 10.0.0.7:40000 10.0.0.5:80``, ``udp [fd00::7]:53 [fd00::5]:53``,
    ``icmp 10.0.0.7 10.0.0.5 8/0``."""
    words = text.split()
    if len(words) not in (3, 4):
        raise ExplainError(f"packet: expected '<proto> <src> <dst> [type/code]', got {text!r}")
    try:
        proto = int(words[0]) if words[0].isdigit() else protocol_number(words[0])
    except ValueError:
        raise ExplainError(f"packet: unknown protocol {words[0]!r}") from None
    (src, sport), (dst, dport) = _endpoint(words[1]), _endpoint(words[2])
    if src.version != dst.version:
        raise ExplainError("packet: source and destination are of different IP versions")
    icmp_type = icmp_code = 0
    if len(words) == 4:
        if proto not in ICMP or not re.fullmatch(r"\d+/\d+", words[3]):
            raise ExplainError(f"packet: {words[3]!r}: type/code is for icmp or icmpv6")
        icmp_type, icmp_code = (int(x) for x in words[3].split("/"))
    return Packet(src, dst, proto, sport, dport, icmp_type, icmp_code)


def interface_of(target: str) -> str:
    """The npol interface name of ``namespace/pod/interface`` (or of that name itself)."""
    return target if target.startswith(POD_PREFIX) else POD_PREFIX + target


def _origin(policy_name: str) -> str:
    if policy_name.startswith("antispoof "):
        return "anti-spoofing (a pod sends only from its own addresses)"
    if policy_name.startswith("profile "):
        return policy_name
    base, _, variant = policy_name.partition(" ~")
    text = f"policy {base}"
    return text + (f" (variant {variant}: a pass inlined)" if variant else "")


def _rule_origin(rule_name: str) -> str:
    policy_name, _, rest = rule_name.rpartition(" ")
    policy_name, _, direction = policy_name.rpartition(" ")
    index, _, part = rest.partition(".")
    where = "inbound" if direction == "in" else "outbound"
    text = f"{_origin(policy_name)}, {where} rule {index}"
    return text + (f" (npol rule {part} of its expansion)" if part else "")


def explain(
    programmed_: Programmed,
    target: str,
    direction: Direction,
    packet: Packet,
    model: ClusterModel | None = None,
) -> str:
    """A readable account of the verdict for ``packet`` to or from ``target``'s interface."""
    iface = interface_of(target)
    if iface not in programmed_.state.interfaces:
        raise ExplainError(f"no npol binding for interface {iface} in the ownership index")
    towards = "to" if direction == "ingress" else "from"
    lines = [f"packet {packet}, {direction} ({towards} {iface})"]
    d = evaluate_pod(programmed_.state, iface, direction == "ingress", packet)
    for pid in d.passed_by:
        name = programmed_.name_of(NpolPolicy, pid)
        lines.append(f"  no match in {_origin(name)} [npol policy {pid}]")
    verdict = "ALLOW" if d.allowed else "DENY"
    if d.stage in ("policy", "profile"):
        rule = programmed_.name_of(NpolRule, d.rule)
        lines.append(f"  matched {_rule_origin(rule)} [npol rule {d.rule}]")
        lines.append(f"programmed verdict: {verdict}")
    elif d.stage == "policy default":
        lines.append(f"programmed verdict: {verdict}: no policy decided (end of tier)")
    else:
        lines.append(f"programmed verdict: {verdict}: no profile decided ({d.stage})")
    if model is not None:
        key = PodInterfaceKey(*iface.removeprefix(POD_PREFIX).split("/", 2))
        if key not in model.pod_interfaces:
            lines.append(f"Calico's verdict: unknown ({key} is not in the model)")
        else:
            v = evaluate(model, key, direction, packet)
            agree = "agrees" if v.allowed == d.allowed else "DISAGREES with what is programmed"
            lines.append(
                f"Calico's verdict: {'ALLOW' if v.allowed else 'DENY'} ({v.reason}); {agree}"
            )
    return "\n".join(lines)


def explain_command(
    index_path: str | Path,
    target: str,
    direction: str,
    packet: str,
    model: ClusterModel | None = None,
) -> str:
    """``vppnet explain policy``'s body: every argument as the command line gives it.

    Raises :class:`ExplainError` with a message for the user on bad arguments.
    """
    if direction not in ("ingress", "egress"):
        raise ExplainError(f"direction: {direction!r} is not ingress or egress")
    d: Direction = "ingress" if direction == "ingress" else "egress"
    return explain(Programmed.load(index_path), target, d, parse_packet(packet), model)
