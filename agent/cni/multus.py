"""Multus's pod annotation ``k8s.v1.cni.cncf.io/networks``: which NAD an interface is for.

Multus calls the CNI once per attachment, with ``CNI_IFNAME`` set to the
interface the pod asked for, or ``net<N>`` for the N-th attachment (counting
from 1, in annotation order). The request itself does not name the NAD, but
it carries the pod's annotations, so the attachment an ADD belongs to can be
found again: vppnet uses it to name the NAD in its error messages.

Both of Multus's syntaxes are read: the text form (``[ns/]nad[@ifname]``,
comma separated) and the JSON form (a list of objects with ``name``,
``namespace``, ``interface``), chosen as Multus does (JSON when the value
contains ``[``, ``{`` or ``"``). Multus has already validated the annotation
by the time the CNI runs; a value that does not parse here is reported by
:class:`MultusAnnotationError` naming the annotation and the entry, and the
caller decides whether that matters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.model import NadRef

NETWORKS = "k8s.v1.cni.cncf.io/networks"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAX_IFNAME = 15


class MultusAnnotationError(ValueError):
    """The networks annotation does not parse; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One requested attachment: a NAD and the interface Multus will call the CNI for."""

    nad: NadRef
    interface: str


def attachments(annotations: Mapping[str, str], pod_namespace: str) -> tuple[Attachment, ...]:
    """Every attachment the pod asks for, in order, with Multus's interface names."""
    raw = annotations.get(NETWORKS, "").strip()
    if not raw:
        return ()
    entries = _json_entries(raw) if any(c in raw for c in '[{"') else _text_entries(raw)
    out = []
    for position, (namespace, name, ifname) in enumerate(entries, start=1):
        where = f"{NETWORKS}[{position - 1}]"
        for what, value in (("namespace", namespace), ("name", name)):
            if value is not None and not _DNS_LABEL.fullmatch(value):
                raise MultusAnnotationError(f"{where}: {what} {value!r} is not a DNS-1123 label")
        if ifname is not None and not _ifname_ok(ifname):
            raise MultusAnnotationError(f"{where}: {ifname!r} is not an interface name")
        nad = NadRef(namespace or pod_namespace, name)
        out.append(Attachment(nad, ifname or f"net{position}"))
    return tuple(out)


def attachment_for(
    annotations: Mapping[str, str], pod_namespace: str, interface: str
) -> Attachment | None:
    """The attachment a CNI request for ``interface`` comes from, if the pod asked for it."""
    found = attachments(annotations, pod_namespace)
    return next((a for a in found if a.interface == interface), None)


def _ifname_ok(name: str) -> bool:
    return 0 < len(name) <= _MAX_IFNAME and "/" not in name and not any(c.isspace() for c in name)


def _text_entries(raw: str) -> list[tuple[str | None, str, str | None]]:
    out = []
    for i, item in enumerate(part.strip() for part in raw.split(",")):
        where = f"{NETWORKS}[{i}]"
        if item.count("/") > 1 or item.count("@") > 1:
            raise MultusAnnotationError(f"{where}: {item!r} has more than one '/' or '@'")
        rest, _, ifname = item.partition("@")
        namespace, _, name = rest.rpartition("/")
        if not name:
            raise MultusAnnotationError(f"{where}: {item!r} names no NetworkAttachmentDefinition")
        out.append((namespace or None, name, ifname if "@" in item else None))
    return out


def _json_entries(raw: str) -> list[tuple[str | None, str, str | None]]:
    try:
        data: Any = json.loads(raw)
    except ValueError as e:
        raise MultusAnnotationError(f"{NETWORKS}: not JSON: {e}") from None
    if not isinstance(data, list):
        raise MultusAnnotationError(f"{NETWORKS}: must be a JSON list")
    out = []
    for i, entry in enumerate(data):
        where = f"{NETWORKS}[{i}]"
        if not isinstance(entry, dict):
            raise MultusAnnotationError(f"{where}: must be an object")
        name, namespace = entry.get("name"), entry.get("namespace")
        ifname = entry.get("interface", entry.get("interfaceRequest"))
        if not isinstance(name, str) or not name:
            raise MultusAnnotationError(f"{where}.name: missing or not a string")
        for what, value in (("namespace", namespace), ("interface", ifname)):
            if value is not None and not isinstance(value, str):
                raise MultusAnnotationError(f"{where}.{what}: not a string")
        out.append((namespace or None, name, ifname or None))
    return out
