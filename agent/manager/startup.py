"""VPP's startup.conf, rendered from the manager settings.

Rendering is pure (settings and the captured uplink in, text out) so that
every driver's stanza can be checked without VPP. The file says where the
API and CLI sockets are, how many cores and buffers VPP gets and on which
pages, which plugins load (the dpdk plugin only for the drivers that need
it), and — for the DPDK-driven NICs — the device section that makes VPP
create the uplink at start-up under a name the manager knows.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from agent.manager.capture import UplinkState
from agent.manager.config import ManagerSettings
from agent.manager.drivers import DRIVERS, pci_of, vpp_uplink_name


def _section(name: str, lines: list[str]) -> list[str]:
    return [f"{name} {{", *(f"  {line}" for line in lines), "}", ""]


def _cpu(settings: ManagerSettings) -> list[str]:
    cpu = settings.cpu
    lines = []
    if cpu.main_core is not None:
        lines.append(f"main-core {cpu.main_core}")
    if cpu.corelist_workers:
        lines.append(f"corelist-workers {cpu.corelist_workers}")
    elif cpu.workers:
        lines.append(f"workers {cpu.workers}")
    return lines


def _memory(settings: ManagerSettings) -> tuple[list[str], list[str]]:
    mem = settings.memory
    page = "default-hugepage" if mem.page_size == "hugepage" else "4k"
    memory = [f"main-heap-size {mem.main_heap_size}", f"main-heap-page-size {page}"]
    buffers = [f"buffers-per-numa {mem.buffers_per_numa}", f"page-size {page}"]
    if mem.buffer_data_size is not None:
        buffers.append(f"default data-size {mem.buffer_data_size}")
    return memory, buffers


def _dpdk(settings: ManagerSettings, uplink: UplinkState) -> list[str]:
    u = settings.uplink
    pci = pci_of(settings, uplink) or "0000:00:00.0"
    dev = [
        f"name {vpp_uplink_name(settings)}",
        f"num-rx-queues {u.rx_queues}",
        f"num-tx-queues {u.tx_queues}",
        f"num-rx-desc {u.rx_queue_size}",
        f"num-tx-desc {u.tx_queue_size}",
    ]
    driver = u.kernel_driver or DRIVERS[u.driver].default_kernel_driver or "vfio-pci"
    return [f"uio-driver {driver}", f"dev {pci} {{", *(f"  {d}" for d in dev), "}"]


def render(settings: ManagerSettings, uplink: UplinkState) -> str:
    """The whole startup.conf for this node."""
    vpp = settings.vpp
    spec = DRIVERS[settings.uplink.driver]
    memory, buffers = _memory(settings)
    plugins = ["plugin default { enable }"]
    plugins.append(f"plugin dpdk_plugin.so {{ {'enable' if spec.dpdk else 'disable'} }}")
    out = [
        f"# VPP startup configuration written by vppnet manager for uplink {uplink.name} "
        f"({settings.uplink.driver})",
        "",
    ]
    out += _section(
        "unix", ["nodaemon", "full-coredump", f"cli-listen {vpp.cli_socket}", "cli-no-pager"]
    )
    out += _section("api-trace", ["on"])
    out += _section("socksvr", [f"socket-name {vpp.socket}"])
    if vpp.stats_socket is not None:
        out += _section("statseg", [f"socket-name {vpp.stats_socket}"])
    cpu = _cpu(settings)
    if cpu:
        out += _section("cpu", cpu)
    out += _section("memory", memory)
    out += _section("buffers", buffers)
    out += _section("plugins", plugins)
    if spec.dpdk:
        out += _section("dpdk", _dpdk(settings, uplink))
    for snippet in settings.startup_extra:
        out += [snippet.rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def write(path: str | os.PathLike[str], text: str) -> None:
    """Write atomically, so a VPP restarted by hand never reads half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
