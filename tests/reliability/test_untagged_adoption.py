"""Interfaces created but never tagged (the agent died between the two calls).

VPP takes no tag in the create call of a VXLAN or IPIP tunnel, an af_packet or a
memif interface; vppnet tags them with a second call. An agent killed between the
two leaves an untagged interface, and VPP refuses a second one with the same
identity (``TUNNEL_EXIST``, ``IF_ALREADY_EXISTS``): the restarted agent must take
the first one back instead of failing to create its own for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.scenario import load_scenario
from agent.vpp import VppConnection, interfaces, memif, vxlan
from agent.vppsim import Simulator

ROOT = Path(__file__).resolve().parents[2]
NO_SUCH_ENTRY = -6  # any failure of the tag call will do: the interface is made, not tagged


@pytest.fixture
def vpp(tmp_path: Path) -> Iterator[tuple[Simulator, VppConnection]]:
    sim = Simulator(tmp_path / "api.sock", devices="record")
    sim.start()
    conn = VppConnection(tmp_path / "api.sock", timeout=3.0)
    conn.connect(check=REQUIRED_MESSAGES)
    try:
        yield sim, conn
    finally:
        conn.close()
        sim.stop()


def test_untagged_tunnels_and_memifs_are_taken_back(
    vpp: tuple[Simulator, VppConnection], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim, conn = vpp
    desired = plugins.render(load_scenario(ROOT / "examples" / "cluster.yaml"))
    index = tmp_path / "index.json"

    # The first agent creates everything but no tag call succeeds, as if it died
    # after each create.
    sim.inject_error("sw_interface_tag_add_del", NO_SUCH_ENTRY, count=10_000)
    _, report = Reconciler(conn, index).converge(desired)
    assert not report.ok
    sim.inject_error("sw_interface_tag_add_del", NO_SUCH_ENTRY, count=0)
    made = {i.sw_if_index: i for i in conn.dump(interfaces.dump()) if not i.tag}
    tunnels = {t.sw_if_index for t in conn.dump(vxlan.dump())}
    memifs = {m.sw_if_index for m in conn.dump(memif.dump())}
    assert len(tunnels) == 4 and len(memifs) == 2 and (tunnels | memifs) <= set(made)

    # The restarted agent converges: no second tunnel, the same interfaces, tagged now.
    _plan, report = Reconciler(conn, index).converge(desired)
    assert report.ok, report.render()
    after = {i.sw_if_index: i.tag for i in conn.dump(interfaces.dump())}
    assert {t.sw_if_index for t in conn.dump(vxlan.dump())} == tunnels
    assert {m.sw_if_index for m in conn.dump(memif.dump())} == memifs
    for idx in tunnels | memifs:
        assert after[idx].startswith("vppnet:"), made[idx].name
    assert "not yet tagged); taking it back" in caplog.text
    # and it is all vppnet's from now on: a third agent has nothing to do
    assert Reconciler(conn, index).plan(desired, refresh=True).empty
