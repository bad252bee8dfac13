"""Reading Kubernetes objects (JSON dicts) safely: metadata, typed fields, clear errors.

Every converter raises :class:`ConversionError` naming the field and what is
wrong with it; the sources turn that into a per-object report (a status
condition, an Event, a log line) and skip the object, never the watch.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from agent.model import IPNetwork

Obj = dict[str, Any]


class ConversionError(ValueError):
    """An object that cannot become a model entity: ``reason`` (CamelCase), field, message."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.reason = reason
        self.field = field
        self.message = message


def _str_map(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict):
        return MappingProxyType({})
    return MappingProxyType({str(k): str(v) for k, v in value.items() if v is not None})


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it (``2026-01-01T00:00:00Z``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    name: str
    namespace: str
    uid: str
    resource_version: str
    generation: int
    created: datetime | None
    deleting: bool
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    finalizers: tuple[str, ...] = ()

    @classmethod
    def of(cls, obj: Obj) -> ObjectMeta:
        """The metadata of any object; raises ConversionError without a name."""
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ConversionError("InvalidObject", "metadata.name", "missing")
        generation = meta.get("generation")
        finalizers = meta.get("finalizers")
        return cls(
            name=meta["name"],
            namespace=str(meta.get("namespace") or ""),
            uid=str(meta.get("uid") or ""),
            resource_version=str(meta.get("resourceVersion") or ""),
            generation=generation if isinstance(generation, int) else 0,
            created=parse_time(meta.get("creationTimestamp")),
            deleting=bool(meta.get("deletionTimestamp")),
            annotations=_str_map(meta.get("annotations")),
            labels=_str_map(meta.get("labels")),
            finalizers=tuple(str(f) for f in finalizers) if isinstance(finalizers, list) else (),
        )

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def section(obj: Obj, name: str) -> Obj:
    """``spec`` or ``status``: an object, empty when absent, an error when not an object."""
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConversionError("InvalidSpec", name, "must be an object")
    return value


def integer(data: Obj, path: str, key: str, *, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ConversionError("InvalidSpec", f"{path}.{key}", "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConversionError("InvalidSpec", f"{path}.{key}", f"must be an integer, not {value!r}")
    return value


def string(data: Obj, path: str, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConversionError("InvalidSpec", f"{path}.{key}", f"must be a string, not {value!r}")
    return value


def cidr(text: str, where: str, version: int | None = None) -> IPNetwork:
    """A prefix in canonical form; host bits set or the wrong family are errors that say so."""
    text = text.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
        address = ipaddress.ip_address(text.split("/")[0])
    except ValueError:
        raise ConversionError("BadCIDR", where, f"{text!r} is not a CIDR") from None
    if "/" not in text:
        raise ConversionError("BadCIDR", where, f"{text} has no prefix length")
    if version is not None and network.version != version:
        raise ConversionError("BadCIDR", where, f"{text} is not an IPv{version} prefix")
    if address != network.network_address:
        raise ConversionError(
            "BadCIDR", where, f"{text} has host bits set (the prefix would be {network})"
        )
    return network
