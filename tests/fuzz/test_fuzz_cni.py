"""CNI requests and pod annotations bent out of shape: a clean refusal naming the field.

The CNI server's input comes from the kubelet's CNI plugin, but most of it is
written by users: the pod's annotations, its ports, the NAD's options. Whatever
those hold, the parsers return a value or raise their one error type naming
the field or annotation, and the server replies (never an "internal error",
which is what an exception escaping the backend becomes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import plugins
from agent.cni import CniRequestError, CniSettings, CniStore, add_request, multus
from agent.cni import annotations as ann
from agent.cni.backend import CniBackend
from agent.cni.server import _Servicer
from agent.cni.translate import Translator
from agent.dataplane import Dataplane
from agent.model import ClusterModel, Network, Node, PodBlock
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply, DelRequest, Port
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection
from agent.vppsim import Simulator
from tests.fuzz.mutate import NEAR_MISSES, json_values, mutated

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

NET = ipaddress.ip_network
MODEL = ClusterModel.build(
    "node-a",
    nodes=[
        Node(
            "node-a",
            (ipaddress.ip_interface("192.168.0.1/24"),),
            (PodBlock(NET("10.244.1.0/24")),),
        )
    ],
    networks=[Network("blue", 4001, (NET("172.19.0.0/16"), NET("fd00:172:19::/48")))],
)
ANNOTATION_NAMES = [
    ann.INTERFACES_SPEC,
    ann.EXTRA_MEMIF_PORTS,
    ann.EXTRA_MEMIF_SPEC,
    ann.VCL,
    ann.ALLOWED_SOURCE_PREFIXES,
    ann.INTERFACE_TYPE,
    multus.NETWORKS,
]
GOOD_VALUES: dict[str, Any] = {
    ann.INTERFACES_SPEC: {
        "eth0": {"rx": 2, "tx": 1, "rxqsz": 512, "txqsz": 512, "isl3": True, "rxMode": "polling"}
    },
    ann.EXTRA_MEMIF_SPEC: {"rx": 1, "tx": 1, "rxqsz": 256, "isl3": False},
    ann.ALLOWED_SOURCE_PREFIXES: ["10.0.0.0/8", "fd00::/64"],
}
GOOD_TEXT = {
    ann.EXTRA_MEMIF_PORTS: "tcp:4444-20000,udp:53",
    ann.VCL: "enable",
    ann.INTERFACE_TYPE: "eth0=tap,net1=veth",
    multus.NETWORKS: 'blue-nad@net1, other/red-nad, [{"name": "x", "interface": "net3"}]',
}
PORT_TEXTS = ["tcp:80", "udp:1-65535", "sctp:5", "tcp:0", "tcp:²", "tcp:10-5", "icmp:1", "tcp"]


def annotation_value(name: str) -> st.SearchStrategy[str]:
    """Near the annotation's real format: its valid value bent, or its text cut and spliced."""
    options: list[st.SearchStrategy[str]] = [
        st.sampled_from(NEAR_MISSES),
        st.text(max_size=30),
        json_values.map(json.dumps),
    ]
    if name in GOOD_VALUES:
        options.append(mutated(GOOD_VALUES[name], max_changes=3).map(json.dumps))
    if name in GOOD_TEXT:
        good = GOOD_TEXT[name]
        options.append(
            st.tuples(st.integers(0, len(good)), st.sampled_from(NEAR_MISSES + PORT_TEXTS)).map(
                lambda cut: good[: cut[0]] + cut[1] + good[cut[0] :]
            )
        )
    if name == ann.EXTRA_MEMIF_PORTS:
        options.append(st.lists(st.sampled_from(PORT_TEXTS), min_size=1, max_size=3).map(",".join))
    return st.one_of(*options)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Four times in five the good value: a request gets past one field to the next."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


def good_annotation(name: str) -> str:
    return json.dumps(GOOD_VALUES[name]) if name in GOOD_VALUES else GOOD_TEXT[name]


@st.composite
def pod_annotations(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(ANNOTATION_NAMES), max_size=4, unique=True))
    return {
        name: draw(mostly(st.just(good_annotation(name)), annotation_value(name))) for name in names
    }


def field_named(error: CniRequestError, names: list[str]) -> None:
    assert error.message
    assert any(error.field.startswith(name) for name in names), error.field


