"""Kubernetes Service and EndpointSlice objects (JSON dicts) as the API server serves them."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def service(
    name: str,
    cluster_ips: list[str] | None = None,
    ports: list[Obj] | None = None,
    *,
    namespace: str = "default",
    type: str = "ClusterIP",
    annotations: dict[str, str] | None = None,
    ingress: list[Obj] | None = None,
    **spec: Any,
) -> Obj:
    ips = cluster_ips if cluster_ips is not None else ["10.96.0.10"]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {
            "type": type,
            "clusterIP": ips[0] if ips else "None",
            "clusterIPs": ips,
            "ports": ports if ports is not None else [port(80, 8080)],
            **spec,
        },
    }
    if ingress is not None:
        obj["status"] = {"loadBalancer": {"ingress": ingress}}
    return obj


def port(
    number: int,
    target: int | str | None = None,
    protocol: str = "TCP",
    name: str = "",
    node_port: int | None = None,
) -> Obj:
    out: Obj = {"port": number, "protocol": protocol}
    if name:
        out["name"] = name
    if target is not None:
        out["targetPort"] = target
    if node_port is not None:
        out["nodePort"] = node_port
    return out


def endpoint(
    *addresses: str,
    node: str | None = "a",
    ready: bool | None = True,
    serving: bool | None = None,
    terminating: bool | None = None,
    zones: list[str] | None = None,
) -> Obj:
    conditions: Obj = {}
    for key, value in (("ready", ready), ("serving", serving), ("terminating", terminating)):
        if value is not None:
            conditions[key] = value
    out: Obj = {"addresses": list(addresses), "conditions": conditions}
    if node is not None:
        out["nodeName"] = node
    if zones is not None:
        out["hints"] = {"forZones": [{"name": z} for z in zones]}
    return out


def endpoint_slice(
    name: str,
    service_name: str,
    endpoints: list[Obj],
    ports: list[Obj] | None = None,
    *,
    namespace: str = "default",
    address_type: str = "IPv4",
) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": ports if ports is not None else [{"name": "", "port": 8080, "protocol": "TCP"}],
    }
