"""VPP binary API definitions (``*.api.json``) shipped with vppnet.

The files describe exactly the messages vppnet uses, with the names, fields,
types and CRCs VPP v26.06 announces, so that (a) the agent can check a live
VPP's message table against what it was built for and (b) the simulator
announces the same table a real VPP would. This package holds data only so
that both the VPP layer and the simulator can read it without importing each
other.

One file per VPP .api module (memclnt, vpe, interface, ip, ip_neighbor,
af_packet, tapv2, memif, vxlan, ipip, cnat, nat44_ed, lcp, npol, and the uplink
drivers created through the API: af_xdp, rdma, avf), in the format VPP's
``vppapigen`` JSON backend writes (the one vpp_papi reads):

* ``messages`` holds only the messages vppnet uses (listed in
  tests/unit/test_apidefs.py), each with every field in wire order
  (``["u16", "_vl_msg_id"]`` first), fixed arrays ``[type, name, N]``,
  variable arrays ``[type, name, 0, "count_field"]``,
  strings ``["string", name, N]`` (``N = 0``: variable length), field defaults
  ``{"default": ...}``, and a trailing ``{"crc": ..., "options": {...}}`` with the
  ``deprecated`` / ``status: in_progress`` markers of VPP v26.06. Doc comments
  are left out.
* ``types``, ``unions``, ``enums``, ``enumflags`` and ``aliases`` carry, like
  vppapigen output, every definition of the module's own .api file and of every
  file it imports (transitively), so each file is self-contained; a definition
  reached through several imports is written once.
* ``services`` maps each request to its ``reply`` (``"stream": true`` for
  dumps, ``"stream_msg"`` for cursor streams, ``"events"`` for want_* calls).
* ``options.version`` is the module version and ``vl_api_version`` the file CRC
  of VPP v26.06; ``imports`` lists the imported .api files.

The message CRCs were checked by recomputing them with vppapigen's algorithm
(CRC32 over the field list, folded with the CRCs of every nested type and
enum) from the definitions written here: they equal those VPP v26.06 announces.
The three driver modules (af_xdp, rdma, avf) were written from FDio/vpp's
.api files as stored for the project (not the v26.06 tag itself) with the same
algorithm; ``avf_create``'s CRC matches VPP's generated headers, the others
could not be cross-checked against a live VPP. A mismatch shows up as a clear
start-up error naming the message, only when that driver is selected.
``ipip`` (module 2.0.1) was written from FDio/vpp's ipip.api and tunnel_types.api;
its message CRCs, recomputed the same way, and its file CRC equal those of VPP's
generated message table (``ipip_03c9c667``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

API_DIR = Path(__file__).resolve().parent


def api_dir() -> Path:
    """The directory holding the shipped ``*.api.json`` files."""
    return API_DIR


def api_files() -> list[Path]:
    """Every shipped API definition file, sorted by name."""
    return sorted(API_DIR.glob("*.api.json"))


@cache
def load_module(name: str) -> dict[str, Any]:
    """The parsed JSON of one module (``"ip"`` reads ``ip.api.json``)."""
    with (API_DIR / f"{name}.api.json").open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def module_names() -> list[str]:
    return [p.name.removesuffix(".api.json") for p in api_files()]
