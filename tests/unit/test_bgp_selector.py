"""Calico label selectors for BGPPeer nodeSelector/peerSelector."""

from __future__ import annotations

import pytest

from agent.bgp.selector import SelectorError, parse

LABELS = {"rack": "r1", "role": "route-reflector", "kubernetes.io/hostname": "node-a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("all()", True),
        ("global()", True),
        ("has(rack)", True),
        ("!has(zone)", True),
        ("rack == 'r1'", True),
        ('rack == "r2"', False),
        ("rack != 'r2'", True),
        ("zone != 'a'", True),  # an absent label is != anything
        ("rack in {'r1', 'r2'}", True),
        ("rack not in {'r1'}", False),
        ("rack in {}", False),
        ("role contains 'reflector'", True),
        ("role starts with 'route'", True),
        ("role ends with 'router'", False),
        ("kubernetes.io/hostname == 'node-a'", True),
        ("has(rack) && role == 'route-reflector'", True),
        ("rack == 'r2' || role == 'route-reflector'", True),
        ("!(rack == 'r1' && has(role))", False),
        ("has(rack) && (rack == 'r2' || !has(zone))", True),
    ],
)
def test_matches_like_calico(text: str, expected: bool) -> None:
    assert parse(text)(LABELS) is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("rack ==", "unexpected end"),
        ("rack = 'r1'", "unexpected"),
        ("rack == r1", "expected a quoted value"),
        ("has(rack", "unexpected end"),
        ("rack == 'r1' extra", "unexpected 'extra'"),
        ("rack in {'a' 'b'}", "expected '}'"),
        ("rack", "expected an operator after label 'rack'"),
        ("&& rack", "expected a label"),
    ],
)
def test_bad_selectors_say_where(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError, match=fragment):
        parse(text)
