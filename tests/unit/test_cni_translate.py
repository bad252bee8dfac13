"""AddRequest -> PodInterface: defaults, interface kinds, tuning, MTU, and named errors."""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any

import pytest

from agent.cni import CniRequestError, CniSettings, add_request, request_for
from agent.cni import annotations as ann
from agent.cni.translate import Translated, Translator
from agent.model import (
    ClusterModel,
    ExtraMemif,
    HostPort,
    InterfaceType,
    L4Protocol,
    MemifMode,
    Network,
    PortRange,
    RxMode,
    SteeredPorts,
)
from agent.proto_gen.cnibackend_pb2 import AddRequest, Port
from agent.scenario import defaults

NETNS = "/var/run/netns/pod-a"
NET = ipaddress.ip_network
IF = ipaddress.ip_interface
MODEL = ClusterModel.build(
    "node-a",
    networks=[Network("blue", 4001, (NET("172.19.0.0/16"), NET("fd00:172:19::/48")))],
)


def no_netns_check(field: str, path: str) -> str:
    if not path.startswith("/var/run/netns/"):
        raise CniRequestError(field, f"{path} is not a network namespace")
    return os.path.normpath(path)


def translate(
    req: AddRequest, settings: CniSettings | None = None, vhost_net: bool = True
) -> Translated:
    translator = Translator(settings or CniSettings(), vhost_net, no_netns_check)
    return translator.pod_interface(req, MODEL)


def request(**kwargs: Any) -> AddRequest:
    args: dict[str, Any] = {
        "netns": NETNS,
        "namespace": "demo",
        "pod": "web-1",
        "addresses": ["10.244.1.10/32"],
    }
    args.update(kwargs)
    return add_request(**args)


def refused(req: AddRequest, **kwargs: Any) -> CniRequestError:
    with pytest.raises(CniRequestError) as e:
        translate(req, **kwargs)
    return e.value


def test_defaults_are_calico_and_calico_vpp_ones() -> None:
    out = translate(request(addresses=["10.244.1.10/32", "fd00:10:244::a/128"]))
    pod = out.pod
    assert (pod.key.namespace, pod.key.pod, pod.key.interface) == ("demo", "web-1", "eth0")
    assert pod.interface_type is InterfaceType.TUN
    assert pod.host_interface_name == defaults.host_interface_name("demo", "web-1", "eth0")
    assert pod.addresses == (IF("10.244.1.10/32"), IF("fd00:10:244::a/128"))
    assert pod.routes == (NET("0.0.0.0/0"), NET("::/0"))
    assert pod.mtu == 1500 - 50  # the CNI config left the MTU to us: network MTU - VXLAN
    assert (pod.rx_queues, pod.tx_queues, pod.queue_size) == (1, 1, 1024)
    assert pod.rx_mode is RxMode.DEFAULT and pod.netns == NETNS == pod.container_id
    assert out.warnings == ()


def test_desired_host_name_is_used_for_eth0_only() -> None:
    eth0 = translate(request(desired_host_interface_name="cali0123456789a")).pod
    net1 = translate(request(interface="net1", desired_host_interface_name="cali0123456789a")).pod
    assert eth0.host_interface_name == "cali0123456789a"
    assert net1.host_interface_name == defaults.host_interface_name("demo", "web-1", "net1")
    assert "desired_host_interface_name" in str(
        refused(request(desired_host_interface_name="cali-way-too-long-name"))
    )


def test_mtu_is_the_cni_mtu_minus_the_configured_overhead() -> None:
    assert translate(request(mtu=9000)).pod.mtu == 8950
    assert translate(request(mtu=1450), CniSettings(encap_overhead=0)).pod.mtu == 1450
    assert translate(request(), CniSettings(network_mtu=9000, encap_overhead=70)).pod.mtu == 8930
    e = refused(request(mtu=1320, addresses=["fd00::1/128"]))
    assert e.field == "settings.mtu" and "pod MTU 1270 (1320 minus 50" in str(e)
    assert "is negative" in str(refused(request(mtu=-1)))


