"""The secondary networks as the Kubernetes API describes them, merged into one set.

Three watches feed it: vppnet's Networks, calico-vpp's Networks and the
NetworkAttachmentDefinitions. The catalog keeps every object as last seen
(with its conversion error, if any) and derives the model's networks:

* a vppnet.io Network wins over a calico-vpp Network of the same name (the
  loser is reported as shadowed); between calico-vpp Networks of one name in
  different namespaces (upstream keys them by bare name) the oldest wins;
* each network's ``attachments`` are the NADs selecting it by name, however
  many (calico-vpp tracks only the last one);
* a network whose object disappeared while local pods still use it stays in
  the model, marked terminating, until its last local pod is gone: removing it
  under them would leave their interfaces in a VRF nothing programs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from agent.k8s.convert import nads as nad_convert
from agent.k8s.convert import networks as net_convert
from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta
from agent.model import ClusterModel, NadRef, Network


class Origin(StrEnum):
    VPPNET = "networks.vppnet.io"
    CALICO_VPP = "networks.projectcalico.org"


@dataclass(frozen=True, slots=True)
class NetworkEntry:
    origin: Origin
    meta: ObjectMeta
    raw: Obj
    network: Network | None
    error: ConversionError | None

    @property
    def seniority(self) -> tuple[str, str]:
        created = self.meta.created.isoformat() if self.meta.created else "~"
        return (created, self.meta.namespace)


@dataclass(frozen=True, slots=True)
class NadEntry:
    ref: NadRef
    meta: ObjectMeta
    raw: Obj
    network_name: str | None
    error: ConversionError | None


def _network_entry(origin: Origin, obj: Obj) -> NetworkEntry:
    meta = ObjectMeta.of(obj)
    convert = net_convert.from_vppnet if origin is Origin.VPPNET else net_convert.from_calico_vpp
    try:
        return NetworkEntry(origin, meta, obj, convert(obj), None)
    except ConversionError as error:
        return NetworkEntry(origin, meta, obj, None, error)


def _nad_entry(obj: Obj) -> NadEntry:
    meta = ObjectMeta.of(obj)
    ref = nad_convert.ref_of(obj)
    try:
        return NadEntry(ref, meta, obj, nad_convert.network_name(obj), None)
    except ConversionError as error:
        return NadEntry(ref, meta, obj, None, error)


@dataclass(frozen=True, slots=True)
class CatalogView:
    """An immutable snapshot, from which everything else is computed."""

    network_entries: tuple[NetworkEntry, ...]
    nad_entries: tuple[NadEntry, ...]

    def chosen(self) -> dict[str, NetworkEntry]:
        """The entry that defines each network name (see the module docstring)."""
        by_name: dict[str, list[NetworkEntry]] = {}
        for entry in self.network_entries:
            by_name.setdefault(entry.meta.name, []).append(entry)
        return {
            name: min(entries, key=lambda e: (e.origin is not Origin.VPPNET, e.seniority))
            for name, entries in sorted(by_name.items())
        }

    def shadowed(self) -> list[tuple[NetworkEntry, NetworkEntry]]:
        """(ignored entry, the entry that defines its name instead)."""
        chosen = self.chosen()
        return [
            (entry, chosen[entry.meta.name])
            for entry in self.network_entries
            if chosen[entry.meta.name] is not entry
        ]

    def networks(self) -> dict[str, Network]:
        """The model's networks: the chosen, convertible entries with their NADs."""
        attachments: dict[str, list[NadRef]] = {}
        for nad in self.nad_entries:
            if nad.network_name is not None:
                attachments.setdefault(nad.network_name, []).append(nad.ref)
        return {
            name: replace(entry.network, attachments=tuple(sorted(attachments.get(name, []))))
            for name, entry in self.chosen().items()
            if entry.network is not None
        }

    def dangling_nads(self) -> list[NadEntry]:
        """NADs that select a network no Network object defines."""
        known = set(self.chosen())
        return [n for n in self.nad_entries if n.network_name and n.network_name not in known]


class NetworkCatalog:
    """The latest Network and NAD objects; thread-safe (each watch has its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._networks: dict[tuple[Origin, str, str], NetworkEntry] = {}
        self._nads: dict[NadRef, NadEntry] = {}

    def replace_networks(self, origin: Origin, objects: Iterable[Obj]) -> None:
        entries = [_network_entry(origin, obj) for obj in objects]
        with self._lock:
            for key in [k for k in self._networks if k[0] is origin]:
                del self._networks[key]
            for entry in entries:
                self._networks[(origin, entry.meta.namespace, entry.meta.name)] = entry

    def put_network(self, origin: Origin, obj: Obj) -> NetworkEntry:
        entry = _network_entry(origin, obj)
        with self._lock:
            self._networks[(origin, entry.meta.namespace, entry.meta.name)] = entry
        return entry

    def remove_network(self, origin: Origin, obj: Obj) -> None:
        meta = ObjectMeta.of(obj)
        with self._lock:
            self._networks.pop((origin, meta.namespace, meta.name), None)

    def replace_nads(self, objects: Iterable[Obj]) -> None:
        entries = [_nad_entry(obj) for obj in objects]
        with self._lock:
            self._nads = {entry.ref: entry for entry in entries}

    def put_nad(self, obj: Obj) -> NadEntry:
        entry = _nad_entry(obj)
        with self._lock:
            self._nads[entry.ref] = entry
        return entry

    def remove_nad(self, obj: Obj) -> None:
        ref = nad_convert.ref_of(obj)
        with self._lock:
            self._nads.pop(ref, None)

    def view(self) -> CatalogView:
        with self._lock:
            return CatalogView(
                tuple(self._networks[k] for k in sorted(self._networks)),
                tuple(self._nads[k] for k in sorted(self._nads)),
            )


def with_networks(model: ClusterModel, wanted: dict[str, Network]) -> ClusterModel:
    """``model`` with ``wanted`` as its networks, keeping (as terminating) any network
    that is gone from the API but still used by a local pod interface."""
    networks = dict(wanted)
    for name, network in model.networks.items():
        if name not in networks and model.pod_interfaces_in(name):
            networks[name] = replace(network, terminating=True)
    if networks == dict(model.networks):
        return model
    return replace(model, networks=networks)
