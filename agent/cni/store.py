"""The CNI server's persisted pod interfaces: what a restarted agent reloads.

Only the CNI knows a pod's netns, addresses and annotations; Felix and the
Kubernetes API do not resend them. So every successful ADD is recorded and
every DEL forgets, in one versioned JSON file written atomically (temp file,
fsync, rename, mode 0600) so a crash leaves either the old or the new file,
never half of one. A record holds the pod interface as the CNI built it
(Felix's policy is not part of it: Felix sends that again) and the warnings
the ADD produced, kept for endpoint status.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agent.model import PodInterface, PodInterfaceKey, PolicyAssignment

log = logging.getLogger(__name__)

STATE_VERSION = 1
_POD = TypeAdapter(PodInterface)


class StoreWriteError(Exception):
    """The state file could not be written; the previous one is intact."""


@dataclass(frozen=True, slots=True)
class PodRecord:
    pod: PodInterface
    warnings: tuple[str, ...] = ()
    # an ADD in progress that makes Linux devices itself (a veth pair): recorded before
    # making them, so an agent killed half-way removes them when it starts again
    pending: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _POD.dump_python(self.pod, mode="json")
        data.pop("policy", None)
        out: dict[str, Any] = {"pod": data, "warnings": list(self.warnings)}
        if self.pending:
            out["pending"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PodRecord:
        pod = _POD.validate_python(data["pod"])
        warnings = tuple(str(w) for w in data.get("warnings", ()))
        return cls(pod, warnings, pending=data.get("pending") is True)


def cni_view(pod: PodInterface) -> PodInterface:
    """The fields the CNI decides (Felix's policy assignment reset): what ADDs compare."""
    return replace(pod, policy=PolicyAssignment())


class CniStore:
    """Records by pod interface key, found for a DEL by (netns, interface name)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.records: dict[PodInterfaceKey, PodRecord] = {}
        self._encoded: dict[PodInterfaceKey, dict[str, Any]] = {}  # records as written
        self._lock = threading.Lock()  # the records
        self._write_lock = threading.Lock()  # the file
        self._generation = 0
        self._written = 0

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> CniStore:
        """Read the file; missing means empty, unreadable is set aside (never overwritten)."""
        store = cls(Path(path) if path is not None else None)
        if store.path is None or not store.path.exists():
            return store
        try:
            data = json.loads(store.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            items = data["pods"]
            if not isinstance(items, list):
                raise TypeError("pods is not a list")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            aside = store.path.with_name(store.path.name + ".corrupt")
            store.path.replace(aside)
            log.error("CNI state %s is unreadable (%s); moved to %s", store.path, e, aside)
            return store
        for i, item in enumerate(items):
            try:
                record = PodRecord.from_json(item)
            except (ValidationError, KeyError, TypeError) as e:
                log.error("CNI state %s: pod entry %d is invalid, dropped: %s", store.path, i, e)
                continue
            store.records[record.pod.key] = record
            store._encoded[record.pod.key] = record.to_json()
        return store

    def find(self, netns: str, interface: str) -> PodRecord | None:
        path = os.path.normpath(netns)
        with self._lock:
            records = list(self.records.values())
        for record in records:
            if record.pod.netns == path and record.pod.key.interface == interface:
                return record
        return None

    def get(self, key: PodInterfaceKey) -> PodRecord | None:
        with self._lock:
            return self.records.get(key)

    def put(self, record: PodRecord) -> None:
        record = replace(record, pod=cni_view(record.pod))
        encoded = record.to_json()  # once per ADD, not once per save of every record
        with self._lock:
            self.records[record.pod.key] = record
            self._encoded[record.pod.key] = encoded
            self._generation += 1

    def remove(self, key: PodInterfaceKey) -> PodRecord | None:
        with self._lock:
            self._generation += 1
            self._encoded.pop(key, None)
            return self.records.pop(key, None)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            pods = [self._encoded[k] for k in sorted(self.records)]
        return {"version": STATE_VERSION, "pods": pods}

    def save(self) -> None:
        """Write atomically. Saves are serialized and each writes the latest records, so
        concurrent ADDs never leave an older snapshot on disk; an unchanged store is not
        written again."""
        if self.path is None:
            return
        with self._write_lock:
            with self._lock:
                generation = self._generation
            if generation == self._written:
                return
            text = json.dumps(self.to_json(), separators=(",", ":"))
            self._write(self.path, text)
            self._written = generation

    @staticmethod
    def _write(path: Path, text: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as e:
            raise StoreWriteError(f"cannot write CNI state {path}: {e}") from e
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            dirfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dirfd)  # the rename itself survives a crash
            finally:
                os.close(dirfd)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise StoreWriteError(f"cannot write CNI state {path}: {e}") from e