def test_routes_as_requested_or_the_networks_range() -> None:
    asked = translate(request(routes=["10.96.0.0/12", "10.244.0.0/16"])).pod
    assert asked.routes == (NET("10.96.0.0/12"), NET("10.244.0.0/16"))
    blue = translate(request(interface="net1", network="blue", addresses=["172.19.1.5/16"])).pod
    assert blue.network == "blue" and blue.routes == (NET("172.19.0.0/16"),)
    e = refused(request(routes=["::/0"]))
    assert e.field == "container_routes[0]" and "no such address" in str(e)
    e = refused(request(network="green"))
    assert e.field == "dataplane_options.network_name" and "'green'" in str(e)


def test_interface_kind_from_name_annotation_isl3_and_config() -> None:
    def kind(settings: CniSettings | None = None, **kwargs: Any) -> InterfaceType:
        return translate(request(**kwargs), settings).pod.interface_type

    spec = {ann.INTERFACES_SPEC: '{"eth0": {"isl3": false}}'}
    assert kind(annotations=spec) is InterfaceType.TAP
    assert kind(annotations={ann.INTERFACE_TYPE: "veth"}) is InterfaceType.VETH
    assert kind(interface="memif1") is InterfaceType.MEMIF
    assert kind(CniSettings(default_interface_type="tap")) is InterfaceType.TAP
    e = refused(request(annotations={**spec, ann.INTERFACE_TYPE: "tun"}))
    assert e.field == ann.INTERFACES_SPEC and "isl3=false contradicts" in str(e)
    e = refused(request(interface="memif1", annotations={ann.INTERFACE_TYPE: "tap"}))
    assert "memif1 is a memif by its name, not a tap" in str(e)
    e = refused(request(interface="memif1"), settings=CniSettings(memif_enabled=False))
    assert "memif is disabled" in str(e)


def test_no_vhost_net_falls_back_to_veth_with_a_warning() -> None:
    out = translate(request(), vhost_net=False)
    assert out.pod.interface_type is InterfaceType.VETH
    assert out.warnings == (
        "eth0: no /dev/vhost-net on this node, so no tun: "
        "using a veth pair attached to VPP with af_packet instead",
    )
    memif = translate(request(interface="memif1"), vhost_net=False)
    assert memif.pod.interface_type is InterfaceType.MEMIF and memif.warnings == ()
    chosen = translate(request(), CniSettings(default_interface_type="veth"), vhost_net=False)
    assert chosen.warnings == ()


def test_tuning_from_the_interfaces_spec() -> None:
    spec = {"eth0": {"rx": 4, "tx": 2, "rxqsz": 2048, "rxMode": "polling"}}
    pod = translate(request(annotations={ann.INTERFACES_SPEC: json.dumps(spec)})).pod
    assert (pod.rx_queues, pod.tx_queues, pod.queue_size) == (4, 2, 2048)
    assert pod.rx_mode is RxMode.POLLING
    other = {"net1": {"rx": 4}}
    assert (
        translate(request(annotations={ann.INTERFACES_SPEC: json.dumps(other)})).pod.rx_queues == 1
    )
    odd = {"eth0": {"rxqsz": 2048, "txqsz": 512}}
    out = translate(request(annotations={ann.INTERFACES_SPEC: json.dumps(odd)}))
    assert out.pod.queue_size == 2048 and "txqsz 512 differs" in out.warnings[0]


def test_extra_memif_beside_the_default_network_interface() -> None:
    annotations = {
        ann.EXTRA_MEMIF_PORTS: "udp:4444-20000",
        ann.EXTRA_MEMIF_SPEC: '{"rx": 2, "tx": 2, "rxqsz": 2048, "isl3": false}',
    }
    pod = translate(request(annotations=annotations)).pod
    assert pod.extra_memifs == (
        ExtraMemif(
            name="extra-eth0",
            rx_queues=2,
            tx_queues=2,
            queue_size=2048,
            mode=MemifMode.ETHERNET,
            steered_ports=(SteeredPorts(L4Protocol.UDP, PortRange(4444, 20000)),),
        ),
    )
    secondary = request(interface="net1", network="blue", annotations=annotations)
    assert translate(secondary).pod.extra_memifs == ()
    lonely = translate(request(annotations={ann.EXTRA_MEMIF_SPEC: "{}"}))
    assert lonely.pod.extra_memifs == () and "has no effect" in lonely.warnings[0]
    e = refused(request(annotations=annotations), settings=CniSettings(memif_enabled=False))
    assert e.field == ann.EXTRA_MEMIF_PORTS


