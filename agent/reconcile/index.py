"""The persisted record of what vppnet owns in VPP and how it created it.

VPP can tag interfaces but not routes, cnat translations or memif sockets,
and it has no dump for some interface settings (VRF binding, rx mode,
unnumbered) or creation parameters (queue counts). The index fills those
gaps: it names the objects vppnet created, so a restarted agent adopts
exactly those and never touches anything else, and it keeps each owned
interface as it was applied, so unobservable fields compare equal after a
restart instead of causing churn. It is written atomically (temp file,
fsync, rename) with a version field; a corrupt file is set aside, never
silently overwritten.

npol record changes are journaled instead (see :mod:`agent.reconcile.journal`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from agent.reconcile.journal import journal_of, replay_journal
from agent.vppobjects import AfPacket, Interface, Ipip, Loopback, Memif, TunTap, Vxlan

log = logging.getLogger(__name__)

INDEX_VERSION = 1
_COMPACT_MIN_BYTES = 256 * 1024  # a journal below this is never worth a whole rewrite
TAG_PREFIX = "vppnet:"
_TAG_MAX = 63  # VPP tags are string[64]

_KINDS: dict[str, type[Any]] = {
    "tuntap": TunTap,
    "af_packet": AfPacket,
    "memif": Memif,
    "vxlan": Vxlan,
    "ipip": Ipip,
    "loopback": Loopback,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
_ADAPTERS = {kind: TypeAdapter(cls) for kind, cls in _KINDS.items()}


def tag_for(name: str) -> str:
    """The VPP tag of an owned interface: readable, and within VPP's 63 characters."""
    tag = TAG_PREFIX + name
    if len(tag) <= _TAG_MAX:
        return tag
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    keep = _TAG_MAX - len(TAG_PREFIX) - len(digest) - 1
    return f"{TAG_PREFIX}{name[:keep]}~{digest}"


def is_owned_tag(tag: str) -> bool:
    return tag.startswith(TAG_PREFIX)


class IndexWriteError(Exception):
    """The index file cannot be written."""