@FUZZ
@given(pod_annotations())
def test_calico_vpp_pod_annotations(annotations: dict[str, str]) -> None:
    try:
        parsed = ann.parse(annotations, CniSettings())
    except CniRequestError as error:
        field_named(error, ANNOTATION_NAMES)
        return
    for spec in parsed.interface_specs.values():
        assert 1 <= spec.rx_queues <= CniSettings().max_queues


@FUZZ
@given(
    st.sampled_from([ann.INTERFACES_SPEC, ann.EXTRA_MEMIF_SPEC, ann.ALLOWED_SOURCE_PREFIXES]),
    st.data(),
)
def test_json_annotations_bent_in_place(name: str, data: st.DataObject) -> None:
    """The JSON annotations with their values swapped for other types, one key at a time."""
    value = data.draw(mutated(GOOD_VALUES[name], max_changes=2))
    try:
        ann.parse({name: json.dumps(value)}, CniSettings())
    except CniRequestError as error:
        field_named(error, [name])


@FUZZ
@given(annotation_value(multus.NETWORKS), st.sampled_from(["default", "kube-system", ""]))
def test_multus_networks_annotation(text: str, namespace: str) -> None:
    try:
        found = multus.attachments({multus.NETWORKS: text}, namespace)
    except multus.MultusAnnotationError as error:
        assert multus.NETWORKS in str(error)
        return
    for attachment in found:
        assert attachment.interface and attachment.nad.name


# -- whole requests -------------------------------------------------------------------
IFNAMES = ["eth0", "net1", "memif1", "", ".", "..", "a" * 16, "eth0\x00", "eth 0", "é", "/"]
ADDRESSES = [
    "10.244.1.10/32",
    "fd00::a/128",
    "172.19.0.5/16",
    "10.244.1.10",
    "10.244.1.300/32",
    "::/0",
    "",
    "10.0.0.1/33",
    "x/1",
]
ROUTES = ["0.0.0.0/0", "::/0", "172.19.0.0/16", "10.0.0.1", "10.0.0.0/99", "", "nope"]
NETWORK_NAMES = ["", "blue", "red", "BLUE", "\x00"]


@st.composite
def add_requests(draw: st.DrawFn, netns: st.SearchStrategy[str]) -> AddRequest:
    text = st.one_of(st.sampled_from(NEAR_MISSES), st.text(max_size=12))
    good_addresses = st.sampled_from([["10.244.1.10/32"], ["172.19.0.5/16", "fd00:172:19::5/64"]])
    req = add_request(
        netns=draw(netns),
        namespace=draw(mostly(st.just("default"), text)),
        pod=draw(mostly(st.just("web-1"), text)),
        addresses=draw(
            mostly(
                good_addresses, st.lists(st.one_of(st.sampled_from(ADDRESSES), text), max_size=3)
            )
        ),
        interface=draw(
            mostly(
                st.sampled_from(["eth0", "net1", "memif1"]),
                st.one_of(st.sampled_from(IFNAMES), text),
            )
        ),
        routes=draw(
            mostly(st.just([]), st.lists(st.one_of(st.sampled_from(ROUTES), text), max_size=3))
        ),
        mtu=draw(
            mostly(
                st.sampled_from([0, 1500, 9000]),
                st.one_of(st.sampled_from([1280, 68, -1]), st.integers(-(2**31), 2**31 - 1)),
            )
        ),
        annotations=draw(pod_annotations()),
        network=draw(mostly(st.sampled_from(["", "blue"]), st.sampled_from(NETWORK_NAMES))),
        desired_host_interface_name=draw(mostly(st.sampled_from(["", "cali0123456789a"]), text)),
        ports=[
            Port(
                name=draw(text),
                protocol=draw(st.sampled_from(["TCP", "udp", "", "ICMP", "sctp"])),
                port=draw(st.integers(0, 2**32 - 1)),
                host_port=draw(st.sampled_from([0, 8080, 65535, 65536, 2**32 - 1])),
                host_ip=draw(st.sampled_from(["", "<nil>", "10.0.0.1", "fd00::1", "x"])),
            )
            for _ in range(draw(st.integers(0, 2)))
        ],
    )
    for ip in req.container_ips:
        ip.gateway = draw(
            mostly(st.just("<nil>"), st.sampled_from(["", "10.244.1.1", "fd00::1", "nope"]))
        )
    for key in draw(st.lists(st.sampled_from(["type", "socket", "x"]), max_size=2)):
        req.dataplane_options[key] = draw(text)
    req.settings.allow_ip_forwarding = draw(st.booleans())
    return req


