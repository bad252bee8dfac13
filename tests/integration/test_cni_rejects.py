"""Bad requests and failures: a clear error naming what is wrong, and no trace left
(no VPP objects, no devices, nothing in the model or the state file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.cni import add_request
from agent.cni import annotations as ann
from agent.cni.naming import host_interface_name
from agent.cni.nsnetlink import netlink_in
from agent.proto_gen.cnibackend_pb2 import AddRequest
from agent.vpp import af_packet, memif, tap
from tests.integration.cni_fixtures import (
    LOOPBACK0,
    CniEnv,
    NetnsFactory,
    cni,
    cni_no_vhost,
    links,
    pod_netns,
    root_link,
)

__all__ = ["cni", "cni_no_vhost", "pod_netns"]

pytestmark = pytest.mark.root


def good(ns: str, **kwargs: Any) -> AddRequest:
    args: dict[str, Any] = {
        "netns": ns,
        "namespace": "demo",
        "pod": "web-1",
        "addresses": ["10.244.1.10/32"],
    }
    args.update(kwargs)
    return add_request(**args)


def assert_no_trace(env: CniEnv, ns: str | None = None) -> None:
    assert env.owned_tags() == set()
    assert env.conn.dump(tap.dump()) == [] and env.conn.dump(af_packet.dump()) == []
    assert env.conn.dump(memif.dump()) == []
    assert env.state.model.pod_interfaces == {}
    assert env.server.backend.store.records == {}
    state_file = Path(env.settings.state_file)
    assert not state_file.exists() or json.loads(state_file.read_text())["pods"] == []
    if ns is not None:
        assert set(links(ns)) == {"lo"}


def regular_file(tmp: Path) -> str:
    path = tmp / "not-a-netns"
    path.write_text("")
    return str(path)


BAD: list[tuple[str, Callable[[str, Path], AddRequest], str]] = [
    (
        "missing netns",
        lambda ns, tmp: good("/var/run/netns/vppnet-cni-missing"),
        "netns: /var/run/netns/vppnet-cni-missing does not exist",
    ),
    (
        "regular file as netns",
        lambda ns, tmp: good(regular_file(tmp)),
        "is not a network namespace",
    ),
    (
        "host netns",
        lambda ns, tmp: good("/proc/self/ns/net"),
        "agent's own (host) network namespace",
    ),
    (
        "bad IP",
        lambda ns, tmp: good(ns, addresses=["10.244.1.300/32"]),
        "container_ips[0].address: '10.244.1.300/32' is not an IP address",
    ),
    (
        "bad annotation",
        lambda ns, tmp: good(ns, annotations={ann.INTERFACES_SPEC: '{"eth0": {"rx": "many"}}'}),
        'cni.projectcalico.org/vppInterfacesSpec: eth0.rx: must be an integer, got "many"',
    ),
    (
        "bad interface name",
        lambda ns, tmp: good(ns, interface="eth0;reboot"),
        "interface_name: 'eth0;reboot' is not a valid interface name",
    ),
    (
        "unknown network",
        lambda ns, tmp: good(ns, interface="net1", network="green"),
        "pod in an unknown network 'green'",
    ),
]


@pytest.mark.parametrize(("what", "make", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_refused_without_a_trace(
    cni: CniEnv,
    pod_netns: NetnsFactory,
    tmp_path: Path,
    what: str,
    make: Callable[[str, Path], AddRequest],
    message: str,
) -> None:
    ns = pod_netns()
    reply = cni.client.add(make(ns, tmp_path))
    assert not reply.successful and message in reply.error_message
    assert (reply.host_interface_name, reply.container_mac) == ("", "")
    assert_no_trace(cni, ns)
    assert cni.client.add(good(ns)).successful  # the server is fine afterwards


def test_duplicate_with_different_content_leaves_the_first_alone(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    first = cni.client.add(good(ns))
    before = (cni.state.model, cni.sim.mutations, Path(cni.settings.state_file).read_text())
    reply = cni.client.add(good(ns, addresses=["10.244.1.99/32"]))
    assert not reply.successful
    assert "demo/web-1/eth0 already exists with different settings" in reply.error_message
    assert "addresses" in reply.error_message and "10.244.1.99/32" in reply.error_message
    assert (cni.state.model, cni.sim.mutations, Path(cni.settings.state_file).read_text()) == before
    assert cni.client.add(good(ns)) == first


def test_an_address_used_by_another_pod_is_refused(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    assert cni.client.add(good(pod_netns())).successful
    ns = pod_netns()
    reply = cni.client.add(good(ns, pod="web-2"))
    assert not reply.successful
    assert "container_ips: 10.244.1.10 already used by demo/web-1/eth0" in reply.error_message
    assert set(links(ns)) == {"lo"} and cni.owned_tags() == {
        "vppnet:pod/demo/web-1/eth0",
        LOOPBACK0,
    }


def test_a_vpp_failure_is_undone(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    cni.sim.inject_error("tap_create_v3", -11)
    reply = cni.client.add(good(ns))
    assert not reply.successful
    assert "tap_create_v3 failed: retval -11" in reply.error_message
    assert_no_trace(cni, ns)
    assert cni.client.add(good(ns)).successful  # the runtime's retry works


def test_a_netns_that_already_has_the_interface_is_refused_and_kept(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    with netlink_in(ns) as ipr:
        ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": "eth0-peer"})
    reply = cni.client.add(good(ns))
    assert not reply.successful and "tap_create_v3" in reply.error_message
    assert cni.owned_tags() == set() and cni.state.model.pod_interfaces == {}
    assert links(ns)["eth0"].kind == "veth"  # not ours: untouched


def test_a_failed_veth_add_removes_the_pair(cni_no_vhost: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    cni_no_vhost.sim.inject_error("af_packet_create_v3", -1)
    reply = cni_no_vhost.client.add(good(ns))
    assert not reply.successful and "af_packet_create_v3" in reply.error_message
    assert_no_trace(cni_no_vhost, ns)
    assert root_link(host_interface_name("demo", "web-1", "eth0")) is None


def test_a_del_that_fails_in_vpp_says_so_and_its_retry_finishes(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    assert cni.client.add(good(ns)).successful
    cni.sim.inject_error("tap_delete_v2", -2)
    reply = cni.client.delete(ns)
    assert not reply.successful
    assert "demo/web-1/eth0: interface pod/demo/web-1/eth0: tap_delete_v2 failed" in (
        reply.error_message
    )
    assert cni.state.model.pod_interfaces == {} and len(cni.conn.dump(tap.dump())) == 1
    assert cni.client.delete(ns).successful  # the runtime retries: the delete is retried too
    assert_no_trace(cni, ns)
