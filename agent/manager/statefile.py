"""The persisted record of a grab: the uplink as captured and what the manager created.

It is written before the first change to the host and updated after each
change that must be undone (a host interface, a veth pair, a sysctl, a PCI
rebind, the VPP process id), so that a manager killed at any point — or a
node rebooted into a stale container — can still give the uplink back.
Writes are atomic (temporary file, fsync, rename, directory fsync) and the
file is private (0600): it describes the node's network. A version field
lets a newer manager refuse a format it does not know instead of
misreading it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.manager.capture import Address, Neighbour, Nexthop, Route, UplinkState
from agent.manager.errors import ManagerError

VERSION = 1


@dataclass(frozen=True)
class Created:
    """What the manager made or changed on the host, to undo on give-back."""

    host_interface: str | None = None  # a Linux device we created (veth) and must delete
    host_peer: str | None = None  # the VPP end of that veth pair
    sysctls: tuple[tuple[str, str], ...] = ()  # (template, value we wrote)
    link_flags_changed: bool = False  # NOARP set on the uplink
    addresses_removed: bool = False
    pci_rebound_to: str | None = None  # the driver we bound the NIC to
    vpp_pid: int | None = None
    vpp_start_time: int | None = None  # /proc/<pid>/stat field 22, against pid reuse


@dataclass(frozen=True)
class GrabRecord:
    uplink: UplinkState
    driver: str
    created: Created = field(default_factory=Created)

    def with_created(self, **changes: Any) -> GrabRecord:
        return replace(self, created=replace(self.created, **changes))


def _encode(record: GrabRecord) -> dict[str, Any]:
    uplink = asdict(record.uplink)
    uplink.pop("extra", None)
    return {
        "version": VERSION,
        "driver": record.driver,
        "uplink": uplink,
        "created": asdict(record.created),
    }


def _pairs(value: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(k), v) for k, v in value)


def _decode(data: dict[str, Any]) -> GrabRecord:
    u = dict(data["uplink"])
    u["addresses"] = tuple(Address(**a) for a in u["addresses"])
    u["routes"] = tuple(
        Route(
            **{
                **r,
                "metrics": _pairs(r["metrics"]),
                "multipath": tuple(Nexthop(**n) for n in r["multipath"]),
            }
        )
        for r in u["routes"]
    )
    u["neighbours"] = tuple(Neighbour(**n) for n in u["neighbours"])
    u["sysctls"] = _pairs(u["sysctls"])
    c = dict(data["created"])
    c["sysctls"] = _pairs(c["sysctls"])
    return GrabRecord(UplinkState(**u), str(data["driver"]), Created(**c))


def save(path: str | os.PathLike[str], record: GrabRecord) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(_encode(record), indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dirfd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def load(path: str | os.PathLike[str]) -> GrabRecord | None:
    """The record, or None when there is none; :class:`ManagerError` when it is unreadable."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ManagerError(
            f"state file {p} is unreadable ({e}); restore the uplink by hand "
            "(see docs/operations.md) and remove the file"
        ) from e
    version = data.get("version") if isinstance(data, dict) else None
    if version != VERSION:
        raise ManagerError(
            f"state file {p} has version {version!r}, this manager reads version {VERSION}; "
            "restore with the manager that wrote it, or by hand (docs/operations.md)"
        )
    try:
        return _decode(data)
    except (KeyError, TypeError, ValueError) as e:
        raise ManagerError(f"state file {p} is malformed ({e!r}); restore by hand") from e


def remove(path: str | os.PathLike[str]) -> None:
    Path(path).unlink(missing_ok=True)
