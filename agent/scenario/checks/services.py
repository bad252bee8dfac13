"""Services: the consistency Kubernetes' API server would enforce before we see them."""

from __future__ import annotations

from agent.scenario import defaults
from agent.scenario.errors import Loc, Problems
from agent.scenario.schema import ScenarioSpec, ServiceSpec


def check_services(spec: ScenarioSpec, problems: Problems) -> None:
    frontends: dict[tuple[str, object], str] = {}
    for i, service in enumerate(spec.services):
        loc: Loc = ("services", i)
        _check_service(service, loc, problems)
        for k, ip in enumerate(service.cluster_ips):
            owner = frontends.setdefault(
                (service.network, ip), f"{service.namespace}/{service.name}"
            )
            if owner != f"{service.namespace}/{service.name}":
                problems.add(
                    (*loc, "clusterIPs", k), f"cluster IP {ip} is already used by service {owner}"
                )


def _check_service(service: ServiceSpec, loc: Loc, problems: Problems) -> None:
    external = service.service_type in ("NodePort", "LoadBalancer")
    for j, port in enumerate(service.ports):
        if external and port.node_port is None:
            problems.add(
                (*loc, "ports", j, "nodePort"), f"required for a {service.service_type} service"
            )
        elif not external and port.node_port is not None:
            problems.add(
                (*loc, "ports", j, "nodePort"),
                "only NodePort and LoadBalancer services have node ports",
            )
    if service.load_balancer_ips and service.service_type != "LoadBalancer":
        problems.add((*loc, "loadBalancerIPs"), "only LoadBalancer services have load-balancer IPs")
    if service.session_affinity_timeout is not None and service.session_affinity != "ClientIP":
        problems.add((*loc, "sessionAffinityTimeout"), "needs sessionAffinity ClientIP")
    if len({ip.version for ip in service.cluster_ips}) < len(service.cluster_ips):
        problems.add((*loc, "clusterIPs"), "a service has at most one cluster IP per family")
    port_keys = {(port.name, port.protocol) for port in service.ports}
    named_targets = [p for p in service.ports if isinstance(defaults.target_port(p), str)]
    for j, endpoint in enumerate(service.endpoints):
        eloc: Loc = (*loc, "endpoints", j)
        if endpoint.serving is False and endpoint.ready:
            problems.add((*eloc, "serving"), "a ready endpoint is serving")
        if endpoint.ports is None:
            for port in named_targets:
                problems.add(
                    (*eloc, "ports"),
                    f"required: service port {port.name!r} "
                    f"targets the named port {port.target_port!r}",
                )
            continue
        for k, endpoint_port in enumerate(endpoint.ports):
            if (endpoint_port.name, endpoint_port.protocol) not in port_keys:
                problems.add(
                    (*eloc, "ports", k, "name"),
                    f"no {endpoint_port.protocol} service port named {endpoint_port.name!r}",
                )
