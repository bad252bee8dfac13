"""Network validation: every refusal has a reason, and seniority settles conflicts."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agent.model import ClusterModel, IpPool, Network
from plugins import networks

NET = ipaddress.ip_network
OLD = datetime(2024, 1, 1, tzinfo=UTC)
NEW = datetime(2025, 1, 1, tzinfo=UTC)

BLUE = Network("blue", 56, (NET("172.19.0.0/16"),), created=OLD)
DEFAULT_POOL = IpPool("default-ipv4", NET("10.244.0.0/16"), 26)


def reasons(*nets: Network, pools: tuple[IpPool, ...] = (DEFAULT_POOL,)) -> dict[str, str]:
    model = ClusterModel.build("a", networks=nets, pools=pools)
    return {name: p.reason for name, p in networks.problems(model).items()}


@pytest.mark.parametrize(
    ("network", "reason"),
    [
        (replace(BLUE, vni=0), "VNIOutOfRange"),
        (replace(BLUE, vni=networks.MAX_VNI + 1), "VNIOutOfRange"),
        (replace(BLUE, vni=4096), "VNIReserved"),
        (replace(BLUE, table_id=0), "TableOutOfRange"),
        (replace(BLUE, ranges=()), "NoRange"),
        (replace(BLUE, ranges=(NET("172.19.0.0/16"), NET("172.20.0.0/16"))), "DuplicateFamily"),
        (replace(BLUE, physical_network="sriov"), "UnsupportedPhysicalNetwork"),
        (replace(BLUE, ranges=(NET("10.244.128.0/17"),)), "RangeOverlap"),
    ],
)
def test_own_problems(network: Network, reason: str) -> None:
    assert reasons(network) == {"blue": reason}


def test_valid_networks_have_no_problems() -> None:
    dual = Network("red", 88, (NET("172.21.0.0/16"), NET("fd21::/64")), created=NEW)
    assert reasons(BLUE, dual, replace(BLUE, name="max", vni=networks.MAX_VNI, ranges=())) == {
        "max": "NoRange"
    }
    assert reasons(BLUE, dual) == {}


def test_a_pool_of_the_network_itself_is_no_overlap() -> None:
    pool = IpPool("blue-pool", NET("172.19.0.0/20"), 26, network="blue")
    assert reasons(BLUE, pools=(DEFAULT_POOL, pool)) == {}
    other = replace(pool, network="red")
    problem = networks.problems(ClusterModel.build("a", networks=[BLUE], pools=[other]))["blue"]
    assert "IP pool 'blue-pool'" in problem.message and "network 'red'" in problem.message


@pytest.mark.parametrize(
    ("newcomer", "reason"),
    [
        (Network("red", 56, (NET("172.21.0.0/16"),), created=NEW), "DuplicateVNI"),
        (Network("red", 88, (NET("172.21.0.0/16"),), table_id=56, created=NEW), "DuplicateTable"),
        (Network("red", 88, (NET("172.19.128.0/17"),), created=NEW), "RangeOverlap"),
    ],
)
def test_the_newcomer_is_refused_whatever_its_name(newcomer: Network, reason: str) -> None:
    assert reasons(BLUE, newcomer) == {"red": reason}
    renamed = replace(newcomer, name="aaa")  # sorts before blue, still younger
    assert reasons(BLUE, renamed) == {"aaa": reason}


def test_a_refused_network_does_not_block_others() -> None:
    broken = Network("broken", 0, (NET("172.21.0.0/16"),), created=OLD)
    later = Network("later", 88, (NET("172.21.0.0/16"),), created=NEW)
    assert reasons(BLUE, broken, later) == {"broken": "VNIOutOfRange"}


def test_without_creation_times_the_name_decides() -> None:
    a = Network("a", 56, (NET("172.19.0.0/16"),))
    b = Network("b", 56, (NET("172.20.0.0/16"),))
    assert reasons(b, a) == {"b": "DuplicateVNI"}
    assert reasons(replace(b, created=NEW), a) == {"a": "DuplicateVNI"}  # known age wins


def test_usable_drops_invalid_networks_and_their_pods_only() -> None:
    bad = replace(BLUE, name="bad", vni=0)
    model = ClusterModel.build("a", networks=[BLUE, bad])
    view = networks.usable(model)
    assert set(view.networks) == {"blue"}
    ok = ClusterModel.build("a", networks=[BLUE])
    assert networks.usable(ok) is ok
