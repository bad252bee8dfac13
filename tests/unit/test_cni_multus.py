"""Multus attachments from the pod annotation, network selection, and the pod MAC."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agent.cni import CniRequestError, CniSettings, add_request
from agent.cni.multus import (
    NETWORKS,
    Attachment,
    MultusAnnotationError,
    attachment_for,
    attachments,
)
from agent.cni.networksel import select_network
from agent.cni.translate import Translator
from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    InterfaceType,
    NadRef,
    Network,
    PodInterfaceKey,
    ethernet_mac,
)

NET = ipaddress.ip_network
BLUE = Network("blue", 56, (NET("172.19.0.0/16"),), created=datetime(2026, 1, 1, tzinfo=UTC))
RED = Network("red", 88, (NET("172.21.0.0/16"),), created=datetime(2026, 1, 2, tzinfo=UTC))
COPY = Network("copy", 56, (NET("172.30.0.0/16"),), created=datetime(2026, 1, 3, tzinfo=UTC))
GONE = replace(RED, name="gone", vni=99, ranges=(NET("172.22.0.0/16"),), terminating=True)
MODEL = ClusterModel.build("node-a", networks=[BLUE, RED, COPY, GONE])


def attach(value: str, namespace: str = "demo") -> list[tuple[str, str]]:
    return [(str(a.nad), a.interface) for a in attachments({NETWORKS: value}, namespace)]


def test_text_form_names_interfaces_like_multus() -> None:
    assert attach("blue-conf, other/red-conf@memif1 ,third") == [
        ("demo/blue-conf", "net1"),
        ("other/red-conf", "memif1"),
        ("demo/third", "net3"),  # net<N>: the position among all attachments
    ]
    assert attach("") == [] and attachments({}, "demo") == ()


def test_json_form_with_namespaces_and_the_deprecated_interface_key() -> None:
    value = json.dumps(
        [
            {"name": "blue-conf", "interface": "eth1", "ips": ["172.19.1.5/16"]},
            {"name": "red-conf", "namespace": "nets"},
            {"name": "old", "interfaceRequest": "net9"},
        ]
    )
    assert attach(value) == [
        ("demo/blue-conf", "eth1"),
        ("nets/red-conf", "net2"),
        ("demo/old", "net9"),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a/b/c", "more than one '/'"),
        ("a@x@y", "more than one '/' or '@'"),
        ("ns/", "names no NetworkAttachmentDefinition"),
        ("Blue", "name 'Blue' is not a DNS-1123 label"),
        ("blue@has space", "'has space' is not an interface name"),
        ("blue@way-too-long-name0", "is not an interface name"),
        ('{"name": "x"}', "must be a JSON list"),
        ('[{"namespace": "x"}]', "[0].name: missing"),
        ('[{"name": "x", "interface": 5}]', "[0].interface: not a string"),
        ("[nope", "not JSON"),
    ],
)
def test_malformed_values_name_the_entry(value: str, message: str) -> None:
    with pytest.raises(MultusAnnotationError, match=message.replace("[", r"\[")):
        attachments({NETWORKS: value}, "demo")


def test_attachment_for_an_interface() -> None:
    ann = {NETWORKS: "blue-conf@net1, red-conf"}
    assert attachment_for(ann, "demo", "net2") == Attachment(NadRef("demo", "red-conf"), "net2")
    assert attachment_for(ann, "demo", "eth0") is None


def select(network: str | None, interface: str = "net1", annotation: str = "blue-conf") -> str:
    options = {"type": "grpc"} | ({"network_name": network} if network else {})
    return select_network(options, {NETWORKS: annotation}, "demo", interface, MODEL)


def refusal(network: str, **kw: str) -> str:
    with pytest.raises(CniRequestError) as e:
        select(network, **kw)
    assert e.value.field == "dataplane_options.network_name"
    return str(e.value)


def test_the_network_comes_from_the_dataplane_options() -> None:
    assert select("blue") == "blue"
    assert select(None, interface="eth0") == DEFAULT_NETWORK


def test_unknown_invalid_and_terminating_networks_are_refused_naming_the_nad() -> None:
    assert refusal("green") == (
        "dataplane_options.network_name: "
        "NAD demo/blue-conf (net1): pod in an unknown network 'green'"
    )
    assert refusal("copy") == (
        "dataplane_options.network_name: NAD demo/blue-conf (net1): network 'copy' is invalid "
        "(DuplicateVNI: vni 56 is already used by network 'blue'); it programs nothing"
    )
    assert "network 'gone' is being deleted: it takes no new pod interfaces" in refusal("gone")
    # without an attachment for the interface (or with a garbled annotation) the network alone
    assert refusal("green", interface="net7") == (
        "dataplane_options.network_name: pod in an unknown network 'green'"
    )
    assert refusal("green", annotation="a/b/c").endswith("pod in an unknown network 'green'")


def translator(vhost_net: bool = True) -> Translator:
    return Translator(CniSettings(), vhost_net, lambda _field, path: os.path.normpath(path))


def test_ethernet_pod_interfaces_get_a_stable_mac_of_their_own() -> None:
    def pod(
        vhost_net: bool = True, annotations: dict[str, str] | None = None
    ) -> tuple[InterfaceType, str | None]:
        req = add_request(
            netns="/var/run/netns/p",
            namespace="demo",
            pod="p",
            addresses=["10.244.1.5/32"],
            annotations=annotations,
        )
        out = translator(vhost_net).pod_interface(req, MODEL).pod
        return out.interface_type, out.mac

    tap = {"vppnet.io/interfaceType": "tap"}
    mac = ethernet_mac(PodInterfaceKey("demo", "p", "eth0"))
    assert pod(annotations=tap) == (InterfaceType.TAP, mac)
    assert pod(vhost_net=False) == (InterfaceType.VETH, mac)
    assert pod() == (InterfaceType.TUN, None)
    first = int(mac[:2], 16)
    assert first & 1 == 0 and first & 2 == 2  # unicast, locally administered
    assert ethernet_mac(PodInterfaceKey("demo", "p", "net1")) != mac
    assert ethernet_mac(PodInterfaceKey("demo", "q", "eth0")) != mac
