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

import plugins
from agent import netns, show
from agent.bgp.errors import BgpError
from agent.cni import CniServer, CniSettings, ServerThread, add_pods
from agent.config import AgentConfig, ConfigError, load_config
from agent.dataplane import Dataplane
from agent.explain_policy import ExplainError, explain_command
from agent.explain_service import ServicePacket, explain_service
from agent.manager import entry as manager_entry
from agent.model import ClusterModel
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


def cmd_plan(args: argparse.Namespace, *, apply: bool = False) -> int:
    cfg = _config(args)
    model = load_scenario(args.scenario)
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        reconciler = Reconciler(conn, cfg.index_path)
        plan = reconciler.plan(_desired(cfg, model), refresh=True)
        if not apply:
            print(json.dumps(plan.to_json(), indent=2) if args.json else plan.render())
            return 0
        report = reconciler.apply(plan)
        if args.json:
            print(json.dumps({"plan": plan.to_json(), "failed": len(report.failed)}, indent=2))
        else:
            print(plan.render())
            print(report.render())
        return 0 if report.ok else 1


def cmd_show(args: argparse.Namespace) -> int:
    cfg = _config(args)
    sections = list(show.SECTIONS) if args.what == "all" else [args.what]
    with _connect(cfg, args.socket, wait=args.wait) as conn:
        print(show.as_json(conn, sections) if args.json else show.as_text(conn, sections))
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
        print(explain_service(conn, packet).render())
    return 0


def cmd_explain_policy(args: argparse.Namespace) -> int:
    cfg = _config(args)
    print(explain_command(cfg.index_path, args.target, args.direction, args.packet))
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
            before = sim.mutations
            print("\n--- 5. a full re-read of VPP and re-plan: nothing to do ---")
            again = dataplane.resync()
            print(again.plan.render())
            print(f"VPP mutations on the second run: {sim.mutations - before}")
            ok = base.report.ok and again.plan.empty and all(r.successful for _, r in replies)
            return 0 if ok else 1


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

    for name, helptext, apply in (
        ("plan", "print what would change in VPP (changes nothing)", False),
        ("apply", "make VPP match the scenario", True),
    ):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--scenario", required=True, help="scenario file (YAML)")
        sp.add_argument("--state-dir", help="where the ownership index lives")
        vpp_args(sp)
        sp.set_defaults(func=lambda a, apply=apply: cmd_plan(a, apply=apply))

    sh = sub.add_parser("show", help="read VPP state through its dumps")
    sh.add_argument("what", nargs="?", default="interfaces", choices=[*show.SECTIONS, "all"])
    vpp_args(sh)
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
    ep = exs.add_parser("policy", help="which policy rule decides a packet at a pod interface")
    ep.add_argument("target", help="namespace/pod/interface, e.g. default/web-0/eth0")
    ep.add_argument("direction", choices=["ingress", "egress"])
    ep.add_argument("packet", help='"<proto> <src>[:port] <dst>[:port] [type/code]"')
    ep.add_argument("--config", help="agent config file (YAML)")
    ep.add_argument("--state-dir", help="the agent's state directory (its ownership index)")
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
    ) as e:
        print(f"vppnet {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