def any_netns_path(field: str, path: str) -> str:
    """Stands in for the kernel's check so translation goes past the netns field."""
    if not path.startswith("/"):
        raise CniRequestError(field, f"{path!r} is not an absolute path")
    return os.path.normpath(path)


@FUZZ
@given(
    add_requests(
        mostly(st.just("/var/run/netns/pod-a"), st.sampled_from(["relative", "/x/../y", ""]))
    ),
    st.booleans(),
)
def test_add_requests_translate_or_name_the_field(req: AddRequest, vhost_net: bool) -> None:
    translator = Translator(CniSettings(), vhost_net, any_netns_path)
    try:
        translated = translator.pod_interface(req, MODEL)
    except CniRequestError as error:
        event(f"refused: {error.field.split('[')[0].split(':')[0]}")
        assert error.field and error.message
        assert str(error).startswith(error.field)
        return
    pod = translated.pod
    assert pod.addresses and pod.key.interface == req.interface_name
    assert len(pod.host_interface_name) <= 15


# -- the server itself, on a simulated VPP --------------------------------------------
@dataclass
class Served:
    servicer: _Servicer
    loop: asyncio.AbstractEventLoop
    netns_paths: list[str]

    def add(self, req: AddRequest) -> AddReply:
        return self.loop.run_until_complete(self.servicer.Add(req, None))

    def delete(self, req: DelRequest) -> DelReply:
        return self.loop.run_until_complete(self.servicer.Del(req, None))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The backend behind the gRPC servicer, on a simulator; a real pod netns as root."""
    tmp: Path = tmp_path_factory.mktemp("cni-fuzz")
    paths = ["", "relative", "/nonexistent/ns", "/proc/self/ns/net", "/proc/self/ns/uts"]
    paths += ["/dev/null", "/etc/hostname", str(tmp)]
    made: str | None = None
    root = os.geteuid() == 0 and os.path.exists("/dev/net/tun")
    if root:
        from pyroute2 import netns

        made = f"vppnet-fuzz-{secrets.token_hex(4)}"
        netns.create(made)
        paths.append(f"/var/run/netns/{made}")
    loop = asyncio.new_event_loop()
    with Simulator(tmp / "api.sock", devices="real" if root else "record"):
        conn = VppConnection(tmp / "api.sock", timeout=5.0)
        conn.connect(check=REQUIRED_MESSAGES)
        state = ClusterState(MODEL)
        dataplane = Dataplane(state, Reconciler(conn, tmp / "index.json"), plugins.render)
        dataplane.resync()
        config = CniSettings(socket=str(tmp / "cni.sock"), state_file=str(tmp / "cni.json"))
        backend = CniBackend(state, dataplane, config, CniStore(tmp / "cni.json"), vhost_net=True)
        try:
            yield Served(_Servicer(backend, []), loop, paths)
        finally:
            conn.close()
            loop.close()
            if made is not None:
                from pyroute2 import netns

                netns.remove(made)


@FUZZ
@given(st.data())
def test_the_server_replies_to_every_request(served: Served, data: st.DataObject) -> None:
    """Refused with the field named, or done and undone cleanly: never an internal error."""
    backend = served.servicer.backend
    req = data.draw(
        add_requests(mostly(st.just(served.netns_paths[-1]), st.sampled_from(served.netns_paths)))
    )
    try:
        reply = served.add(req)
        event("added" if reply.successful else f"refused: {reply.error_message.split(':')[0]}")
        assert not reply.error_message.startswith("internal error"), reply.error_message
        if not reply.successful:
            assert reply.error_message
            assert not backend.store.records and not backend.state.model.pod_interfaces
        undo = DelRequest(
            interface_name=data.draw(st.sampled_from([req.interface_name, "", "eth0"])),
            netns=data.draw(st.sampled_from([req.netns, "", "/nonexistent/ns"])),
        )
        removed = served.delete(undo)
        assert not removed.error_message.startswith("internal error"), removed.error_message
        if reply.successful:  # what was added goes away with its DEL
            done = served.delete(DelRequest(interface_name=req.interface_name, netns=req.netns))
            assert done.successful, done.error_message
            assert not backend.store.records and not backend.state.model.pod_interfaces
    finally:  # a failing example must not leave its pod to the next one
        for pod in list(backend.state.model.pod_interfaces.values()):
            served.delete(DelRequest(interface_name=pod.key.interface, netns=pod.netns))
