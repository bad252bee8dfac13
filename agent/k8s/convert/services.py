"""Kubernetes Services and EndpointSlices (discovery.k8s.io/v1) -> the model's services.

A Service's spec and its slices arrive separately (one watch each); they are joined
by the slice's ``kubernetes.io/service-name`` label. The converters read one object
each and skip the smallest bad part, saying why: a port with number 0 or an unknown
protocol loses that port, an unparseable address loses that address, and the rest of
the object is used. Only an object without a name is refused whole. ExternalName
services proxy nothing and convert to None.

calico-vpp's service annotations are honoured: ``cni.projectcalico.org/vppLBType``
(``ecmp``, ``maglev``, ``maglevdsr``; vppnet defaults to ``maglev``),
``cni.projectcalico.org/vppHashConfig`` and ``extensions.projectcalico.org/network``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any, Final

from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta, section
from agent.model import (
    DEFAULT_NETWORK,
    DEFAULT_SESSION_AFFINITY_TIMEOUT,
    EndpointPort,
    IPAddress,
    L4Protocol,
    LbType,
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)

SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"
LB_TYPE: Final = "cni.projectcalico.org/vppLBType"
HASH_CONFIG: Final = "cni.projectcalico.org/vppHashConfig"
NETWORK: Final = "extensions.projectcalico.org/network"
HASH_WORDS: Final = ("srcport", "dstport", "srcaddr", "dstaddr", "iproto", "reverse", "symmetric")


@dataclass(frozen=True, slots=True)
class Problem:
    """One skipped part of an object: an Event reason (CamelCase) and a message."""

    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """A Service without its endpoints (they come from the slices)."""

    service: Service
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class SliceInfo:
    service: ServiceKey | None  # None: the slice names no service
    endpoints: tuple[ServiceEndpoint, ...]
    problems: tuple[Problem, ...] = ()


def _port_number(value: Any, where: str, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        problems.append(Problem("InvalidPort", f"{where}: {value!r} is not a port (1-65535)"))
        return None
    return value


def _protocol(value: Any, where: str, problems: list[Problem]) -> L4Protocol | None:
    text = "TCP" if value is None else value
    try:
        return L4Protocol(text)
    except ValueError:
        problems.append(
            Problem("UnsupportedProtocol", f"{where}: protocol {text!r} is not TCP, UDP or SCTP")
        )
        return None


def _address(text: Any, where: str, problems: list[Problem]) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        problems.append(Problem("InvalidAddress", f"{where}: {text!r} is not an IP address"))
        return None


def _list(value: Any, where: str, problems: list[Problem]) -> list[Any]:
    """A list field; anything else (a number, an object) is a problem, read as empty."""
    if value is None or isinstance(value, list):
        return value or []
    problems.append(Problem("InvalidSpec", f"{where}: must be a list, not {value!r}"))
    return []


def _addresses(values: Any, where: str, problems: list[Problem]) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for i, text in enumerate(values if isinstance(values, list) else []):
        if text in (None, "", "None"):
            continue
        address = _address(text, f"{where}[{i}]", problems)
        if address is not None:
            out.append(address)
    return tuple(dict.fromkeys(out))


def _service_port(i: int, data: Any, problems: list[Problem]) -> ServicePort | None:
    where = f"spec.ports[{i}]"
    if not isinstance(data, dict):
        problems.append(Problem("InvalidPort", f"{where}: must be an object"))
        return None
    port = _port_number(data.get("port"), f"{where}.port", problems)
    protocol = _protocol(data.get("protocol"), f"{where}.protocol", problems)
    if port is None or protocol is None:
        return None
    target: int | str = port
    raw = data.get("targetPort")
    if isinstance(raw, str) and raw and not (raw.isascii() and raw.isdigit()):
        target = raw
    elif raw not in (None, "", 0):
        number = int(raw) if isinstance(raw, str) else raw
        checked = _port_number(number, f"{where}.targetPort", problems)
        if checked is None:
            return None
        target = checked
    node_port = None
    if data.get("nodePort") not in (None, 0):
        node_port = _port_number(data.get("nodePort"), f"{where}.nodePort", problems)
        if node_port is None:
            return None
    return ServicePort(port, target, protocol, str(data.get("name") or ""), node_port)


def _annotations(meta: ObjectMeta, problems: list[Problem]) -> dict[str, Any]:
    out: dict[str, Any] = {"lb_type": LbType.MAGLEV}
    text = meta.annotations.get(LB_TYPE)
    if text is not None:
        try:
            out["lb_type"] = LbType(text.strip().lower())
        except ValueError:
            problems.append(
                Problem(
                    "InvalidAnnotation", f"{LB_TYPE}: {text!r} is not ecmp, maglev or maglevdsr"
                )
            )
    words = [w.strip() for w in meta.annotations.get(HASH_CONFIG, "").split(",") if w.strip()]
    unknown = [w for w in words if w not in HASH_WORDS]
    if unknown:
        problems.append(
            Problem("InvalidAnnotation", f"{HASH_CONFIG}: unknown field(s) {', '.join(unknown)}")
        )
    out["hash_fields"] = tuple(w for w in words if w in HASH_WORDS)
    network = meta.annotations.get(NETWORK, "").strip()
    out["network"] = network or DEFAULT_NETWORK
    return out


def _policy(spec: Obj, key: str, problems: list[Problem]) -> TrafficPolicy:
    value = spec.get(key)
    if value in (None, "Cluster", "Global"):  # "Global": the pre-1.24 spelling of Cluster
        return TrafficPolicy.CLUSTER
    if value == "Local":
        return TrafficPolicy.LOCAL
    problems.append(Problem("InvalidSpec", f"spec.{key}: {value!r} is not Cluster or Local"))
    return TrafficPolicy.CLUSTER


def _affinity(spec: Obj, problems: list[Problem]) -> tuple[SessionAffinity, int]:
    if spec.get("sessionAffinity") != "ClientIP":
        return SessionAffinity.NONE, DEFAULT_SESSION_AFFINITY_TIMEOUT
    config = spec.get("sessionAffinityConfig")
    client = config.get("clientIP") if isinstance(config, dict) else None
    timeout = client.get("timeoutSeconds") if isinstance(client, dict) else None
    if timeout is None:
        return SessionAffinity.CLIENT_IP, DEFAULT_SESSION_AFFINITY_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= 86400:
        problems.append(
            Problem(
                "InvalidSpec",
                f"spec.sessionAffinityConfig.clientIP.timeoutSeconds: {timeout!r} is not 1-86400",
            )
        )
        return SessionAffinity.CLIENT_IP, DEFAULT_SESSION_AFFINITY_TIMEOUT
    return SessionAffinity.CLIENT_IP, timeout


def service_from_k8s(obj: Obj) -> ServiceInfo | None:
    """A Service without endpoints; None for ExternalName. Raises ConversionError only for
    an object without a name or with a spec that is not an object."""
    meta = ObjectMeta.of(obj)
    spec = section(obj, "spec")
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        return None
    problems: list[Problem] = []
    try:
        service_type = ServiceType(kind)
    except ValueError:
        problems.append(Problem("InvalidSpec", f"spec.type: {kind!r} is not a service type"))
        service_type = ServiceType.CLUSTER_IP
    headless = spec.get("clusterIP") == "None"
    cluster_ips = (
        ()
        if headless
        else _addresses(
            spec.get("clusterIPs") or [spec.get("clusterIP")], "spec.clusterIPs", problems
        )
    )
    ingress = section(obj, "status").get("loadBalancer")
    entries = ingress.get("ingress") if isinstance(ingress, dict) else None
    # an ingress in "Proxy" mode is reached through the load balancer, not on the node
    lb_texts = [
        e.get("ip")
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and e.get("ip") and e.get("ipMode") != "Proxy"
    ]
    ports = [
        _service_port(i, p, problems)
        for i, p in enumerate(_list(spec.get("ports"), "spec.ports", problems))
    ]
    affinity, timeout = _affinity(spec, problems)
    service = Service(
        namespace=meta.namespace or "default",
        name=meta.name,
        service_type=service_type,
        cluster_ips=cluster_ips,
        external_ips=_addresses(spec.get("externalIPs"), "spec.externalIPs", problems),
        load_balancer_ips=_addresses(lb_texts, "status.loadBalancer.ingress", problems),
        ports=tuple(p for p in ports if p is not None),
        session_affinity=affinity,
        session_affinity_timeout=timeout,
        external_traffic_policy=_policy(spec, "externalTrafficPolicy", problems),
        internal_traffic_policy=_policy(spec, "internalTrafficPolicy", problems),
        headless=headless,
        created=meta.created,
        **_annotations(meta, problems),
    )
    return ServiceInfo(service, tuple(problems))


def _conditions(data: Obj) -> tuple[bool, bool, bool]:
    """EndpointConditions; nil ready/serving mean ready, nil terminating means not."""
    conditions = data.get("conditions")
    c = conditions if isinstance(conditions, dict) else {}
    ready = c.get("ready") is not False
    serving = c.get("serving") is not False if c.get("serving") is not None else ready
    return ready, serving, c.get("terminating") is True


def _endpoint_ports(obj: Obj, problems: list[Problem]) -> tuple[EndpointPort, ...]:
    out: list[EndpointPort] = []
    for i, data in enumerate(_list(obj.get("ports"), "ports", problems)):
        if not isinstance(data, dict) or data.get("port") is None:
            continue  # a nil port means "all ports": nothing to translate to
        port = _port_number(data.get("port"), f"ports[{i}].port", problems)
        protocol = _protocol(data.get("protocol"), f"ports[{i}].protocol", problems)
        if port is not None and protocol is not None:
            out.append(EndpointPort(port, protocol, str(data.get("name") or "")))
    return tuple(out)


def slice_from_k8s(obj: Obj) -> SliceInfo:
    """An EndpointSlice's endpoints, each with the slice's ports; FQDN slices have none."""
    meta = ObjectMeta.of(obj)
    name = meta.labels.get(SERVICE_NAME_LABEL)
    service = ServiceKey(meta.namespace or "default", name) if name else None
    address_type = obj.get("addressType")
    if address_type not in ("IPv4", "IPv6"):
        return SliceInfo(service, ())
    version = 4 if address_type == "IPv4" else 6
    problems: list[Problem] = []
    ports = _endpoint_ports(obj, problems)
    endpoints: list[ServiceEndpoint] = []
    for i, data in enumerate(_list(obj.get("endpoints"), "endpoints", problems)):
        if not isinstance(data, dict):
            continue
        where = f"endpoints[{i}].addresses"
        addresses = _addresses(data.get("addresses"), where, problems)
        wrong = [a for a in addresses if a.version != version]
        for address in wrong:
            problems.append(Problem("InvalidAddress", f"{where}: {address} is not {address_type}"))
        addresses = tuple(a for a in addresses if a.version == version)
        if not addresses:
            continue
        ready, serving, terminating = _conditions(data)
        hints = data.get("hints")
        zones = hints.get("forZones") if isinstance(hints, dict) else None
        endpoints.append(
            ServiceEndpoint(
                addresses=addresses,
                ports=ports,
                node=str(data["nodeName"]) if data.get("nodeName") else None,
                ready=ready,
                serving=serving,
                terminating=terminating,
                zone_hints=tuple(
                    str(z["name"])
                    for z in (zones if isinstance(zones, list) else [])
                    if isinstance(z, dict) and z.get("name")
                ),
            )
        )
    return SliceInfo(service, tuple(endpoints), tuple(problems))


def with_endpoints(info: ServiceInfo, endpoints: tuple[ServiceEndpoint, ...]) -> Service:
    return replace(info.service, endpoints=endpoints)


__all__ = [
    "ConversionError",
    "Problem",
    "ServiceInfo",
    "SliceInfo",
    "service_from_k8s",
    "slice_from_k8s",
    "with_endpoints",
]
