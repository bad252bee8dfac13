"""calico-vpp's pod annotations: accepted as calico-vpp documents them, bad values named."""

from __future__ import annotations

import ipaddress
import json

import pytest

from agent.cni import CniRequestError, CniSettings
from agent.cni import annotations as ann
from agent.model import InterfaceType, L4Protocol, PortRange, RxMode, SteeredPorts

SETTINGS = CniSettings()


def parse(**annotations: str) -> ann.PodAnnotations:
    return ann.parse(annotations, SETTINGS)


def test_the_documented_interfaces_spec_example() -> None:
    text = (
        '{"eth0": {"rx": 2, "tx": 2, "rxqsz": 2048, "rxMode": "polling"},'
        ' "eth1": {"rx": 4, "tx": 4, "isl3": true},'
        ' "memif1": {"rx": 2, "tx": 2, "isl3": false}}'
    )
    parsed = ann.parse({ann.INTERFACES_SPEC: text}, SETTINGS)
    assert parsed.spec_for("eth0") == ann.IfSpec(2, 2, 2048, 1024, None, RxMode.POLLING)
    assert parsed.spec_for("eth1") == ann.IfSpec(4, 4, 1024, 1024, True, None)
    assert parsed.spec_for("memif1") == ann.IfSpec(2, 2, 1024, 1024, False, None)
    assert parsed.spec_for("net9") is None


def test_zero_values_mean_the_defaults() -> None:
    spec = ann.parse({ann.INTERFACES_SPEC: '{"eth0": {"rx": 0, "rxqsz": 0}}'}, SETTINGS)
    assert spec.spec_for("eth0") == ann.IfSpec(1, 1, SETTINGS.default_queue_size, 1024)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("{", "invalid JSON"),
        ("[1]", "must be an object"),
        ('{"eth0": 3}', "eth0: must be an object"),
        ('{"eth0": {"rx": -1}}', "eth0.rx: -1 is negative"),
        ('{"eth0": {"rx": 11}}', "eth0.rx: 11 is above the node's maximum of 10"),
        ('{"eth0": {"rx": "2"}}', 'eth0.rx: must be an integer, got "2"'),
        ('{"eth0": {"rx": true}}', "eth0.rx: must be an integer, got true"),
        ('{"eth0": {"rxqsz": 1000}}', "eth0.rxqsz: 1000 is not a power of 2"),
        ('{"eth0": {"txqsz": 8192}}', "eth0.txqsz: 8192 is above the node's maximum of 4096"),
        ('{"eth0": {"isl3": "yes"}}', 'eth0.isl3: must be true or false, got "yes"'),
        ('{"eth0": {"rxMode": "fast"}}', 'eth0.rxMode: "fast" is not one of interrupt'),
        ('{"eth0": {"rxqueues": 2}}', "eth0: unknown key(s) rxqueues"),
        ('{"bad/name": {}}', "interface name: 'bad/name' is not a valid interface name"),
    ],
)
def test_a_bad_interfaces_spec_names_the_annotation_and_the_value(value: str, needle: str) -> None:
    with pytest.raises(CniRequestError) as e:
        ann.parse({ann.INTERFACES_SPEC: value}, SETTINGS)
    assert e.value.field.startswith(ann.INTERFACES_SPEC)
    assert needle in str(e.value)


def test_limits_come_from_the_settings() -> None:
    loose = CniSettings(max_queues=32, max_queue_size=16384)
    spec = ann.parse({ann.INTERFACES_SPEC: '{"eth0": {"rx": 32, "rxqsz": 16384}}'}, loose)
    assert spec.spec_for("eth0") == ann.IfSpec(32, 1, 16384, 1024)


def test_extra_memif_ports_and_spec() -> None:
    parsed = ann.parse(
        {
            ann.EXTRA_MEMIF_PORTS: "tcp:4444-20000, UDP:53",
            ann.EXTRA_MEMIF_SPEC: '{"rx": 2, "tx": 2, "rxqsz": 512}',
        },
        SETTINGS,
    )
    assert parsed.extra_memif_ports == (
        SteeredPorts(L4Protocol.TCP, PortRange(4444, 20000)),
        SteeredPorts(L4Protocol.UDP, PortRange(53, 53)),
    )
    assert parsed.extra_memif_spec == ann.IfSpec(2, 2, 512, 1024)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("tcp", "'tcp' is not proto:port"),
        ("icmp:1", "'icmp:1' is not proto:port"),
        ("tcp:0", "'tcp:0' has an invalid port"),
        ("tcp:70000", "'tcp:70000' has an invalid port"),
        ("tcp:20-10", "'tcp:20-10' has an invalid port or range"),
        ("tcp:1-x", "'tcp:1-x' has an invalid port"),
        ("tcp:80,", "'' is not proto:port"),
    ],
)
def test_bad_extra_memif_ports(value: str, needle: str) -> None:
    with pytest.raises(CniRequestError) as e:
        ann.parse({ann.EXTRA_MEMIF_PORTS: value}, SETTINGS)
    assert e.value.field == ann.EXTRA_MEMIF_PORTS and needle in str(e.value)


def test_allowed_source_prefixes() -> None:
    value = json.dumps(["10.0.0.0/8", "192.168.1.5", "fd00::/64", "10.0.0.0/8"])
    parsed = ann.parse({ann.ALLOWED_SOURCE_PREFIXES: value}, SETTINGS)
    assert parsed.allowed_source_prefixes == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.5/32"),
        ipaddress.ip_network("fd00::/64"),
    )


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ('"10.0.0.0/8"', "must be a list"),
        ("[10]", "entry 0 must be a string, got 10"),
        ('["10.0.0.0/8", "nope"]', "[1]: 'nope' is not an IP prefix"),
    ],
)
def test_bad_allowed_source_prefixes(value: str, needle: str) -> None:
    with pytest.raises(CniRequestError) as e:
        ann.parse({ann.ALLOWED_SOURCE_PREFIXES: value}, SETTINGS)
    assert ann.ALLOWED_SOURCE_PREFIXES in str(e.value) and needle in str(e.value)


def test_interface_type_for_all_or_per_interface() -> None:
    assert parse().type_for("eth0") is None
    everywhere = ann.parse({ann.INTERFACE_TYPE: "veth"}, SETTINGS)
    assert everywhere.type_for("eth0") is InterfaceType.VETH
    per = ann.parse({ann.INTERFACE_TYPE: "tap, eth0=tun,net1=memif"}, SETTINGS)
    assert per.type_for("eth0") is InterfaceType.TUN
    assert per.type_for("net1") is InterfaceType.MEMIF
    assert per.type_for("net2") is InterfaceType.TAP
    with pytest.raises(CniRequestError, match="'vhost' in 'eth0=vhost' is not one of"):
        ann.parse({ann.INTERFACE_TYPE: "eth0=vhost"}, SETTINGS)


def test_vcl_values() -> None:
    assert ann.parse({ann.VCL: "enable"}, SETTINGS).vcl
    assert not ann.parse({ann.VCL: "disable"}, SETTINGS).vcl
    with pytest.raises(CniRequestError, match="vppVcl: 'yes' is not enable or disable"):
        ann.parse({ann.VCL: "yes"}, SETTINGS)
