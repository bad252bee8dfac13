"""``vppnet explain policy``: the deciding tier, policy and rule, from the index's records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.explain_policy import (
    ExplainError,
    Programmed,
    explain,
    explain_command,
    parse_packet,
)
from agent.model import ClusterModel
from agent.reconcile.npol_records import encode
from agent.vppobjects import NpolInterface
from plugins import policy
from tests.policy_cases import KEYS
from tests.unit.test_policy_truth import tiers_with_pass

X_A, Z_A = "x/a/eth0", "z/a/eth0"


def records(model: ClusterModel) -> dict[str, object]:
    """Index records as the reconciler writes them, with made-up VPP ids."""
    objects: dict[str, object] = {}
    for i, obj in enumerate(policy.render(model)):
        extra = {"sw_if_index": 100 + i} if isinstance(obj, NpolInterface) else {"id": i}
        objects[obj.key] = {**encode(obj), **extra}
    return {"version": 1, "vpe_pid": 1, "objects": objects}


@pytest.fixture
def model() -> ClusterModel:
    return tiers_with_pass()[0].model()


def test_a_deny_in_the_first_tier(model: ClusterModel) -> None:
    text = explain(
        Programmed.from_records(records(model)),
        X_A,
        "ingress",
        parse_packet("tcp 10.1.2.1:40000 10.1.0.1:80"),
        model,
    )
    assert text.splitlines() == [
        "packet 10.1.2.1:40000 -> 10.1.0.1:80 proto 6, ingress (to pod/x/a/eth0)",
        f"  matched policy security/security.guard (variant {_variant(text)}: a pass inlined), "
        f"inbound rule 0 [npol rule {_rule_id(text)}]",
        "programmed verdict: DENY",
        "Calico's verdict: DENY (tier security policy security/security.guard ingress rule 0: "
        "deny); agrees",
    ]


def test_a_pass_into_the_next_tier_and_its_end_of_tier_deny(model: ClusterModel) -> None:
    programmed = Programmed.from_records(records(model))
    allowed = explain(
        programmed, X_A, "ingress", parse_packet("tcp 10.1.1.1:40000 10.1.0.1:80"), model
    )
    assert "inbound rule 1 (npol rule 0 of its expansion) [npol rule" in allowed
    assert "programmed verdict: ALLOW" in allowed and "; agrees" in allowed
    denied = explain(
        programmed, X_A, "ingress", parse_packet("udp 10.1.1.1:40000 10.1.0.1:53"), model
    )
    assert "programmed verdict: DENY" in denied
    assert (
        "Calico's verdict: DENY (tier default: no policy matched, end-of-tier deny); agrees"
        in denied
    )


def test_profiles_and_anti_spoofing_on_egress(model: ClusterModel) -> None:
    programmed = Programmed.from_records(records(model))
    ok = explain(programmed, Z_A, "egress", parse_packet("udp 10.1.2.1:5000 10.1.0.1:53"), model)
    assert "no match in anti-spoofing" in ok and "matched profile kns.z, outbound rule 0" in ok
    spoofed = explain(
        programmed, Z_A, "egress", parse_packet("udp 10.1.0.1:5000 10.1.0.2:53"), model
    )
    assert "matched anti-spoofing (a pod sends only from its own addresses)" in spoofed
    assert (
        "Calico's verdict: DENY (source 10.1.0.1 is not an address of z/a/eth0); agrees" in spoofed
    )


def test_a_disagreement_is_flagged(model: ClusterModel) -> None:
    """The index says what VPP holds; a model that moved on since is told apart."""
    programmed = Programmed.from_records(records(model))
    other = tiers_with_pass()[0]
    other.tiers = other.tiers[1:]  # the security tier is gone from the model, not from VPP
    text = explain(
        programmed, X_A, "ingress", parse_packet("tcp 10.1.2.1:40000 10.1.0.1:80"), other.model()
    )
    assert text.endswith("DISAGREES with what is programmed")


def test_the_index_file_is_read_without_changing_it(model: ClusterModel, tmp_path: Path) -> None:
    path = tmp_path / "vpp-index.json"
    path.write_text(json.dumps({"version": 1, "npol": records(model)}))
    before = path.read_bytes()
    programmed = Programmed.load(path)
    assert f"pod/{KEYS[0]}" in programmed.state.interfaces and path.read_bytes() == before
    with pytest.raises(ExplainError, match="cannot read the ownership index"):
        Programmed.load(tmp_path / "missing.json")
    with pytest.raises(ExplainError, match="no npol binding for interface pod/q/r/eth0"):
        explain(programmed, "q/r/eth0", "ingress", parse_packet("tcp 10.0.0.1:1 10.0.0.2:2"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tcp 10.0.0.1", "expected '<proto> <src> <dst> \\[type/code\\]'"),
        ("bogus 10.0.0.1 10.0.0.2", "unknown protocol 'bogus'"),
        ("tcp 10.0.0.1:80 fd00::1", "different IP versions"),
        ("tcp 10.0.0.300:1 10.0.0.2:2", "'10.0.0.300:1' is not an address"),
        ("tcp 10.0.0.1 10.0.0.2 8/0", "type/code is for icmp or icmpv6"),
    ],
)
def test_bad_packets_are_refused(text: str, message: str) -> None:
    with pytest.raises(ExplainError, match=message):
        parse_packet(text)


def test_packets_parse() -> None:
    p = parse_packet("udp [fd00::7]:53 [fd00::5]:5353")
    assert (str(p.src), p.sport, str(p.dst), p.dport, p.proto) == (
        "fd00::7",
        53,
        "fd00::5",
        5353,
        17,
    )
    icmp = parse_packet("icmp 10.0.0.7 10.0.0.5 8/0")
    assert (icmp.proto, icmp.icmp_type, icmp.icmp_code) == (1, 8, 0)


def _variant(text: str) -> str:
    return text.split("(variant ", 1)[1].split(":", 1)[0]


def _rule_id(text: str) -> str:
    return text.split("[npol rule ", 1)[1].split("]", 1)[0]


def test_the_command_takes_its_arguments_as_text(model: ClusterModel, tmp_path: Path) -> None:
    path = tmp_path / "vpp-index.json"
    path.write_text(json.dumps({"version": 1, "npol": records(model)}))
    text = explain_command(path, X_A, "ingress", "tcp 10.1.1.1:40000 10.1.0.1:80", model)
    assert "programmed verdict: ALLOW" in text
    with pytest.raises(ExplainError, match="'sideways' is not ingress or egress"):
        explain_command(path, X_A, "sideways", "tcp 10.1.1.1:1 10.1.0.1:80")
