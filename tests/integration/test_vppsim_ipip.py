"""ipip.api in the simulator through the real vpp-papi client, and IPIP in the reconciler."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.reconcile import Op, Reconciler
from agent.vpp import VppConnection, interfaces, ipip
from agent.vppobjects import InterfaceSettings, Ipip, Route, RoutePath, VppObject
from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import NO_INDEX, sim, vpp

__all__ = ["sim", "vpp"]

IP = ipaddress.ip_address


def _tunnel(src: str, dst: str, **kw: Any) -> dict[str, Any]:
    return {"src": IP(src), "dst": IP(dst), "table_id": 0, "flags": 0, "mode": 0, **kw}


def test_add_dump_delete(vpp: Any, sim: Simulator) -> None:
    r = vpp.api.ipip_add_tunnel(tunnel=_tunnel("192.168.0.1", "192.168.0.2"))
    assert r.retval == 0
    details = vpp.api.ipip_tunnel_dump(sw_if_index=NO_INDEX)
    assert len(details) == 1
    t = details[0].tunnel
    assert (t.sw_if_index, t.instance, str(t.src), str(t.dst)) == (
        r.sw_if_index,
        0,
        "192.168.0.1",
        "192.168.0.2",
    )
    iface = sim.state.interfaces.get(r.sw_if_index)
    assert iface is not None and iface.name == "ipip0" and not iface.admin_up
    assert vpp.api.ipip_tunnel_dump(sw_if_index=r.sw_if_index + 1) == []
    assert vpp.api.ipip_del_tunnel(sw_if_index=r.sw_if_index).retval == 0
    assert vpp.api.ipip_tunnel_dump(sw_if_index=NO_INDEX) == []
    assert sim.state.interfaces.get(r.sw_if_index) is None


def test_refusals_are_vpps(vpp: Any) -> None:
    add = vpp.api.ipip_add_tunnel
    assert add(tunnel=_tunnel("192.168.0.1", "fd00::2")).retval == -153  # INVALID_PROTOCOL
    assert add(tunnel=_tunnel("192.168.0.1", "192.168.0.1")).retval == -82  # SAME_SRC_DST
    assert add(tunnel=_tunnel("192.168.0.1", "192.168.0.2", table_id=9)).retval == -3  # NO_SUCH_FIB
    first = add(tunnel=_tunnel("192.168.0.1", "192.168.0.2"))
    assert first.retval == 0
    assert add(tunnel=_tunnel("192.168.0.1", "192.168.0.2")).retval == -79  # IF_ALREADY_EXISTS
    assert add(tunnel=_tunnel("192.168.0.1", "192.168.0.3", instance=0)).retval == -147
    assert vpp.api.ipip_del_tunnel(sw_if_index=first.sw_if_index + 5).retval == -6
    ipv6 = add(tunnel=_tunnel("fd00::1", "fd00::2"))
    assert ipv6.retval == 0, "the same endpoints in another family are another tunnel"


def test_instances_are_reused(vpp: Any) -> None:
    a = vpp.api.ipip_add_tunnel(tunnel=_tunnel("10.0.0.1", "10.0.0.2"))
    vpp.api.ipip_del_tunnel(sw_if_index=a.sw_if_index)
    b = vpp.api.ipip_add_tunnel(tunnel=_tunnel("10.0.0.1", "10.0.0.3"))
    assert vpp.api.ipip_tunnel_dump(sw_if_index=b.sw_if_index)[0].tunnel.instance == 0


def _desired(*objs: VppObject) -> dict[str, VppObject]:
    return {o.key: o for o in objs}


def test_reconciler_programs_adopts_and_removes_ipip(sim: Simulator, tmp_path: Path) -> None:
    tunnel = Ipip(
        "tunnel/ipip/b",
        IP("192.168.0.1"),
        IP("192.168.0.2"),
        settings=InterfaceSettings(mtu=1480),
    )
    route = Route(0, ipaddress.ip_network("10.244.2.0/24"), (RoutePath(interface=tunnel.name),))
    desired = _desired(tunnel, route)
    with VppConnection(sim.socket_path, timeout=3) as conn:
        conn.connect()
        rec = Reconciler(conn, tmp_path / "index.json")
        plan, report = rec.converge(desired)
        assert report.ok, report.render()
        assert [c.op for c in plan.changes] == [Op.CREATE, Op.CREATE]
        [details] = conn.dump(ipip.dump())
        assert (details.tunnel.src, details.tunnel.dst) == (tunnel.src, tunnel.dst)
        iface = next(
            i for i in conn.dump(interfaces.dump()) if i.sw_if_index == details.sw_if_index
        )
        assert iface.admin_up and iface.mtu[0] == 1480 and iface.tag == "vppnet:tunnel/ipip/b"
        assert rec.plan(desired, refresh=True).empty, "observed IPIP equals desired"

        # A new agent without the index recognises the tunnel by its tag: no VPP call.
        fresh = Reconciler(conn, tmp_path / "other-index.json")
        before = sim.mutations
        _plan, again = fresh.converge(desired)
        assert again.ok and sim.mutations == before

        moved = replace(tunnel, dst=IP("192.168.0.9"))
        plan, report = rec.converge(_desired(moved, route), None)
        assert report.ok, report.render()
        assert [(c.op, c.key) for c in plan.changes if c.op is not Op.ADOPT][:2] == [
            (Op.DELETE, route.key),
            (Op.DELETE, tunnel.key),
        ]
        assert [d.tunnel.dst for d in conn.dump(ipip.dump())] == [IP("192.168.0.9")]

        _plan, report = rec.converge({})
        assert report.ok and conn.dump(ipip.dump()) == []
