"""The ``vppnet`` command: agent | manager | sim | plan | apply | show | explain | demo.

Every command turns bad input (a scenario with errors, an unreachable or
incompatible VPP) into one clear message on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import plugins
from agent import netns, show
from agent.bgp.errors import BgpError
from agent.cni import CniServer, CniSettings, ServerThread, add_pods
from agent.config import AgentConfig, ConfigError, load_config
from agent.control import client as control
from agent.control import text as control_text
from agent.control.explain import explain_policy, index_records
from agent.control.output import use_colour
from agent.control.protocol import ControlError
from agent.dataplane import Dataplane
from agent.explain_policy import ExplainError
from agent.explain_service import ServicePacket, ServiceView, explain_service
from agent.manager import entry as manager_entry
from agent.model import ClusterModel, PolicyAssignment, WorkloadEndpoint
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.runtime import AgentRuntime
from agent.scenario import ScenarioError, load_scenario
from agent.state import ClusterState
from agent.telemetry.logs import configure_logging
from agent.vpp import VppConnection, VppError
from agent.vppobjects import VppObject
from agent.vppsim import Simulator, serve_forever

log = logging.getLogger("vppnet")

EXAMPLE = "examples/cluster.yaml"


def _connect(cfg: AgentConfig, socket: str | None, wait: float | None = None) -> VppConnection:
    conn = VppConnection(
        socket or cfg.vpp.socket,
        api_dir=cfg.vpp.api_dir,
        timeout=cfg.vpp.timeout,
        window=cfg.vpp.pipeline_window,
    )
    conn.connect(wait=cfg.vpp.connect_wait if wait is None else wait, check=REQUIRED_MESSAGES)
    return conn


def _config(args: argparse.Namespace) -> AgentConfig:
    cfg = load_config(args.config)
    if getattr(args, "state_dir", None):
        cfg = cfg.model_copy(update={"state_dir": args.state_dir})
    return cfg


def _render(cfg: AgentConfig) -> Callable[[ClusterModel], dict[str, VppObject]]:
    defaults = plugins.pods.PodDefaults(gso=cfg.pods.gso, csum_offload=cfg.pods.csum_offload)
    return lambda model: plugins.render(model, defaults)


def _desired(cfg: AgentConfig, model: ClusterModel) -> dict[str, VppObject]:
    return _render(cfg)(model)


def cmd_agent(args: argparse.Namespace) -> int:
    cfg = _config(args)
    configure_logging(cfg.logging, verbose=args.verbose)
    node = args.node or cfg.node_name or os.environ.get("NODENAME")
    if not node:
        raise ConfigError("no node name: set node_name in the config, NODENAME, or --node")
    kube_client = _kube_client(cfg) if cfg.kubernetes is not None else None
    runtime = AgentRuntime(cfg, node, kube_client=kube_client)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await runtime.run(stop)

    return asyncio.run(main())


def _kube_client(cfg: AgentConfig) -> object:
    from kubernetes import client, config

    if cfg.kubeconfig:
        config.load_kube_config(config_file=cfg.kubeconfig)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


def cmd_sim(args: argparse.Namespace) -> int:
    serve_forever(
        args.socket,
        vhost_net=not args.no_vhost_net,
        devices=args.devices,
        stats_socket=args.stats_socket,
    )
    return 0


def _colour() -> bool:
    return use_colour(sys.stdout)


def _control_path(args: argparse.Namespace) -> str:
    return str(args.control or _config(args).control.socket)


def _ask(args: argparse.Namespace, request: str, **fields: str) -> Any:
    return control.request(_control_path(args), request, fields)


def _ask_dict(args: argparse.Namespace, request: str, **fields: str) -> dict[str, Any]:
    answer = _ask(args, request, **fields)
    if not isinstance(answer, dict):
        raise ControlError(f"{request}: the agent's answer is not an object: {answer!r:.200}")
    return answer


def cmd_plan(args: argparse.Namespace, *, apply: bool = False) -> int:
    if getattr(args, "live", False):
        return cmd_plan_live(args)
    cfg = _config(args)
    model = load_scenario(args.scenario)
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        reconciler = Reconciler(conn, cfg.index_path)
        plan = reconciler.plan(_desired(cfg, model), refresh=True)
        if not apply:
            text = control_text.plan(plan.render(), _colour())
            print(json.dumps(plan.to_json(), indent=2) if args.json else text)
            return 0
        report = reconciler.apply(plan)
        if args.json:
            print(json.dumps({"plan": plan.to_json(), "failed": len(report.failed)}, indent=2))
        else:
            print(plan.render())
            print(report.render())
        return 0 if report.ok else 1


def cmd_plan_live(args: argparse.Namespace) -> int:
    """The running agent's drift: its desired state against a fresh read of VPP.

    Exit 1 when VPP differs (what the next resync would repair), 0 when it matches.
    """
    view = _ask_dict(args, "drift")
    if args.json:
        print(json.dumps({"drift": view["drift"], **view["plan"]}, indent=2))
    else:
        print(control_text.drift(view, _colour()))
    return 1 if view["drift"] else 0


def cmd_show(args: argparse.Namespace) -> int:
    if args.kind and args.what not in ("desired", "policies"):
        raise ConfigError(f"--kind: only 'desired' and 'policies' have kinds, not {args.what!r}")
    if args.what in control_text.SECTIONS:
        view = _ask(args, args.what)
        if args.kind and isinstance(view, list):
            kinds = {k.lower() for k in args.kind}
            view = [o for o in view if str(o.get("kind", "")).lower() in kinds]
        if args.json:
            print(json.dumps({args.what: view}, indent=2))
        else:
            print(control_text.section(args.what, view, _colour()))
        return 0
    cfg = _config(args)
    sections = list(show.SECTIONS) if args.what == "all" else [args.what]
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        if args.json:
            print(show.as_json(conn, sections))
        else:
            print(show.as_text(conn, sections, _colour()))
    return 0


def cmd_explain_service(args: argparse.Namespace) -> int:
    cfg = _config(args)
    try:
        packet = ServicePacket(
            vip=ipaddress.ip_address(args.vip),
            port=args.port,
            protocol=args.protocol.upper(),
            table=args.table,
            source=ipaddress.ip_address(args.source) if args.source else None,
        )
    except ValueError as e:
        raise ExplainError(f"explain service: {e}") from None
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        explanation = explain_service(conn, packet)
    if args.json:
        print(json.dumps({**show.plain(explanation), "text": explanation.render()}, indent=2))
    else:
        print(explanation.render())
    return 0


def cmd_explain_route(args: argparse.Namespace) -> int:
    """Where VPP's FIB sends a packet to an address, read from VPP (lookups followed)."""
    cfg = _config(args)
    try:
        address = ipaddress.ip_address(args.address)
    except ValueError:
        raise ExplainError(f"explain route: {args.address!r} is not an IP address") from None
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        kind, via = ServiceView.read(conn).lookup(args.table, address)
    view = {"address": str(address), "table": args.table, "result": kind, "via": via}
    if args.json:
        print(json.dumps(view, indent=2))
    else:
        print(f"packet to {address} in table {args.table}: {kind}: {via}")
    return 0


