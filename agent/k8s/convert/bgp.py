"""Calico's BGPConfiguration and BGPPeer objects -> model entities.

Read as calico-node reads them in the Kubernetes datastore
(``crd.projectcalico.org/v1``; the ``projectcalico.org/v3`` API server shows
the same spec). Only the fields vppnet acts on are read; an object with a
field that cannot be used is refused whole with a :class:`ConversionError`
naming the field, rather than half-applied: a peer with a mistyped password
reference must not come up without one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta, cidr, integer, section, string
from agent.model import BgpConfiguration, BgpPeer, IPAddress, IPNetwork, SecretKeyRef

MAX_ASN: Final = 4_294_967_295
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _bool(data: Obj, path: str, key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ConversionError("InvalidSpec", f"{path}.{key}", f"must be true or false, not {value!r}")


def _asn(data: Obj, path: str) -> int | None:
    value = data.get("asNumber")
    if isinstance(value, str) and value.isdigit():  # the v3 API accepts "65000" too
        value = int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ASN:
        raise ConversionError("InvalidSpec", f"{path}.asNumber", f"{value!r} is not an AS number")
    return value


def _port(value: int | None, where: str) -> int | None:
    if value is not None and not 1 <= value <= 65535:
        raise ConversionError("InvalidSpec", where, f"{value} is not a port")
    return value


def duration_seconds(text: str, where: str) -> int:
    """A Go duration (``120s``, ``2m``, ``1h30m``) in whole seconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ConversionError("InvalidSpec", where, f"{text!r} is not a duration like 120s")
    return round(sum(float(n) * _SECONDS[u] for n, u in parts))


def _duration(data: Obj, path: str, key: str) -> int | None:
    text = string(data, path, key)
    return None if text is None else duration_seconds(text, f"{path}.{key}")


def _secret(data: Obj, path: str, key: str) -> SecretKeyRef | None:
    value = data.get(key)
    if value is None:
        return None
    where = f"{path}.{key}.secretKeyRef"
    ref = value.get("secretKeyRef") if isinstance(value, dict) else None
    if not isinstance(ref, dict):
        raise ConversionError("InvalidSpec", where, "required (a Secret's name and key)")
    name, secret_key = ref.get("name"), ref.get("key")
    if not isinstance(name, str) or not name or not isinstance(secret_key, str) or not secret_key:
        raise ConversionError("InvalidSpec", where, "needs both name and key")
    return SecretKeyRef(name, secret_key)


def _cidrs(data: Obj, path: str, key: str) -> tuple[IPNetwork, ...]:
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise ConversionError("InvalidSpec", f"{path}.{key}", "must be a list of {cidr: ...}")
    out: list[IPNetwork] = []
    for i, entry in enumerate(entries):
        where = f"{path}.{key}[{i}].cidr"
        text = entry.get("cidr") if isinstance(entry, dict) else None
        if not isinstance(text, str):
            raise ConversionError("InvalidSpec", where, "required")
        out.append(cidr(text, where))
    return tuple(out)


def from_bgp_configuration(obj: Obj) -> BgpConfiguration:
    """A BGPConfiguration (``default`` or ``node.<name>``); raises ConversionError."""
    meta = ObjectMeta.of(obj)
    spec = section(obj, "spec")
    return BgpConfiguration(
        name=meta.name,
        as_number=_asn(spec, "spec"),
        node_to_node_mesh=_bool(spec, "spec", "nodeToNodeMeshEnabled"),
        listen_port=_port(integer(spec, "spec", "listenPort"), "spec.listenPort"),
        service_cluster_ips=_cidrs(spec, "spec", "serviceClusterIPs"),
        service_external_ips=_cidrs(spec, "spec", "serviceExternalIPs"),
        service_load_balancer_ips=_cidrs(spec, "spec", "serviceLoadBalancerIPs"),
        node_mesh_password=_secret(spec, "spec", "nodeMeshPassword"),
        node_mesh_max_restart_time=_duration(spec, "spec", "nodeMeshMaxRestartTime"),
    )


def peer_address(text: str, where: str) -> tuple[IPAddress, int | None]:
    """``10.0.0.1``, ``10.0.0.1:1790``, ``fd00::1`` or ``[fd00::1]:1790``."""
    text = text.strip()
    try:
        return ipaddress.ip_address(text), None
    except ValueError:
        pass
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([0-9.]+):(\d+)", text)
    if m is None:
        raise ConversionError("InvalidSpec", where, f"{text!r} is not an IP or IP:port")
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConversionError("InvalidSpec", where, f"{host!r} is not an IP address") from None
    return address, _port(int(port), where)


def from_bgp_peer(obj: Obj) -> BgpPeer:
    """A BGPPeer; raises ConversionError."""
    meta = ObjectMeta.of(obj)
    spec = section(obj, "spec")
    node = string(spec, "spec", "node") or ""
    node_selector = string(spec, "spec", "nodeSelector") or ""
    if node and node_selector:
        raise ConversionError("InvalidSpec", "spec.nodeSelector", "cannot be set with spec.node")
    peer_text = string(spec, "spec", "peerIP")
    peer_selector = string(spec, "spec", "peerSelector") or ""
    if peer_text and peer_selector:
        raise ConversionError("InvalidSpec", "spec.peerSelector", "cannot be set with peerIP")
    peer_ip, peer_port = peer_address(peer_text, "spec.peerIP") if peer_text else (None, None)
    source = string(spec, "spec", "sourceAddress") or "UseNodeIP"
    if source not in ("UseNodeIP", "None"):
        raise ConversionError("InvalidSpec", "spec.sourceAddress", f"{source!r}: UseNodeIP or None")
    ttl = integer(spec, "spec", "ttlSecurity")
    if ttl is not None and not 0 <= ttl <= 255:
        raise ConversionError("InvalidSpec", "spec.ttlSecurity", f"{ttl} is not a hop count")
    return BgpPeer(
        name=meta.name,
        node=node,
        node_selector=node_selector,
        peer_ip=peer_ip,
        peer_port=peer_port,
        as_number=_asn(spec, "spec"),
        peer_selector=peer_selector,
        password=_secret(spec, "spec", "password"),
        keep_original_next_hop=bool(_bool(spec, "spec", "keepOriginalNextHop")),
        max_restart_time=_duration(spec, "spec", "maxRestartTime"),
        source_address_node_ip=source == "UseNodeIP",
        ttl_security=ttl or None,
    )
