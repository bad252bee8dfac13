"""The install manifests (daemonset/), the images (images/) and what ties them to the code.

Offline and fast: every overlay is rendered by tests/manifests/kustomize.py (and, where
``kubectl`` is installed, checked against ``kubectl kustomize``), every object is
validated against the Kubernetes JSON schemas of kubernetes-validate, and the
manifests are held to the code: every key of the agent's and the manager's settings
is written out, the RBAC grants exactly what agent/k8s calls, the paths the containers
share are the paths the configs name, and the commands parse with vppnet's own CLI.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from kubernetes import client
from pydantic import BaseModel

from agent.cli import build_parser, cmd_agent
from agent.config import AgentConfig
from agent.k8s.bgpfeed import DEFAULT_SECRET_NAMESPACE
from agent.manager import entry as manager_entry
from agent.manager.config import ManagerSettings, parse_settings
from agent.runtime import AgentRuntime
from tests.manifests import dockerfile
from tests.manifests.kustomize import KustomizeError, build, load_documents, strategic_merge

ROOT = Path(__file__).resolve().parents[2]
DAEMONSET = ROOT / "daemonset"
OVERLAYS = ("default", "multinet", "dpdk")
CALICO = DAEMONSET / "calico"
# the oldest Kubernetes the manifests must suit, and the newest kubernetes-validate knows
K8S_VERSIONS = ("1.30", "1.37")
NAMESPACE = "vppnet-system"
SERVICE_ACCOUNT = "vppnet"
# Where Felix starts its external driver: the Tigera operator's fixed choice for
# linuxDataplane: VPP (host /var/lib/calico/felix-plugins, mounted in calico-node)
FELIX_PLUGINS_HOST = "/var/lib/calico/felix-plugins"
FELIX_DRIVER = "/usr/local/bin/felix-plugins/felix-api-proxy"
PROXY_IN_IMAGE = "/usr/local/bin/felix-proxy"

Obj = dict[str, Any]


@functools.cache
def rendered(overlay: str) -> tuple[Obj, ...]:
    return tuple(build(DAEMONSET / "overlays" / overlay))


def one(objects: tuple[Obj, ...], kind: str, name: str | None = None) -> Obj:
    found = [
        o
        for o in objects
        if o["kind"] == kind and (name is None or o["metadata"]["name"].startswith(name))
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    obj: Obj = found[0]
    return obj


def pod_spec(overlay: str) -> Obj:
    spec: Obj = one(rendered(overlay), "DaemonSet", "vppnet")["spec"]["template"]["spec"]
    return spec


def container(overlay: str, name: str) -> Obj:
    spec = pod_spec(overlay)
    found = [c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name]
    assert len(found) == 1
    c: Obj = found[0]
    return c


def config_data(overlay: str) -> dict[str, str]:
    data: dict[str, str] = one(rendered(overlay), "ConfigMap", "vppnet-config-")["data"]
    return data


def agent_config(overlay: str) -> AgentConfig:
    return AgentConfig.model_validate(yaml.safe_load(config_data(overlay)["config.yaml"]))


def manager_settings(overlay: str) -> ManagerSettings:
    return parse_settings(yaml.safe_load(config_data(overlay)["manager.yaml"]), overlay)


# --- rendering -------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_install(overlay: str) -> None:
    kinds = sorted(o["kind"] for o in rendered(overlay))
    for kind in (
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "DaemonSet",
    ):
        assert kind in kinds, f"{overlay}: no {kind}"
    for obj in rendered(overlay):
        scoped = obj["kind"] not in {
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        }
        assert (obj["metadata"].get("namespace") == NAMESPACE) == scoped, obj["metadata"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renderer_agrees_with_kubectl_kustomize(overlay: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(DAEMONSET / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    def key(o: Obj) -> tuple[str, str, str]:
        return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    theirs = {key(o): o for o in yaml.safe_load_all(out) if o}
    ours = {key(o): o for o in rendered(overlay)}
    assert sorted(ours) == sorted(theirs)
    for k, obj in ours.items():
        assert obj == theirs[k], f"{overlay}: {k} differs from kubectl kustomize"


def test_the_crd_is_the_one_in_crds() -> None:
    crd_file = load_documents(ROOT / "crds" / "networks.vppnet.io.yaml")
    for overlay in OVERLAYS:
        assert [one(rendered(overlay), "CustomResourceDefinition")] == crd_file


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("namePrefix: x-\nresources: []\n")
    with pytest.raises(KustomizeError, match="namePrefix"):
        build(tmp_path)
    with pytest.raises(KustomizeError, match=r"\$patch"):
        strategic_merge({"a": [1]}, {"a": {"$patch": "replace"}}, ())


# --- schemas ---------------------------------------------------------------------------


def validate(obj: Obj, version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.path)
        name = obj["metadata"]["name"]
        pytest.fail(f"{obj['kind']} {name} (Kubernetes {version}): {where}: {e.message}")


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    for obj in rendered(overlay):
        validate(obj, version)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_calico_side_objects_validate(version: str) -> None:
    for obj in load_documents(CALICO / "bgp-password-access.yaml"):
        validate(obj, version)
    # the manifest-install patches, applied to calico-node and calico-config as
    # calico.yaml ships them, still give valid objects
    node, config = calico_manifest_objects()
    validate(node, version)
    validate(config, version)


# --- the configuration files -----------------------------------------------------------


def unwrap(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model ``X`` of a field typed ``X`` or ``X | None``; None for anything
    else (lists of models, such as bgp.peers, have no keys to require when empty)."""
    candidates = [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        candidates = [a for a in typing.get_args(annotation) if a is not type(None)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def missing_keys(model: type[BaseModel], data: Any, where: str = "") -> list[str]:
    """Every field of ``model`` (recursively) that ``data`` does not write out."""
    if not isinstance(data, dict):
        return [where or "(document)"]
    missing = []
    for name, info in model.model_fields.items():
        key = f"{where}{name}"
        if name not in data:
            missing.append(key)
            continue
        inner = unwrap(info.annotation)
        if inner is not None and data[name] is not None:
            missing += missing_keys(inner, data[name], key + ".")
    return missing


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_config_writes_out_every_key(overlay: str) -> None:
    data = yaml.safe_load(config_data(overlay)["config.yaml"])
    assert missing_keys(AgentConfig, data) == [], "add them to every config.yaml in daemonset/"
    cfg = agent_config(overlay)
    # optional sections a real cluster uses are on (docs/install.md)
    assert cfg.kubernetes is not None and cfg.bgp is not None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manager_config_writes_out_every_key(overlay: str) -> None:
    data = yaml.safe_load(config_data(overlay)["manager.yaml"])
    assert missing_keys(ManagerSettings, data) == [], "add them to every manager.yaml"
    manager_settings(overlay)  # valid


def test_overlays_differ_where_they_say() -> None:
    base, multinet, dpdk = (agent_config(o) for o in OVERLAYS)
    assert base.kubernetes is not None and multinet.kubernetes is not None
    assert not base.kubernetes.calico_vpp_networks and multinet.kubernetes.calico_vpp_networks
    assert multinet.model_copy(update={"kubernetes": base.kubernetes}) == base
    m_base, m_dpdk = manager_settings("default"), manager_settings("dpdk")
    assert m_base.uplink.driver == "af_packet"
    assert m_dpdk.uplink.driver == "dpdk" and m_dpdk.memory.page_size == "hugepage"
    # the NAT plugin's VPP names follow the uplink driver (agent/manager/drivers.py)
    assert base.nat.uplink_interface == f"host-{m_base.uplink.interface}"
    assert dpdk.nat.uplink_interface == m_dpdk.uplink.interface
    hugepages = container("dpdk", "vpp")["resources"]["limits"]
    assert any(k.startswith("hugepages-") for k in hugepages)


# --- the DaemonSet against the code ----------------------------------------------------


def mounts(c: Obj) -> dict[str, Obj]:
    return {m["mountPath"]: m for m in c.get("volumeMounts", [])}


def volume(overlay: str, name: str) -> Obj:
    found = [v for v in pod_spec(overlay)["volumes"] if v["name"] == name]
    assert len(found) == 1, name
    v: Obj = found[0]
    return v


def mount_of(overlay: str, c: Obj, path: str) -> tuple[Obj, Obj]:
    """The mount (and its volume) that holds ``path`` in container ``c``."""
    best = max(
        (p for p in mounts(c) if path == p or path.startswith(p.rstrip("/") + "/")),
        key=len,
        default=None,
    )
    assert best is not None, f"{c['name']}: nothing mounted holds {path}"
    m = mounts(c)[best]
    return m, volume(overlay, m["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_commands_are_vppnet_commands(overlay: str) -> None:
    parser = build_parser()
    vpp = container(overlay, "vpp")["command"]
    args = parser.parse_args(vpp[1:])
    assert vpp[0] == "vppnet" and args.func is manager_entry.command
    _, vol = mount_of(overlay, container(overlay, "vpp"), args.config)
    assert vol["configMap"]["name"].startswith("vppnet-config-")
    assert Path(args.config).name in config_data(overlay)

    agent = container(overlay, "agent")
    assert agent["command"][0] == "vppnet" and "args" not in agent
    args = parser.parse_args(agent["command"][1:])
    assert args.func is cmd_agent
    # the ConfigMap file itself: the same on every node, the node's name from NODENAME
    _, vol = mount_of(overlay, agent, args.config)
    assert vol["configMap"]["name"].startswith("vppnet-config-")
    cfg = agent_config(overlay)
    assert cfg.node_name is None and cfg.kubernetes is not None
    assert cfg.kubernetes.node_name is None
    env = {e["name"]: e for e in agent["env"]}
    assert env["NODENAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_probes_ask_its_telemetry_endpoint(overlay: str) -> None:
    agent = container(overlay, "agent")
    cfg = agent_config(overlay)
    assert cfg.telemetry.enabled
    port = int(cfg.telemetry.address.rpartition(":")[2])
    assert {p["containerPort"] for p in agent["ports"]} == {port}
    paths = {
        kind: (agent[kind]["httpGet"]["path"], agent[kind]["httpGet"]["port"])
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths == {
        "startupProbe": ("/livez", port),
        "livenessProbe": ("/livez", port),
        "readinessProbe": ("/readyz", port),
    }
    # the liveness probe gives the agent longer than its own watchdog before a restart
    live = agent["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= cfg.telemetry.liveness_timeout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shared_paths_are_the_configured_ones(overlay: str) -> None:
    cfg, mgr = agent_config(overlay), manager_settings(overlay)
    agent, vpp = container(overlay, "agent"), container(overlay, "vpp")
    # VPP's API socket: same path in both configs, same volume in both containers
    assert cfg.vpp.socket == mgr.vpp.socket
    assert mount_of(overlay, agent, cfg.vpp.socket)[1] == mount_of(overlay, vpp, mgr.vpp.socket)[1]
    # the manager's capture and the agent's state survive the pod: one host directory
    host_state = {
        mount_of(overlay, c, p)[1]["hostPath"]["path"]
        for c, p in (
            (vpp, mgr.state_file),
            (agent, cfg.state_dir + "/vpp-index.json"),
            (agent, cfg.cni.state_file),
        )
    }
    assert len(host_state) == 1
    # the sockets calico-node's CNI plugin and felix-proxy dial, at the same host paths
    for path in (cfg.cni.socket, cfg.felix.socket):
        m, vol = mount_of(overlay, agent, path)
        assert vol["hostPath"]["path"] == m["mountPath"] == "/var/run/calico"
    felix_proxy_c = (ROOT / "felix-proxy" / "felix-proxy.c").read_text()
    assert f'#define DEFAULT_SOCKET "{cfg.felix.socket}"' in felix_proxy_c
    # gobgpd's socket and the rendered config: writable in a read-only root filesystem
    assert cfg.bgp is not None
    for path in (cfg.bgp.api_socket, "/tmp/x"):
        m, vol = mount_of(overlay, agent, path)
        assert "emptyDir" in vol and not m.get("readOnly")
    # pod network namespaces, in both containers, following new ones
    for c in (agent, vpp):
        m, vol = mount_of(overlay, c, "/var/run/netns/cni-1234")
        assert vol["hostPath"]["path"] == m["mountPath"] == "/var/run/netns"
        assert m["mountPropagation"] == "HostToContainer"
    # the manager reads the host's /run (NetworkManager, systemd-networkd)
    m, vol = mount_of(overlay, vpp, mgr.system.run)
    assert vol["hostPath"]["path"] == "/run" and m["readOnly"]
    # vhost-net: the CNI server looks for the host's device in the host's /dev
    m, vol = mount_of(overlay, agent, cfg.cni.vhost_net_path)
    assert vol["hostPath"]["path"] == "/dev" and m["readOnly"]
    assert cfg.cni.vhost_net_path.removeprefix(m["mountPath"]) == "/vhost-net"
    # VPP's stats segment: the manager's startup.conf and the agent's reader agree
    assert mgr.vpp.stats_socket is not None and cfg.vpp.stats_socket == mgr.vpp.stats_socket
    assert (
        mount_of(overlay, agent, cfg.vpp.stats_socket)[1]
        == mount_of(overlay, vpp, mgr.vpp.stats_socket)[1]
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_privileges_are_the_ones_documented(overlay: str) -> None:
    spec = pod_spec(overlay)
    assert spec["hostNetwork"] is True
    assert not spec.get("hostPID") and not spec.get("hostIPC")
    for c in spec["containers"] + spec["initContainers"]:
        sc = c.get("securityContext", {})
        if c["name"] == "vpp":
            assert sc == {"privileged": True}  # devices: see the comment in daemonset.yaml
            continue
        assert not sc.get("privileged")
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert sc["readOnlyRootFilesystem"] is True
        added = set(sc["capabilities"].get("add", []))
        expected = {"NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE"} if c["name"] == "agent" else set()
        assert added == expected, c["name"]
    assert spec["serviceAccountName"] == SERVICE_ACCOUNT


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_felix_proxy_reaches_calico_node(overlay: str) -> None:
    init = container(overlay, "install-felix-proxy")
    script = init["command"][2]
    target_dir = mounts(init)
    assert len(target_dir) == 1
    (mount_path,) = target_dir
    assert volume(overlay, target_dir[mount_path]["name"])["hostPath"]["path"] == FELIX_PLUGINS_HOST
    assert f"cp {PROXY_IN_IMAGE} " in script
    assert script.rstrip().endswith(f"{mount_path}/{Path(FELIX_DRIVER).name}")
    assert init["image"].split(":")[0] == container(overlay, "agent")["image"].split(":")[0]


def calico_manifest_objects() -> tuple[Obj, Obj]:
    """calico-node and calico-config as calico.yaml ships them, with our patches applied."""
    calico_env = [
        {"name": "DATASTORE_TYPE", "value": "kubernetes"},
        {
            "name": "CALICO_NETWORKING_BACKEND",
            "valueFrom": {"configMapKeyRef": {"name": "calico-config", "key": "calico_backend"}},
        },
        {"name": "FELIX_DEFAULTENDPOINTTOHOSTACTION", "value": "ACCEPT"},
    ]
    node: Obj = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "calico-node"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "calico-node"}},
                "spec": {
                    "hostNetwork": True,
                    "containers": [
                        {
                            "name": "calico-node",
                            "image": "docker.io/calico/node:v3.30.0",
                            "env": calico_env,
                            "livenessProbe": {
                                "exec": {
                                    "command": ["/bin/calico-node", "-felix-live", "-bird-live"]
                                }
                            },
                            "readinessProbe": {
                                "exec": {
                                    "command": ["/bin/calico-node", "-felix-ready", "-bird-ready"]
                                }
                            },
                            "volumeMounts": [
                                {"mountPath": "/var/run/calico", "name": "var-run-calico"}
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "var-run-calico", "hostPath": {"path": "/var/run/calico"}}
                    ],
                },
            },
        },
    }
    config: Obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "calico-config", "namespace": "kube-system"},
        "data": {"calico_backend": "bird", "veth_mtu": "0", "cni_network_config": "{}"},
    }
    node_patch = yaml.safe_load((CALICO / "manifest" / "calico-node-patch.yaml").read_text())
    config_patch = yaml.safe_load((CALICO / "manifest" / "calico-config-patch.yaml").read_text())
    return strategic_merge(node, node_patch, ()), strategic_merge(config, config_patch, ())


def test_calico_manifest_patches_make_felix_start_the_proxy() -> None:
    node, config = calico_manifest_objects()
    c = node["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    assert env["FELIX_USEINTERNALDATAPLANEDRIVER"]["value"] == "false"
    assert env["FELIX_DATAPLANEDRIVER"]["value"] == FELIX_DRIVER
    assert all(not ("value" in e and "valueFrom" in e) for e in c["env"])
    m = {x["mountPath"]: x for x in c["volumeMounts"]}[str(Path(FELIX_DRIVER).parent)]
    vols = {v["name"]: v for v in node["spec"]["template"]["spec"]["volumes"]}
    assert vols[m["name"]]["hostPath"]["path"] == FELIX_PLUGINS_HOST and m["readOnly"]
    assert "-bird-live" not in c["livenessProbe"]["exec"]["command"]
    assert "-bird-ready" not in c["readinessProbe"]["exec"]["command"]
    assert config["data"]["calico_backend"] == "none"  # gobgpd, not BIRD, on port 179


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_calico_cni_config_dials_the_agents_cni_socket(overlay: str) -> None:
    patch = yaml.safe_load((CALICO / "manifest" / "calico-config-patch.yaml").read_text())
    conf = json.loads(patch["data"]["cni_network_config"].replace("__CNI_MTU__", "0"))
    calico = [p for p in conf["plugins"] if p["type"] == "calico"]
    assert len(calico) == 1
    socket = agent_config(overlay).cni.socket
    assert calico[0]["dataplane_options"] == {"type": "grpc", "socket": f"unix://{socket}"}
    assert "bandwidth" not in {p["type"] for p in conf["plugins"]}
    # the Tigera operator's fixed socket for linuxDataplane: VPP must be the agent's too
    assert socket == "/var/run/calico/cni-server.sock"


def test_operator_and_datastore_settings() -> None:
    installation = yaml.safe_load((CALICO / "operator" / "installation-patch.yaml").read_text())
    assert installation == {"spec": {"calicoNetwork": {"linuxDataplane": "VPP", "bgp": "Enabled"}}}
    (felix,) = load_documents(CALICO / "felixconfiguration.yaml")
    assert felix["apiVersion"] == "projectcalico.org/v3" and felix["kind"] == "FelixConfiguration"
    assert felix["spec"] == {
        "useInternalDataplaneDriver": False,
        "dataplaneDriver": FELIX_DRIVER,
        "xdpEnabled": False,
    }


# --- RBAC ------------------------------------------------------------------------------

Grant = tuple[str, str, str]  # (API group, resource, verb)

# Every Kubernetes API call of the agent outside its list-then-watch loop (whose
# resources come from the sources themselves, below), with the grant it needs. The
# scan in test_every_api_call_is_in_the_table keeps this table complete.
CALLS: dict[tuple[str, str], tuple[Grant, str]] = {
    ("agent/k8s/writeback.py", "self.api.patch(VPPNET_NETWORKS, ..., status=True)"): (
        ("vppnet.io", "networks/status", "patch"),
        "clusterrole",
    ),
    ("agent/k8s/writeback.py", "self.api.patch(VPPNET_NETWORKS, ...)"): (
        ("vppnet.io", "networks", "patch"),
        "clusterrole",
    ),
    ("agent/k8s/writeback.py", "self.api.patch(NODES, ...)"): (
        ("", "nodes", "patch"),
        "clusterrole",
    ),
    ("agent/k8s/events.py", "self.api.create_event(...)"): (
        ("", "events", "create"),
        "clusterrole",
    ),
    ("agent/k8s/bgpfeed.py", "self.api.core.read_namespaced_secret(...)"): (
        ("", "secrets", "get"),
        "bgp-password-access",
    ),
    ("agent/telemetry/events.py", "self.api.core.read_namespaced_pod(...)"): (
        ("", "pods", "get"),
        "clusterrole",
    ),
    ("agent/telemetry/events.py", "self.api.custom.get_cluster_custom_object(BGP_PEERS)"): (
        ("crd.projectcalico.org", "bgppeers", "get"),
        "clusterrole",
    ),
}
_CALL = re.compile(
    r"\bapi\.(?:patch|create_event|list_all|list_page|watch)\(|\bapi\.(?:core|custom|discovery)\."
)


def test_every_api_call_is_in_the_table() -> None:
    """A new call to the Kubernetes API fails here until CALLS (and the RBAC) know it."""
    found: dict[str, int] = {}
    for path in sorted((ROOT / "agent").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "agent/k8s/api.py":
            continue  # the typed door itself
        for line in path.read_text(encoding="utf-8").splitlines():
            if _CALL.search(line):
                found[rel] = found.get(rel, 0) + 1
    expected: dict[str, int] = {"agent/k8s/listwatch.py": 2}  # list_all + watch: the watches
    for file, _ in CALLS:
        expected[file] = expected.get(file, 0) + 1
    # writeback.py makes both Network patches through one call site (status= varies)
    expected["agent/k8s/writeback.py"] -= 1
    assert found == expected


def watched(overlay: str, tmp_path: Path) -> set[Grant]:
    """list+watch of every resource the agent's Kubernetes sources watch with this config."""
    cfg = agent_config(overlay).model_copy(update={"state_dir": str(tmp_path)})
    runtime = AgentRuntime(cfg, "node-1", kube_client=client.ApiClient())
    assert runtime.kubernetes is not None
    needed = set()
    for w in runtime.kubernetes.watches:
        needed |= {(w.resource.group, w.resource.plural, v) for v in ("list", "watch")}
    return needed


def granted(objects: tuple[Obj, ...] | list[Obj], role_kind: str) -> set[Grant]:
    binding_kind = {"ClusterRole": "ClusterRoleBinding", "Role": "RoleBinding"}[role_kind]
    roles = {o["metadata"]["name"]: o for o in objects if o["kind"] == role_kind}
    out: set[Grant] = set()
    for b in (o for o in objects if o["kind"] == binding_kind):
        subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
        if subject not in b["subjects"]:
            continue
        for rule in roles[b["roleRef"]["name"]]["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    out |= {(group, resource, verb) for verb in rule["verbs"]}
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rbac_grants_exactly_what_the_agent_uses(overlay: str, tmp_path: Path) -> None:
    needed = watched(overlay, tmp_path)
    needed |= {grant for grant, where in CALLS.values() if where == "clusterrole"}
    have = granted(rendered(overlay), "ClusterRole")
    assert needed - have == set(), "the agent would be refused these"
    assert have - needed == set(), "granted but never used"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_wildcards_and_no_cluster_wide_secrets(overlay: str) -> None:
    for role in (o for o in rendered(overlay) if o["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: {rule}"
            assert "secrets" not in rule["resources"]


def test_bgp_passwords_are_granted_per_secret_in_calicos_namespace() -> None:
    objects = load_documents(CALICO / "bgp-password-access.yaml")
    assert {o["metadata"]["namespace"] for o in objects} == {DEFAULT_SECRET_NAMESPACE}
    assert granted(objects, "Role") == {("", "secrets", "get")}
    (role,) = (o for o in objects if o["kind"] == "Role")
    assert all(rule.get("resourceNames") for rule in role["rules"])


# --- images ----------------------------------------------------------------------------

DOCKERFILES = {"agent": ROOT / "images/agent/Dockerfile", "vpp": ROOT / "images/vpp/Dockerfile"}


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_copies_what_the_repository_has(image: str) -> None:
    stages = dockerfile.parse(DOCKERFILES[image])
    names = {s.name for s in stages if s.name}
    for stage in stages:
        for cp in dockerfile.copies(stage):
            if cp.from_stage is not None:
                assert cp.from_stage in names, f"COPY --from={cp.from_stage}: no such stage"
                continue
            for source in cp.sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not dockerfile.ignored(ROOT, source), f"{source} is in .dockerignore"
    # the package builds from what is copied: pyproject's readme and packages
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = {s for st in stages for cp in dockerfile.copies(st) for s in cp.sources}
    assert project["project"]["readme"] in copied
    assert {"agent", "plugins"} <= copied


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_image_entrypoint_is_the_vppnet_console_script(image: str) -> None:
    final = dockerfile.parse(DOCKERFILES[image])[-1]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert final.exec_form("ENTRYPOINT") == ["vppnet"]
    assert project["project"]["scripts"]["vppnet"] == "agent.cli:main"
    cmd = final.exec_form("CMD")
    assert cmd is not None
    args = build_parser().parse_args(cmd)
    assert args.func is (cmd_agent if image == "agent" else manager_entry.command)


def test_agent_image_builds_and_installs_felix_proxy() -> None:
    stages = dockerfile.parse(DOCKERFILES["agent"])
    build_stage = next(s for s in stages if s.name == "build")
    runs = " ".join(i.args for i in build_stage.all("RUN"))
    match = re.search(r"python3 felix-proxy/build\.py --out (\S+)", runs)
    assert match is not None
    assert (ROOT / "felix-proxy" / "build.py").exists()
    out_dir = match.group(1)
    installs = [
        cp for cp in dockerfile.copies(stages[-1]) if cp.sources == [f"{out_dir}/felix-proxy"]
    ]
    assert [cp.dest for cp in installs] == [PROXY_IN_IMAGE]
    final_runs = " ".join(i.args for i in stages[-1].all("RUN"))
    assert "gobgpd" in final_runs  # bgp.gobgpd_path: gobgpd, from PATH
    for overlay in OVERLAYS:
        assert agent_config(overlay).bgp.gobgpd_path == "gobgpd"  # type: ignore[union-attr]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_use_the_two_images(overlay: str) -> None:
    spec = pod_spec(overlay)
    images = {c["name"]: c["image"].split(":")[0] for c in spec["containers"]}
    images |= {c["name"]: c["image"].split(":")[0] for c in spec["initContainers"]}
    assert images == {
        "vpp": "vppnet-vpp",
        "agent": "vppnet-agent",
        "install-felix-proxy": "vppnet-agent",
    }
    manager = manager_settings(overlay)
    vpp_final = dockerfile.parse(DOCKERFILES["vpp"])[-1]
    assert manager.vpp.binary == "/usr/bin/vpp"
    assert "test -x /usr/bin/vpp" in " ".join(i.args for i in vpp_final.all("RUN"))
