"""Arbitrary content in well-formed Felix messages: accepted, or refused alone.

Whatever strings and numbers Felix's fields hold, the store either takes the
message or raises ConversionError and stays exactly as it was; and whatever
bytes arrive, the session's decode path raises only its own errors.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.felix.changes import ChangeSet
from agent.felix.convert_policy import ConversionError
from agent.felix.framing import FrameDecoder
from agent.felix.messages import MalformedMessageError, decode
from agent.felix.store import FelixStore
from agent.felix.sync import FelixSync, ProtocolViolationError
from agent.proto_gen import felixbackend_pb2 as pb

SAMPLES = [
    "",
    "x",
    "10.0.0.1",
    "10.0.0.1/32",
    "10.0.0.0/33",
    "fd00::1/128",
    "fd00::1",
    "1.2.3.4/",
    "010.1.1.1/32",
    "10.0.0.1,tcp:80",
    "10.0.0.1,icmp:1",
    "fd00::1,udp:70000",
    "Allow",
    "next-tier",
    "Deny",
    "cross-subnet",
    "Always",
    "64512",
    "1.10",
    "ns/pod",
    "k8s",
]
text = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=12))
texts = st.lists(text, max_size=4)
number = st.integers(-(2**31), 2**31 - 1)


@st.composite
def policy_ids(draw: st.DrawFn) -> pb.PolicyID:
    return pb.PolicyID(tier=draw(text), name=draw(text), namespace=draw(text), kind=draw(text))


@st.composite
def tier_infos(draw: st.DrawFn) -> pb.TierInfo:
    return pb.TierInfo(
        name=draw(text),
        ingress_policies=draw(st.lists(policy_ids(), max_size=2)),
        egress_policies=draw(st.lists(policy_ids(), max_size=2)),
        default_action=draw(text),
    )


@st.composite
def rules(draw: st.DrawFn) -> pb.Rule:
    protocol = draw(
        st.one_of(
            st.none(),
            st.builds(lambda n: pb.Protocol(number=n), number),
            st.builds(lambda s: pb.Protocol(name=s), text),
        )
    )
    ports = st.lists(
        st.builds(lambda a, b: pb.PortRange(first=a, last=b), number, number), max_size=2
    )
    rule = pb.Rule(
        action=draw(text),
        ip_version=draw(st.sampled_from([0, 4, 6, 5])),  # type: ignore[arg-type]
        src_net=draw(texts),
        not_dst_net=draw(texts),
        dst_ports=draw(ports),
        src_ip_set_ids=draw(texts),
    )
    if protocol is not None:
        rule.protocol.CopyFrom(protocol)
    if draw(st.booleans()):
        rule.icmp_type = draw(number)
    else:
        rule.not_icmp_type_code.CopyFrom(pb.IcmpTypeAndCode(type=draw(number), code=draw(number)))
    return rule


def workload_id(draw: st.DrawFn) -> pb.WorkloadEndpointID:
    return pb.WorkloadEndpointID(
        orchestrator_id=draw(text), workload_id=draw(text), endpoint_id=draw(text)
    )


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "workload_endpoint_update",
                "active_policy_update",
                "ipset_update",
                "ipset_delta_update",
                "ipam_pool_update",
                "route_update",
                "route_remove",
                "host_metadata_update",
                "host_metadata_v4v6_update",
                "vtep_update",
                "host_endpoint_update",
            ]
        )
    )
    if kind == "workload_endpoint_update":
        endpoint = pb.WorkloadEndpoint(
            name=draw(text),
            ipv4_nets=draw(texts),
            ipv6_nets=draw(texts),
            profile_ids=draw(texts),
            tiers=draw(st.lists(tier_infos(), max_size=2)),
            ipv4_nat=[pb.NatInfo(ext_ip=draw(text), int_ip=draw(text))],
            allow_spoofed_source_prefixes=draw(texts),
        )
        return kind, pb.WorkloadEndpointUpdate(id=workload_id(draw), endpoint=endpoint)
    if kind == "active_policy_update":
        body = pb.Policy(inbound_rules=draw(st.lists(rules(), max_size=2)))
        return kind, pb.ActivePolicyUpdate(id=draw(policy_ids()), policy=body)
    if kind == "ipset_update":
        return kind, pb.IPSetUpdate(
            id=draw(text),
            members=draw(texts),
            type=draw(st.integers(0, 4)),  # type: ignore[arg-type]
        )
    if kind == "ipset_delta_update":
        return kind, pb.IPSetDeltaUpdate(
            id=draw(st.sampled_from(["s:known", "s:other"])),
            added_members=draw(texts),
            removed_members=draw(texts),
        )
    if kind == "ipam_pool_update":
        pool = pb.IPAMPool(cidr=draw(text), ipip_mode=draw(text), vxlan_mode=draw(text))
        return kind, pb.IPAMPoolUpdate(id=draw(text), pool=pool)
    if kind == "route_update":
        return kind, pb.RouteUpdate(
            dst=draw(text),
            dst_node_name=draw(text),
            dst_node_ip=draw(text),
            types=draw(st.integers(0, 2**31 - 1)),  # type: ignore[arg-type]
            ip_pool_type=draw(st.integers(0, 9)),  # type: ignore[arg-type]
        )
    if kind == "route_remove":
        return kind, pb.RouteRemove(dst=draw(text))
    if kind in ("host_metadata_update", "host_metadata_v4v6_update"):
        cls = pb.HostMetadataUpdate if kind == "host_metadata_update" else pb.HostMetadataV4V6Update
        return kind, cls(
            hostname=draw(text), ipv4_addr=draw(text), ipv6_addr=draw(text), asnumber=draw(text)
        )
    if kind == "vtep_update":
        return kind, pb.VXLANTunnelEndpointUpdate(
            node=draw(text), ipv4_addr=draw(text), parent_device_ipv6=draw(text)
        )
    host = pb.HostEndpoint(
        expected_ipv4_addrs=draw(texts), forward_tiers=draw(st.lists(tier_infos(), max_size=1))
    )
    return kind, pb.HostEndpointUpdate(id=pb.HostEndpointID(endpoint_id=draw(text)), endpoint=host)


def snapshot(store: FelixStore) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(store).items() if k != "problems"}


@given(st.lists(payloads(), min_size=1, max_size=8))
def test_any_field_content_is_accepted_or_refused_without_a_trace(
    messages: list[tuple[str, Any]],
) -> None:
    store = FelixStore()
    store.apply("ipset_update", pb.IPSetUpdate(id="s:known", type=pb.IPSetUpdate.NET), ChangeSet())
    for kind, message in messages:
        before = snapshot(store)
        try:
            store.apply(kind, message, ChangeSet())
        except ConversionError as e:
            assert str(e)  # says what was wrong
            assert snapshot(store) == before


@given(st.binary(max_size=400))
def test_any_bytes_through_the_decode_path_raise_only_reported_errors(data: bytes) -> None:
    sync = FelixSync()
    sync.handle("config_update", pb.ConfigUpdate(), ChangeSet())
    for frame in FrameDecoder(max_frame=300).feed(data):
        if not isinstance(frame, bytes):
            continue
        with contextlib.suppress(MalformedMessageError, ConversionError, ProtocolViolationError):
            envelope = decode(frame)
            if envelope.kind is not None and envelope.payload is not None:
                sync.handle(envelope.kind, envelope.payload, ChangeSet())
