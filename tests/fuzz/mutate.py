"""Hypothesis strategies for outside input: JSON values, and valid objects bent out of shape.

A parser is best attacked near its happy path: a purely random dict is refused at
the first field, while a valid object with one or two fields replaced by
something else (another type, a near-miss string, a huge number, nothing) gets
deep into the parser before it goes wrong. :func:`mutated` does that to any
JSON-like object: it picks paths that exist in the object and replaces, deletes
or adds a value there.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Obj = dict[str, Any]

NEAR_MISSES = [
    "",
    " ",
    "None",
    "null",
    "0",
    "-1",
    "65536",
    "1e3",
    "x",
    "ä",
    "\x00",
    "10.0.0.1",
    "10.0.0.1/32",
    "10.0.0.0/33",
    "10.0.0.1/8",
    "300.1.1.1",
    "fd00::1",
    "fd00::/200",
    "::",
    "0.0.0.0/0",
    "TCP",
    "tcp",
    "UDP",
    "SCTP",
    "ICMP",
    "Local",
    "Cluster",
    "ClientIP",
    "LoadBalancer",
    "NodePort",
    "ExternalName",
    "VXLAN",
    "IPIP",
    "eth0",
    "a" * 300,
    "{}",
    "[]",
    '{"a": 1}',
    "[1,",
    "ns/name@eth1",
    "2026-13-45T99:00:00Z",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NEAR_MISSES),
    st.text(max_size=20),
)

json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(NEAR_MISSES), st.text(max_size=8)), inner, max_size=4
        ),
    ),
    max_leaves=12,
)
"""Anything the JSON decoder could hand a converter (plus NaN and big numbers)."""


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _replace(root: Any, path: tuple[Any, ...], action: str, new: Any, key: str) -> Any:
    if not path:  # only "add" reaches the top level
        if isinstance(root, dict):
            root[key] = new
        return root
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "set":
        parent[last] = new
    elif action == "delete":
        del parent[last]
    elif isinstance(parent[last], dict):  # "add": a key that should not be there
        parent[last][key] = new
    elif isinstance(parent[last], list):
        parent[last].append(new)
    else:
        parent[last] = new
    return root


@st.composite
def mutated(draw: st.DrawFn, base: Any, max_changes: int = 3) -> Any:
    """``base`` (deep-copied) with 0 to ``max_changes`` values set, deleted or added."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, max_changes))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if not path and action != "add":
            continue  # the top level keeps its type: the API always sends an object
        new = draw(json_values)
        key = draw(st.one_of(st.sampled_from(NEAR_MISSES), st.text(max_size=8)))
        value = _replace(value, path, action, new, key)
    return value
