"""The fake API server's storage: objects, one global resourceVersion, an event log.

Like etcd behind the API server, every write bumps one cluster-wide
resourceVersion and is appended to a log that watches replay from any version
that has not been compacted; :meth:`Store.compact` forgets history, so a watch
from an older version gets ``410 Gone``. Writers follow the API server's
rules that the agent relies on: optimistic concurrency (a stale
``metadata.resourceVersion`` in a patch is a 409 Conflict), ``generation``
bumped by spec changes only, status changed only through the status
subresource, and deletion held back by finalizers.
"""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.k8sfake.errors import StatusError
from tests.k8sfake.schema import Schema, prune, validate

Obj = dict[str, Any]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    status_subresource: bool = False
    status_on_create: bool = False  # Nodes: kubelet creates them with their status
    schema: Schema | None = field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class Event:
    rv: int
    resource: ResourceType
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj
    old: Obj | None


Selector = Callable[[Obj], bool]


class Store:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted = 0
        self.objects: dict[ResourceType, dict[tuple[str, str], Obj]] = {}
        self.log: list[Event] = []
        self._clock = itertools.count()

    def register(self, resource: ResourceType) -> None:
        with self.cond:
            self.objects.setdefault(resource, {})

    def served(self, resource: ResourceType) -> bool:
        return resource in self.objects

    def _bucket(self, resource: ResourceType) -> dict[tuple[str, str], Obj]:
        try:
            return self.objects[resource]
        except KeyError:
            raise StatusError(
                404, "NotFound", "the server could not find the requested resource"
            ) from None

    def _now(self) -> str:
        return (EPOCH + timedelta(seconds=next(self._clock))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _commit(self, resource: ResourceType, kind: str, obj: Obj, old: Obj | None) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if kind == "DELETED":
            self.objects[resource].pop(key, None)
        else:
            self.objects[resource][key] = obj
        self.log.append(Event(self.rv, resource, kind, copy.deepcopy(obj), old))
        self.cond.notify_all()
        return copy.deepcopy(obj)

    def _check(self, resource: ResourceType, obj: Obj) -> Obj:
        schema = resource.schema
        if schema is None:
            return obj
        props = schema.get("properties", {})
        errors: list[str] = []
        for part in ("spec", "status"):
            if part in obj and part in props:
                obj[part] = prune(obj[part], props[part])
                errors += validate(obj[part], props[part], part)
        if errors:
            name = obj.get("metadata", {}).get("name", "")
            raise StatusError(
                422, "Invalid", f'{resource.kind} "{name}" is invalid: ' + "; ".join(errors)
            )
        return obj

    # -- reads ---------------------------------------------------------------

    def get(self, resource: ResourceType, namespace: str, name: str) -> Obj:
        with self.cond:
            obj = self._bucket(resource).get((namespace, name))
            if obj is None:
                raise StatusError(404, "NotFound", f'{resource.plural} "{name}" not found')
            return copy.deepcopy(obj)

    def list(
        self, resource: ResourceType, namespace: str | None, selector: Selector
    ) -> tuple[list[Obj], int]:
        with self.cond:
            items = [
                copy.deepcopy(o)
                for (ns, _), o in sorted(self._bucket(resource).items())
                if (namespace is None or ns == namespace) and selector(o)
            ]
            return items, self.rv

    def events_since(self, resource: ResourceType, rv: int) -> Iterator[Event]:
        """Events of ``resource`` after ``rv``; the caller holds ``cond``."""
        return (e for e in self.log if e.rv > rv and e.resource == resource)

    def compact(self) -> int:
        """Forget all history: a watch from any version before now gets 410 Gone."""
        with self.cond:
            self.compacted = self.rv
            self.log.clear()
            return self.compacted

    # -- writes --------------------------------------------------------------

    def create(self, resource: ResourceType, namespace: str, obj: Obj) -> Obj:
        with self.cond:
            bucket = self._bucket(resource)
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            name = meta.get("name")
            if not name:
                raise StatusError(422, "Invalid", "metadata.name: Required value")
            if resource.namespaced:
                meta["namespace"] = namespace or meta.get("namespace") or "default"
            else:
                meta.pop("namespace", None)
            if (meta.get("namespace", ""), name) in bucket:
                raise StatusError(
                    409, "AlreadyExists", f'{resource.plural} "{name}" already exists'
                )
            obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
            meta.update(uid=str(uuid.uuid4()), generation=1, creationTimestamp=self._now())
            meta.pop("deletionTimestamp", None)
            if resource.status_subresource and not resource.status_on_create:
                obj.pop("status", None)
            return self._commit(resource, "ADDED", self._check(resource, obj), None)

    def update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        change: Callable[[Obj], Obj],
        *,
        status: bool = False,
    ) -> Obj:
        """Apply ``change`` to a copy of the object and store it under the API rules."""
        with self.cond:
            bucket = self._bucket(resource)
            key = (namespace if resource.namespaced else "", name)
            old = bucket.get(key)
            if old is None:
                raise StatusError(404, "NotFound", f'{resource.plural} "{name}" not found')
            new = change(copy.deepcopy(old))
            wanted_rv = new.get("metadata", {}).get("resourceVersion")
            if wanted_rv not in (None, old["metadata"]["resourceVersion"]):
                raise StatusError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource.plural} "{name}": the object '
                    "has been modified; please apply your changes to the latest version",
                )
            new = self._keep_identity(resource, old, new, status=status)
            if new == old:
                return copy.deepcopy(old)
            if old["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                return self._commit(resource, "DELETED", new, old)
            return self._commit(resource, "MODIFIED", self._check(resource, new), old)

    def _keep_identity(self, resource: ResourceType, old: Obj, new: Obj, *, status: bool) -> Obj:
        meta = dict(new.get("metadata") or {})
        for fixed in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"):
            if fixed in old["metadata"]:
                meta[fixed] = old["metadata"][fixed]
            else:
                meta.pop(fixed, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        meta["generation"] = old["metadata"].get("generation", 1)
        new["metadata"] = meta
        new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
        if resource.status_subresource:
            if status:  # the status subresource changes status only
                new = {**old, "status": new.get("status")}
                if new["status"] is None:
                    del new["status"]
            elif "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        spec_old = {k: v for k, v in old.items() if k not in ("metadata", "status")}
        spec_new = {k: v for k, v in new.items() if k not in ("metadata", "status")}
        if spec_old != spec_new:
            new["metadata"]["generation"] = meta["generation"] + 1
        return new

    def delete(self, resource: ResourceType, namespace: str, name: str) -> Obj:
        with self.cond:
            bucket = self._bucket(resource)
            key = (namespace if resource.namespaced else "", name)
            old = bucket.get(key)
            if old is None:
                raise StatusError(404, "NotFound", f'{resource.plural} "{name}" not found')
            new = copy.deepcopy(old)
            if not old["metadata"].get("finalizers"):
                return self._commit(resource, "DELETED", new, old)
            if old["metadata"].get("deletionTimestamp"):
                return copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = self._now()
            return self._commit(resource, "MODIFIED", new, old)
