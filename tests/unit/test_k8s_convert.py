"""Converters from Kubernetes objects to model entities: what they accept, and how they refuse."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.k8s.convert import nads, networks, nodes, pods
from agent.k8s.convert.meta import ConversionError, ObjectMeta
from agent.model import Node, PodBlock, PodRef
from tests.k8sfake import objects as o
from tests.k8sfake.schema import validate

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address
ROOT = Path(__file__).resolve().parents[2]


def refused(fn: Any, obj: dict[str, Any]) -> ConversionError:
    with pytest.raises(ConversionError) as error:
        fn(obj)
    return error.value


def test_a_vppnet_network() -> None:
    obj = o.network("blue", 56, "172.19.0.0/16", "fd19::/64", vrfTableId=7)
    obj["metadata"].update(creationTimestamp="2026-01-01T00:00:05Z", deletionTimestamp="x")
    net = networks.from_vppnet(obj)
    assert (net.name, net.vni, net.ranges, net.vrf_table_id) == (
        "blue",
        56,
        (NET("172.19.0.0/16"), NET("fd19::/64")),
        7,
    )
    assert net.created == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC) and net.terminating
    assert networks.from_vppnet(o.network("v6", 9, ipv6="fd00::/64")).vrf_table_id == 9


@pytest.mark.parametrize(
    ("spec", "reason", "field", "words"),
    [
        ({"vni": "56", "ipv4Range": "10.0.0.0/8"}, "InvalidSpec", "spec.vni", "integer"),
        ({"vni": True, "ipv4Range": "10.0.0.0/8"}, "InvalidSpec", "spec.vni", "integer"),
        ({"ipv4Range": "10.0.0.0/8"}, "InvalidSpec", "spec.vni", "required"),
        ({"vni": 5}, "NoRange", "spec", "ipv4Range"),
        ({"vni": 5, "ipv4Range": "10.0.0.1/8"}, "BadCIDR", "spec.ipv4Range", "host bits"),
        ({"vni": 5, "ipv4Range": "10.0.0.0"}, "BadCIDR", "spec.ipv4Range", "prefix length"),
        ({"vni": 5, "ipv4Range": "fd00::/8"}, "BadCIDR", "spec.ipv4Range", "not an IPv4"),
        ({"vni": 5, "ipv6Range": "nope/64"}, "BadCIDR", "spec.ipv6Range", "not a CIDR"),
        ({"vni": 5, "ipv4Range": "10.0.0.0/8", "type": "IPIP"}, "UnsupportedType", "spec.type", ""),
        ({"vni": 5, "ipv4Range": 10}, "InvalidSpec", "spec.ipv4Range", "string"),
    ],
)
def test_a_vppnet_network_refused(
    spec: dict[str, Any], reason: str, field: str, words: str
) -> None:
    error = refused(networks.from_vppnet, {"metadata": {"name": "x"}, "spec": spec})
    assert (error.reason, error.field) == (reason, field) and words in error.message


def test_objects_without_a_name_or_with_a_bad_spec_are_refused() -> None:
    assert refused(networks.from_vppnet, {"spec": {}}).field == "metadata.name"
    assert refused(networks.from_vppnet, {"metadata": {"name": "x"}, "spec": []}).field == "spec"


def test_a_calico_vpp_network() -> None:
    net = networks.from_calico_vpp(o.calico_vpp_network("red", 88, "fd00:21::/64", "infra"))
    assert (net.name, net.vni, net.ranges, net.physical_network) == (
        "red",
        88,
        (NET("fd00:21::/64"),),
        "",
    )
    bad = o.calico_vpp_network("red", 88, "172.21.0.1/16")
    assert refused(networks.from_calico_vpp, bad).reason == "BadCIDR"
    assert (
        refused(networks.from_calico_vpp, {"metadata": {"name": "x"}, "spec": {"vni": 1}}).field
        == "spec.range"
    )


def test_nads_select_their_network_by_dataplane_options() -> None:
    assert nads.network_name(o.nad("blue-conf", "blue")) == "blue"
    assert nads.network_name(o.nad("plain-calico", None)) is None
    single = {"type": "calico", "dataplane_options": {"network_name": "red"}}
    obj = {"metadata": {"name": "one"}, "spec": {"config": json.dumps(single)}}
    assert nads.network_name(obj) == "red"
    macvlan = {"cniVersion": "0.3.1", "type": "macvlan", "master": "eth1"}
    assert (
        nads.network_name({"metadata": {"name": "m"}, "spec": {"config": json.dumps(macvlan)}})
        is None
    )
    assert nads.network_name({"metadata": {"name": "file"}, "spec": {}}) is None
    assert nads.ref_of(o.nad("x", "blue", "team")).namespace == "team"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("{nope", "not JSON"),
        ("[1]", "JSON object"),
        ('{"plugins": {}}', "must be a list"),
        (
            '{"plugins": [{"type": "calico", "dataplane_options": {"network_name": 5}}]}',
            "non-empty",
        ),
        (
            json.dumps(
                {
                    "plugins": [
                        {"type": "calico", "dataplane_options": {"network_name": "a"}},
                        {"type": "calico", "dataplane_options": {"network_name": "b"}},
                    ]
                }
            ),
            "several networks",
        ),
    ],
)
def test_nads_refused(config: str, words: str) -> None:
    error = refused(nads.network_name, {"metadata": {"name": "n"}, "spec": {"config": config}})
    assert error.reason == "InvalidConfig" and words in str(error)


def test_nodes_take_calico_annotations_then_status_addresses() -> None:
    info = nodes.from_k8s(
        o.node(
            "a",
            ipv4="192.168.0.1/24",
            ipv6="fd00::1/64",
            internal_ip="10.9.9.9",
            annotations={"projectcalico.org/ASNumber": "64512"},
            pod_cidrs=("10.244.1.0/24",),
        )
    )
    assert info.addresses == (IF("192.168.0.1/24"), IF("fd00::1/64"))
    assert (info.asn, info.pod_cidrs, info.problems) == (64512, (NET("10.244.1.0/24"),), ())
    fallback = nodes.from_k8s(o.node("b", internal_ip="10.0.0.2"))
    assert fallback.addresses == (IF("10.0.0.2/32"),)
    obj = o.node("c")
    obj["status"]["addresses"] = [
        {"type": "Hostname", "address": "c"},
        {"type": "ExternalIP", "address": "203.0.113.3"},
        {"type": "InternalIP", "address": "fd00::3"},
        {"type": "InternalIP", "address": "10.0.0.3"},
    ]
    assert nodes.from_k8s(obj).addresses == (IF("10.0.0.3/32"), IF("fd00::3/128"))


def test_node_problems_cost_only_what_they_describe() -> None:
    info = nodes.from_k8s(
        o.node(
            "a",
            ipv4="192.168.0.300/24",
            internal_ip="10.0.0.1",
            annotations={
                "projectcalico.org/IPv6Address": "10.0.0.1/24",
                "projectcalico.org/ASNumber": "lots",
                "vppnet.io/network-prefixes": '{"blue": ["172.19.1.0/26", "bad"], "": []}',
            },
            pod_cidrs=("10.244.1.1/24",),
        )
    )
    assert info.addresses == (IF("10.0.0.1/32"),)  # both annotations bad: the fallback
    assert info.asn is None and info.pod_cidrs == ()
    assert info.network_prefixes == (PodBlock(NET("172.19.1.0/26"), "blue"),)
    text = " | ".join(info.problems)
    for words in ("IPv4Address", "not IPv6", "AS number", "host bits", "'bad'", "entry ''"):
        assert words in text
    assert nodes.from_k8s(o.node("x", annotations={"vppnet.io/network-prefixes": "["})).problems


def test_node_information_merges_with_felix_s() -> None:
    felix = Node(
        "b",
        (IF("192.168.0.2/24"),),
        (PodBlock(NET("10.244.2.0/26")), PodBlock(NET("172.19.9.0/26"), "blue")),
        asn=65000,
        uplink_interface="eth0",
    )
    info = nodes.from_k8s(
        o.node(
            "b",
            annotations={"vppnet.io/network-prefixes": '{"blue": ["172.19.2.0/26"]}'},
            pod_cidrs=("10.244.7.0/24",),
        )
    )
    merged = info.merged_into(felix, own_default_blocks=False)
    assert merged.addresses == felix.addresses and merged.asn == 65000  # kept: k8s had none
    assert merged.uplink_interface == "eth0"
    assert merged.pod_blocks == (
        PodBlock(NET("10.244.2.0/26")),
        PodBlock(NET("172.19.2.0/26"), "blue"),
    )
    own = info.merged_into(felix, own_default_blocks=True)
    assert own.blocks() == (NET("10.244.7.0/24"),)
    assert info.merged_into(None, own_default_blocks=False).pod_blocks == (
        PodBlock(NET("172.19.2.0/26"), "blue"),
    )


def test_pods_keep_annotations_labels_and_addresses() -> None:
    obj = o.pod("web", "a", "team", {"k8s.v1.cni.cncf.io/networks": "blue-conf@net1"}, "10.244.1.5")
    obj["metadata"]["uid"] = "u-1"
    obj["status"]["podIPs"].extend([{"ip": "fd00::5"}, {"ip": "garbage"}, "x"])
    meta = pods.from_k8s(obj)
    assert meta.ref == PodRef("team", "web") and meta.uid == "u-1"
    assert meta.annotations == {"k8s.v1.cni.cncf.io/networks": "blue-conf@net1"}
    assert meta.labels == {"app": "web"}
    assert meta.ips == (IP("10.244.1.5"), IP("fd00::5"))


def test_object_meta() -> None:
    meta = ObjectMeta.of(
        {
            "metadata": {
                "name": "n",
                "namespace": "ns",
                "generation": 3,
                "finalizers": ["a"],
                "annotations": {"k": 1, "gone": None},
                "creationTimestamp": "not a time",
            }
        }
    )
    assert (meta.ref, meta.generation, meta.finalizers, meta.created) == ("ns/n", 3, ("a",), None)
    assert meta.annotations == {"k": "1"} and not meta.deleting


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "crds" / "examples" / name).read_text()) if d]


def test_the_example_manifests_are_valid_for_the_crd_and_the_converters() -> None:
    crd = yaml.safe_load((ROOT / "crds" / "networks.vppnet.io.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    examples = _docs("networks.yaml")
    assert {d["metadata"]["name"] for d in examples} == {"blue", "red"}
    for doc in examples:
        assert validate(doc["spec"], schema, "spec") == []
        networks.from_vppnet(doc)
    assert validate({"vni": 0}, schema, "spec")  # the schema does refuse things
    selected = {nads.network_name(d) for d in _docs("network-attachment-definitions.yaml")}
    assert selected == {"blue", "red"}
    (green,) = _docs("calico-vpp-network.yaml")
    assert networks.from_calico_vpp(green).vni == 99
