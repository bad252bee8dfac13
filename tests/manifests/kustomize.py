"""A small kustomize: exactly the subset daemonset/ uses, so CI needs no kustomize binary.

Supported kustomization keys: ``resources`` (files and kustomization directories),
``configMapGenerator`` (``name``, ``namespace``, ``behavior``, ``files``), ``patches``
(strategic-merge patch files naming their target by apiVersion, kind and name) and
``images`` (``name``, ``newName``, ``newTag``). Anything else is refused with
:class:`KustomizeError`, so a kustomization that starts using another feature fails the
tests loudly instead of rendering differently from ``kubectl kustomize``.

What it reproduces of kustomize's behaviour: generated ConfigMaps get kustomize's
content hash as a name suffix (kustomize v5 hashes kind, data and an *empty* name) and
the pod templates' references to them follow; strategic merge of the pod-spec lists by
their merge keys (containers by name, volumeMounts by mountPath, ...), ``null``
deleting a field, other lists replaced. When ``kubectl`` is on PATH the tests compare
this renderer's output with ``kubectl kustomize`` for every overlay.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

Obj = dict[str, Any]

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "configMapGenerator", "patches", "images"}
GENERATOR_KEYS = {"name", "namespace", "behavior", "files"}
PATCH_KEYS = {"path"}
IMAGE_KEYS = {"name", "newName", "newTag"}

# Strategic merge: the lists of a pod template merged element-wise, by this key
# (k8s.io/api's patchMergeKey tags). Any other list is replaced whole, as kustomize does
# for lists without a merge key.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "env": "name",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}
POD_OWNER_KINDS = {"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


@dataclass
class _Item:
    obj: Obj
    generated: bool = False  # a configMapGenerator product: gets the hash suffix


def build(root: Path) -> list[Obj]:
    """Render the kustomization in ``root`` like ``kubectl kustomize root``."""
    items = _build(root.resolve())
    renames: dict[tuple[str, str], str] = {}
    for item in items:
        if item.generated:
            meta = item.obj["metadata"]
            new = f"{meta['name']}-{configmap_hash(item.obj)}"
            renames[(meta.get("namespace", ""), meta["name"])] = new
            meta["name"] = new
    for item in items:
        if item.obj.get("kind") in POD_OWNER_KINDS:
            _rename_configmap_refs(item.obj, renames)
    return [item.obj for item in items]


def _load_kustomization(root: Path) -> Obj:
    path = root / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{root}: no kustomization.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise KustomizeError(f"{path}: not a mapping")
    unknown = set(data) - KUSTOMIZATION_KEYS
    if unknown:
        raise KustomizeError(f"{path}: not implemented by this renderer: {sorted(unknown)}")
    return data


def _build(root: Path) -> list[_Item]:
    k = _load_kustomization(root)
    items: list[_Item] = []
    for entry in k.get("resources") or []:
        path = (root / entry).resolve()
        if path.is_dir():
            items += _build(path)
        elif path.is_file():
            if not path.is_relative_to(root):
                # kustomize's default load restrictor: files only from inside the root
                raise KustomizeError(f"{root}: resource file {entry} is outside the root")
            items += [_Item(obj) for obj in load_documents(path)]
        else:
            raise KustomizeError(f"{root}: resource {entry} does not exist")
    for gen in k.get("configMapGenerator") or []:
        _generate(root, gen, items)
    for patch in k.get("patches") or []:
        _patch(root, patch, items)
    for image in k.get("images") or []:
        _set_image(root, image, items)
    _check_unique(root, items)
    return items


def load_documents(path: Path) -> list[Obj]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise KustomizeError(f"{path}: every document must be an object with kind/metadata")
        if doc["kind"].endswith("List"):
            raise KustomizeError(f"{path}: List objects are not implemented")
    return docs


def _key(obj: Obj) -> tuple[str, str, str, str]:
    group = obj.get("apiVersion", "").rpartition("/")[0]
    meta = obj["metadata"]
    return (group, obj["kind"], meta.get("namespace", ""), meta["name"])


def _check_unique(root: Path, items: list[_Item]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for item in items:
        key = _key(item.obj)
        if key in seen:
            raise KustomizeError(f"{root}: two objects {key}")
        seen.add(key)


def _generate(root: Path, gen: Obj, items: list[_Item]) -> None:
    unknown = set(gen) - GENERATOR_KEYS
    if unknown:
        raise KustomizeError(f"{root}: configMapGenerator {unknown} not implemented")
    name, namespace = gen["name"], gen.get("namespace", "")
    data: dict[str, str] = {}
    for spec in gen.get("files") or []:
        key, _, rel = spec.rpartition("=")
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise KustomizeError(f"{root}: generator file {rel} is outside the root")
        data[key or PurePosixPath(rel).name] = path.read_text(encoding="utf-8")
    behavior = gen.get("behavior", "create")
    existing = [
        i
        for i in items
        if i.generated
        and i.obj["metadata"]["name"] == name
        and i.obj["metadata"].get("namespace", "") == namespace
    ]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{root}: ConfigMap {name} is generated twice (use merge)")
        meta: Obj = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        items.append(_Item({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}, True))
        items[-1].obj["data"] = data
    elif behavior in ("merge", "replace"):
        if not existing:
            raise KustomizeError(f"{root}: ConfigMap {name} to {behavior} is not generated below")
        target = existing[0].obj
        target["data"] = {**target["data"], **data} if behavior == "merge" else data
    else:
        raise KustomizeError(f"{root}: configMapGenerator behavior {behavior!r}")


def configmap_hash(cm: Obj) -> str:
    """kustomize's name suffix: sha256 of {data, kind, name: ""} as Go's json.Marshal
    writes it (sorted keys, HTML characters escaped), first 10 hex digits de-voweled."""
    encoded = json.dumps(
        {"data": cm.get("data") or {}, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        encoded = encoded.replace(char, escape)
    encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _patch(root: Path, entry: Obj, items: list[_Item]) -> None:
    unknown = set(entry) - PATCH_KEYS
    if unknown:
        raise KustomizeError(f"{root}: patches {sorted(unknown)} not implemented (use path)")
    path = (root / entry["path"]).resolve()
    if not path.is_relative_to(root):
        raise KustomizeError(f"{root}: patch {entry['path']} is outside the root")
    for patch in load_documents(path):
        key = _key(patch)
        targets = [i for i in items if _key(i.obj) == key]
        if len(targets) != 1:
            raise KustomizeError(f"{path}: patch target {key} not found")
        body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
        targets[0].obj = strategic_merge(targets[0].obj, body, ())


def strategic_merge(base: Any, patch: Any, path: tuple[str, ...]) -> Any:
    """Merge ``patch`` into ``base`` (a copy), the way kubectl's strategic merge does for
    the fields in MERGE_KEYS; a ``$patch``-style directive is refused."""
    if isinstance(patch, dict):
        for key in patch:
            if key.startswith("$"):
                raise KustomizeError(f"{'.'.join(path)}: directive {key} not implemented")
        if not isinstance(base, dict):
            return copy.deepcopy(patch)
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in MERGE_KEYS and isinstance(value, list):
                out[key] = _merge_list(out.get(key) or [], value, MERGE_KEYS[key], (*path, key))
            else:
                out[key] = strategic_merge(out.get(key), value, (*path, key))
        return out
    return copy.deepcopy(patch)


def _merge_list(base: list[Any], patch: list[Any], key: str, path: tuple[str, ...]) -> list[Any]:
    """Elements with a key already in ``base`` are merged in place; new ones come first,
    in the patch's order (kustomize's kyaml merge puts them there)."""
    out = copy.deepcopy(base)
    new = []
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise KustomizeError(f"{'.'.join(path)}: element without merge key {key}")
        for i, current in enumerate(out):
            if isinstance(current, dict) and current.get(key) == element[key]:
                out[i] = strategic_merge(current, element, (*path, str(element[key])))
                break
        else:
            new.append(copy.deepcopy(element))
    return new + out


def _pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def _set_image(root: Path, entry: Obj, items: list[_Item]) -> None:
    unknown = set(entry) - IMAGE_KEYS
    if unknown:
        raise KustomizeError(f"{root}: images {sorted(unknown)} not implemented")
    for item in items:
        if item.obj.get("kind") not in POD_OWNER_KINDS:
            continue
        spec = _pod_spec(item.obj)
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            name, tag = split_image(container["image"])
            if name == entry["name"]:
                name = entry.get("newName", name)
                tag = entry.get("newTag", tag)
                container["image"] = f"{name}:{tag}" if tag else name


def split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        raise KustomizeError(f"image {image}: digests are not implemented")
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:  # no tag, or the colon was a registry port
        return image, ""
    return name, tag


def _rename_configmap_refs(obj: Obj, renames: dict[tuple[str, str], str]) -> None:
    namespace = obj["metadata"].get("namespace", "")

    def rename(ref: Obj | None) -> None:
        if ref and (namespace, ref.get("name")) in renames:
            ref["name"] = renames[(namespace, ref["name"])]

    spec = _pod_spec(obj)
    for volume in spec.get("volumes", []):
        rename(volume.get("configMap"))
        for source in (volume.get("projected") or {}).get("sources", []):
            rename(source.get("configMap"))
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        for env in container.get("env", []):
            rename((env.get("valueFrom") or {}).get("configMapKeyRef"))
        for source in container.get("envFrom", []):
            rename(source.get("configMapRef"))