def test_allowed_source_prefixes_and_host_ports_are_kept() -> None:
    pod = translate(
        request(
            annotations={ann.ALLOWED_SOURCE_PREFIXES: '["10.0.0.0/8"]'},
            ports=[
                Port(name="web", protocol="TCP", port=8080, host_port=80, host_ip="192.168.0.1"),
                Port(name="dns", protocol="UDP", port=53),  # no host port: not published
            ],
        )
    ).pod
    assert pod.allowed_source_prefixes == (NET("10.0.0.0/8"),)
    assert pod.host_ports == (
        HostPort(L4Protocol.TCP, 8080, 80, ipaddress.ip_address("192.168.0.1")),
    )
    e = refused(request(ports=[Port(protocol="ICMP", port=1, host_port=1)]))
    assert e.field == "workload.ports[0].protocol"


def test_valid_but_unsupported_settings_become_warnings() -> None:
    req = request(annotations={ann.VCL: "enable"})
    req.settings.allow_ip_forwarding = True
    assert len(translate(req).warnings) == 2


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"interface": ""}, "interface_name", "is empty"),
        ({"interface": "eth0/x"}, "interface_name", "not a valid interface name"),
        ({"interface": "a" * 16}, "interface_name", "longer than 15"),
        ({"netns": "/etc/passwd"}, "netns", "not a network namespace"),
        ({"namespace": ""}, "workload.namespace", "is empty"),
        ({"namespace": "Demo"}, "workload.namespace", "not a valid Kubernetes namespace"),
        ({"pod": "web_1"}, "workload.pod", "not a valid Kubernetes pod name"),
        ({"addresses": []}, "container_ips", "is empty"),
        ({"addresses": ["10.0.0.300/32"]}, "container_ips[0].address", "not an IP address"),
        ({"addresses": ["10.0.0.3"]}, "container_ips[0].address", "no prefix length"),
        ({"addresses": ["10.0.0.3/32", "10.0.0.4/32"]}, "container_ips[1].address", "second"),
        ({"routes": ["default"]}, "container_routes[0]", "not an IP prefix"),
    ],
)
def test_bad_requests_name_the_field(change: dict[str, Any], field: str, needle: str) -> None:
    e = refused(request(**change))
    assert e.field == field and needle in e.message


def test_a_bad_gateway_is_refused_and_nil_is_fine() -> None:
    req = request()
    req.container_ips[0].gateway = "nope"
    assert refused(req).field == "container_ips[0].gateway"
    req.container_ips[0].gateway = ""
    assert translate(req).pod.addresses == (IF("10.244.1.10/32"),)


def test_request_for_round_trips_a_scenario_pod() -> None:
    pod = translate(
        request(
            interface="net1",
            network="blue",
            addresses=["172.19.1.5/16"],
            annotations={
                ann.INTERFACES_SPEC: '{"net1": {"rx": 4, "tx": 4, "rxqsz": 2048, "isl3": false,'
                ' "rxMode": "adaptive"}}',
                ann.ALLOWED_SOURCE_PREFIXES: '["10.1.0.0/16"]',
            },
            ports=[Port(protocol="UDP", port=53, host_port=5353)],
        )
    ).pod
    again = translate(request_for(pod, encap_overhead=CniSettings().encap_overhead)).pod
    assert again == pod
    extra = translate(request(annotations={ann.EXTRA_MEMIF_PORTS: "tcp:80-81,udp:53-53"})).pod
    assert translate(request_for(extra, encap_overhead=50)).pod == extra