def cmd_explain_policy(args: argparse.Namespace) -> int:
    """From the running agent (its npol records and its model: Calico's verdict beside
    VPP's), or with --state-dir from an ownership index on disk (VPP's verdict only)."""
    if args.state_dir:
        records = index_records(_config(args).index_path)
        view = explain_policy(records, args.target, args.direction, args.packet)
    else:
        fields = {"target": args.target, "direction": args.direction, "packet": args.packet}
        view = _ask_dict(args, "explain-policy", **fields)
    if args.json:
        print(json.dumps(view, indent=2))
    else:
        print(control_text.explanation(view, _colour()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    scenario = Path(args.scenario or _example_path())
    model = load_scenario(scenario)
    print(f"vppnet demo: scenario {scenario}, local node {model.local_node_name}")
    created: list[str] = []
    names = sorted({n for p in model.pod_interfaces.values() if (n := netns.named(p.netns))})
    if netns.can_manage():
        created = [n for n in names if netns.ensure(n)]
    else:
        print("not root: pod network namespaces and tun devices are simulated, not created")
    try:
        with tempfile.TemporaryDirectory(prefix="vppnet-demo-") as tmp:
            return _demo_run(model, Path(tmp), names)
    finally:
        for name in created:
            netns.remove(name)


def _demo_run(model: ClusterModel, tmp: Path, names: list[str]) -> int:
    cni = CniSettings(socket=str(tmp / "cni.sock"), state_file=str(tmp / "cni-state.json"))
    cfg = AgentConfig(state_dir=str(tmp / "state"), cni=cni)
    socket = tmp / "api.sock"
    with Simulator(socket, devices="auto") as sim, _connect(cfg, str(socket), wait=5) as conn:
        assert conn.version is not None
        print(f"embedded VPP simulator {conn.version.version} on {socket}\n")
        # Nodes, pools and networks come from the scenario, as Felix and Kubernetes would
        # deliver them; the pods come through Calico's CNI gRPC path, as kubelet would.
        state = ClusterState(replace(model, pod_interfaces={}))
        dataplane = Dataplane(state, Reconciler(conn, cfg.index_path), _render(cfg))
        print("--- 1. the cluster without pods: routes to the other nodes, networks ---")
        base = dataplane.resync()
        print(base.plan.render())
        print(f"\n--- 2. CNI ADD of {len(model.pod_interfaces)} pod interfaces over gRPC ---")
        # The simulated VPP has a working tap driver, whatever this kernel offers.
        server = CniServer(state, dataplane, cni, vhost_net=True)
        with ServerThread(server):
            pods = [model.pod_interfaces[k] for k in sorted(model.pod_interfaces)]
            replies = add_pods(cni.socket, pods, encap_overhead=cni.encap_overhead)
            for pod, reply in replies:
                result = "ok" if reply.successful else f"FAILED: {reply.error_message}"
                print(f"  {pod.key} ({pod.interface_type.value}): {result}")
            print("\n--- 2b. Felix's workload endpoints: the pods' policies ---")
            policed = {
                k: WorkloadEndpoint(k, p.policy, addresses=p.addresses)
                for k, p in model.pod_interfaces.items()
                if p.policy != PolicyAssignment()
            }
            state.update(
                lambda m: replace(m, workload_endpoints={**m.workload_endpoints, **policed}),
                "felix",
            )
            print(dataplane.converge("felix").plan.render())
            print("\n--- 3. VPP state (read back through dumps) ---")
            print(show.as_text(conn, ["interfaces", "tables", "routes", "taps"]))
            if netns.can_manage() and names:
                print("\n--- 4. pod network namespaces (read with netlink) ---")
                for name in names:
                    for link in netns.links(name):
                        if link["name"] != "lo":
                            print(
                                f"  {name}: {link['name']} mtu {link['mtu']} {link['state']} "
                                f"{' '.join(link['addresses'])}"
                            )
            _demo_explain(conn, state.model, cfg.index_path)
            before = sim.mutations
            print("\n--- 5. a full re-read of VPP and re-plan: nothing to do ---")
            again = dataplane.resync()
            print(again.plan.render())
            print(f"VPP mutations on the second run: {sim.mutations - before}")
            ok = base.report.ok and again.plan.empty and all(r.successful for _, r in replies)
            return 0 if ok else 1


def _demo_explain(conn: VppConnection, model: ClusterModel, index_path: Path) -> None:
    """Services and policy as programmed: cnat's translations, then one packet each
    through a service and through a pod's policy, answered from VPP and the index."""
    print("\n--- 4b. services and policy, read back from VPP and the ownership index ---")
    print(show.as_text(conn, ["cnat"]))
    service = next((s for s in model.services.values() if s.cluster_ips and s.ports), None)
    if service is not None:
        vip, port = service.cluster_ips[0], service.ports[0]
        packet = ServicePacket(vip, port.port, port.protocol.value)
        print(f"\n$ vppnet explain service {vip} {port.port}")
        print(explain_service(conn, packet).render())
    # a pod of the default network under an ingress policy, if the scenario has one
    guarded = [
        pod
        for _, pod in sorted(model.pod_interfaces.items())
        if pod.addresses
        and not pod.network
        and any(t.ingress_policies for t in model.policy_for(pod).tiers)
    ]
    if not guarded:
        return
    pod = guarded[0]
    target = f"{pod.key.namespace}/{pod.key.pod}/{pod.key.interface}"
    dst = pod.addresses[0].ip
    src = "10.244.2.5" if dst.version == 4 else "fd00:10:244:2::5"
    records = index_records(index_path)
    for what in (f"tcp {src}:40000 {dst}:8080", f"tcp {src}:40000 {dst}:22"):
        print(f'\n$ vppnet explain policy {target} ingress "{what}"')
        try:
            print(explain_policy(records, target, "ingress", what, model)["text"])
        except ExplainError as e:
            print(f"error: {e}")


def _example_path() -> str:
    if Path(EXAMPLE).exists():
        return EXAMPLE
    return str(Path(__file__).resolve().parent.parent / EXAMPLE)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vppnet", description="A VPP dataplane for Kubernetes.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    ag = sub.add_parser("agent", help="run the node agent (CNI server, Felix driver, watches)")
    ag.add_argument("--config", help="agent config file (YAML)")
    ag.add_argument("--node", help="this node's name (default: config node_name or NODENAME)")
    ag.add_argument("--state-dir", help="where the ownership index lives")
    ag.set_defaults(func=cmd_agent)

    m = sub.add_parser("manager", help="give the uplink to VPP and the host its connectivity back")
    manager_entry.add_arguments(m)
    m.set_defaults(func=manager_entry.command)

    s = sub.add_parser("sim", help="run the VPP API simulator on a unix socket")
    s.add_argument("--socket", required=True)
    s.add_argument(
        "--no-vhost-net",
        action="store_true",
        help="behave like a node without /dev/vhost-net (tap creation fails)",
    )
    s.add_argument("--devices", choices=["auto", "real", "record"], default="auto")
    s.add_argument("--stats-socket", help="also serve VPP's stats segment (interface counters)")
    s.set_defaults(func=cmd_sim)

    def vpp_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--socket", help="VPP API socket (default: from config)")
        sp.add_argument("--config", help="agent config file (YAML)")
        sp.add_argument(
            "--wait", type=float, default=0.0, help="seconds to wait for the socket to appear"
        )
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    def control_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--control", help="the running agent's control socket (default: from config)"
        )

    for name, helptext, apply in (
        ("plan", "print what would change in VPP (changes nothing)", False),
        ("apply", "make VPP match the scenario", True),
    ):
        sp = sub.add_parser(name, help=helptext)
        source = sp.add_mutually_exclusive_group(required=True)
        source.add_argument("--scenario", help="scenario file (YAML)")
        if not apply:
            source.add_argument(
                "--live",
                action="store_true",
                help="the running agent's drift (desired vs VPP now); exit 1 when VPP differs",
            )
            control_arg(sp)
        sp.add_argument("--state-dir", help="where the ownership index lives")
        vpp_args(sp)
        sp.set_defaults(func=lambda a, apply=apply: cmd_plan(a, apply=apply))

    sh = sub.add_parser(
        "show",
        help="the running agent's view (status, pods, networks, services, policies, desired) "
        "or VPP's state through its dumps (interfaces, routes, ...)",
    )
    sh.add_argument(
        "what",
        nargs="?",
        default="interfaces",
        choices=[*control_text.SECTIONS, *show.SECTIONS, "all"],
        help=f"agent views: {', '.join(control_text.SECTIONS)}; "
        f"VPP: {', '.join(show.SECTIONS)}, all",
    )
    vpp_args(sh)
    control_arg(sh)
    sh.add_argument(
        "--kind",
        action="append",
        help="desired, policies: only objects of this kind (Route, CnatTranslation, profile...)",
    )
    sh.set_defaults(func=cmd_show)

    ex = sub.add_parser("explain", help="where a packet goes in VPP, and why")
    exs = ex.add_subparsers(dest="what", required=True)
    es = exs.add_parser("service", help="what VPP's cnat does with a packet to a service")
    es.add_argument("vip", help="the service address the packet is sent to")
    es.add_argument("port", type=int, help="its destination port")
    es.add_argument("--protocol", default="TCP", choices=["TCP", "UDP", "SCTP", "tcp", "udp"])
    es.add_argument("--table", type=int, default=0, help="VRF of the client's interface")
    es.add_argument("--source", help="the client's address (for source-based rules)")
    vpp_args(es)
    es.set_defaults(func=cmd_explain_service)
    er = exs.add_parser("route", help="where VPP's FIB sends a packet to an address")
    er.add_argument("address", help="the destination address")
    er.add_argument("--table", type=int, default=0, help="VRF to look up in (vppnet show networks)")
    vpp_args(er)
    er.set_defaults(func=cmd_explain_route)
    ep = exs.add_parser("policy", help="which policy rule decides a packet at a pod interface")
    ep.add_argument("target", help="namespace/pod/interface, e.g. default/web-0/eth0")
    ep.add_argument("direction", choices=["ingress", "egress"])
    ep.add_argument("packet", help='"<proto> <src>[:port] <dst>[:port] [type/code]"')
    ep.add_argument("--config", help="agent config file (YAML)")
    ep.add_argument(
        "--state-dir",
        help="read this state directory's ownership index instead of asking the running agent",
    )
    ep.add_argument("--json", action="store_true", help="machine-readable output")
    control_arg(ep)
    ep.set_defaults(func=cmd_explain_policy)

    d = sub.add_parser("demo", help="the agent on an embedded simulator with a sample cluster")
    d.add_argument("--scenario", help=f"scenario file (default {EXAMPLE})")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except (
        ScenarioError,
        ConfigError,
        VppError,
        plugins.RenderError,
        ExplainError,
        BgpError,
        ControlError,
    ) as e:
        print(f"vppnet {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
