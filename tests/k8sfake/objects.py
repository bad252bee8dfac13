"""Builders of Kubernetes objects as the API server would hold them (plain JSON dicts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.k8sfake import FakeKubeApi, ResourceType, resource_from_crd

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "networks.vppnet.io.yaml"


def vppnet_networks_resource() -> ResourceType:
    """vppnet's Network CRD, loaded from the manifest shipped in crds/ (schema included)."""
    return resource_from_crd(yaml.safe_load(CRD_FILE.read_text()))


def network(
    name: str, vni: int, ipv4: str | None = None, ipv6: str | None = None, **spec: Any
) -> Obj:
    body: Obj = {"vni": vni, **spec}
    if ipv4:
        body["ipv4Range"] = ipv4
    if ipv6:
        body["ipv6Range"] = ipv6
    return {"metadata": {"name": name}, "spec": body}


def calico_vpp_network(name: str, vni: int, cidr: str, namespace: str = "default") -> Obj:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"vni": vni, "range": cidr, "physicalNetworkName": ""},
    }


def nad(name: str, network_name: str | None, namespace: str = "default") -> Obj:
    plugin: Obj = {
        "type": "calico",
        "ipam": {"type": "whereabouts", "range": "172.19.0.0/16"},
    }
    if network_name is not None:
        plugin["dataplane_options"] = {
            "type": "grpc",
            "socket": "unix:///var/run/calico/cni-server.sock",
            "network_name": network_name,
        }
    config = {"cniVersion": "0.3.1", "name": f"{name}-net", "plugins": [plugin]}
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"config": json.dumps(config)},
    }


def node(
    name: str,
    ipv4: str | None = None,
    ipv6: str | None = None,
    internal_ip: str | None = None,
    annotations: dict[str, str] | None = None,
    pod_cidrs: tuple[str, ...] = (),
) -> Obj:
    notes = dict(annotations or {})
    if ipv4:
        notes["projectcalico.org/IPv4Address"] = ipv4
    if ipv6:
        notes["projectcalico.org/IPv6Address"] = ipv6
    obj: Obj = {
        "metadata": {"name": name, "annotations": notes},
        "spec": {"podCIDRs": list(pod_cidrs)} if pod_cidrs else {},
        "status": {},
    }
    if internal_ip:
        obj["status"]["addresses"] = [{"type": "InternalIP", "address": internal_ip}]
    return obj


def pod(
    name: str,
    node_name: str,
    namespace: str = "default",
    annotations: dict[str, str] | None = None,
    ip: str | None = None,
) -> Obj:
    obj: Obj = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": annotations or {},
            "labels": {"app": name},
        },
        "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]},
        "status": {},
    }
    if ip:
        obj["status"]["podIPs"] = [{"ip": ip}]
    return obj


def install_vppnet(api: FakeKubeApi) -> ResourceType:
    resource = vppnet_networks_resource()
    api.install(resource)
    return resource