@dataclass
class OwnershipIndex:
    interfaces: dict[str, Interface] = field(default_factory=dict)  # tag -> as applied
    routes: set[str] = field(default_factory=set)  # route keys
    cnat: set[str] = field(default_factory=set)  # cnat keys
    memif_sockets: dict[str, str] = field(default_factory=dict)  # socket name -> path
    addresses: set[str] = field(default_factory=set)  # address keys on foreign interfaces
    # cnat objects VPP cannot show (SNAT policy, tables, excluded prefixes, features) and the
    # translation fields it does not dump, by key (see agent.reconcile.services)
    cnat_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    # npol objects (no dumps at all): their VPP ids and specs as applied, plus the VPP
    # instance they live in, versioned on their own (see agent.reconcile.npol)
    npol: dict[str, Any] = field(default_factory=dict)
    neighbors: set[str] = field(default_factory=set)  # keys of static neighbours vppnet added
    path: Path | None = None
    # set by the applier when a change touched what the index holds; the reconciler saves
    # only then, so updating a translation's backends writes nothing at 10,000 services
    dirty: bool = field(default=True, compare=False, repr=False)
    # the file's generation: journal lines apply to the file they were written after
    generation: str = field(default="", compare=False, repr=False)
    # npol record changes not saved yet (key -> JSON text, None: removed)
    _npol_pending: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)
    _file_bytes: int = field(default=0, compare=False, repr=False)
    _journal_bytes: int = field(default=0, compare=False, repr=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> OwnershipIndex:
        """Read the index; a missing file is an empty index, a corrupt one is set aside."""
        if path is None:
            return cls()
        p = Path(path)
        if not p.exists():
            return cls(path=p)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if data.get("version") != INDEX_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            index = cls(
                interfaces={tag: _decode(v) for tag, v in data["interfaces"].items()},
                routes=set(data["routes"]),
                cnat=set(data["cnat"]),
                memif_sockets=dict(data["memif_sockets"]),
                addresses=set(data["addresses"]),
                cnat_records=dict(data.get("cnat_records", {})),
                npol=dict(data.get("npol", {})),
                neighbors=set(data.get("neighbors", [])),
                path=p,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            aside = p.with_name(p.name + ".corrupt")
            p.replace(aside)
            log.error(
                "ownership index %s is unreadable (%s); moved to %s and starting empty: "
                "objects it listed will be treated as foreign until re-adopted",
                p,
                e,
                aside,
            )
            return cls(path=p)
        index.dirty = False
        index.generation = str(data.get("generation", ""))
        index._file_bytes = p.stat().st_size
        if index.generation:
            index._replay()
        return index

    # -- npol records and their journal ------------------------------------------------

    @property
    def journal_path(self) -> Path | None:
        return journal_of(self.path) if self.path is not None else None

    @property
    def needs_save(self) -> bool:
        return self.dirty or bool(self._npol_pending)

    def put_npol(self, key: str, record: str | None) -> None:
        """Set (or, with None, remove) one npol record, to be journaled at the next save."""
        objects: dict[str, Any] = self.npol.setdefault("objects", {})
        if record is None:
            objects.pop(key, None)
        else:
            objects[key] = record
        self._npol_pending[key] = record

    def _replay(self) -> None:
        assert self.path is not None
        journal = journal_of(self.path)
        try:
            raw = journal.read_bytes()
        except FileNotFoundError:
            return
        except OSError as e:
            log.error(
                "ownership index journal %s is unreadable (%s); rewriting the index", journal, e
            )
            self.dirty = True
            return
        self._journal_bytes = len(raw)
        applied, skipped = replay_journal(self.npol, self.generation, raw)
        if skipped:
            log.warning(
                "ownership index journal %s: %d line(s) not applied (from before the last "
                "rewrite, or cut short by a crash); what they described is redone from the "
                "records before them",
                journal,
                skipped,
            )
            self.dirty = True  # the next save rewrites the file and retires the journal
        log.debug("ownership index journal %s: %d line(s) applied", journal, applied)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": INDEX_VERSION,
            "interfaces": {tag: _encode(obj) for tag, obj in sorted(self.interfaces.items())},
            "routes": sorted(self.routes),
            "cnat": sorted(self.cnat),
            "memif_sockets": dict(sorted(self.memif_sockets.items())),
            "addresses": sorted(self.addresses),
            "neighbors": sorted(self.neighbors),
            "cnat_records": dict(sorted(self.cnat_records.items())),
            "npol": self.npol,
        }

    def save(self) -> None:
        """Append the pending npol changes to the journal when they are all that changed
        (and the journal is not big yet); otherwise rewrite the file. On failure (disk
        full, say) what is on disk stays whole."""
        if self.path is None:
            return
        if self._npol_pending and not self.dirty and self.generation:
            line = {"generation": self.generation, "npol": self._npol_pending}
            line["meta"] = {k: v for k, v in self.npol.items() if k != "objects"}
            data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
            # the journal never outgrows half the file: past that, folding it in is cheaper
            if self._journal_bytes + len(data) <= max(self._file_bytes // 2, _COMPACT_MIN_BYTES):
                self._append(data)
                return
        self._rewrite()

    def _append(self, data: bytes) -> None:
        assert self.path is not None
        journal = journal_of(self.path)
        try:
            fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            self.dirty = True  # a cut line may be left: only a rewrite (new generation) retires it
            raise IndexWriteError(f"cannot write ownership index journal {journal}: {e}") from e
        self._journal_bytes += len(data)
        self._npol_pending = {}

    def _rewrite(self) -> None:
        assert self.path is not None
        generation = secrets.token_hex(8)
        text = json.dumps({**self.to_json(), "generation": generation}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        except OSError as e:
            raise IndexWriteError(f"cannot write ownership index {self.path}: {e}") from e
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise IndexWriteError(f"cannot write ownership index {self.path}: {e}") from e
        self.dirty = False
        self.generation = generation
        self._npol_pending = {}
        self._file_bytes = len(text)
        self._journal_bytes = 0
        try:
            journal_of(self.path).unlink(missing_ok=True)
        except OSError as e:  # harmless: its lines name the previous generation
            log.warning("cannot remove ownership index journal: %s", e)


def _encode(obj: Interface) -> dict[str, Any]:
    kind = _KIND_OF[type(obj)]
    spec: dict[str, Any] = _ADAPTERS[kind].dump_python(obj, mode="json")
    return {"kind": kind, "spec": spec}


def _decode(data: dict[str, Any]) -> Interface:
    obj: Interface = _ADAPTERS[data["kind"]].validate_python(data["spec"])
    return obj
