"""Calico's BGP resources into the model, and the Secrets BGP passwords live in.

Two cluster-scoped kinds of the Kubernetes datastore, watched like every
other kind (:class:`~agent.k8s.listwatch.ListWatch` with these handlers):
``bgpconfigurations`` and ``bgppeers`` of ``crd.projectcalico.org/v1``. An
object that cannot be read is logged once per version and left out; the
others are kept. :class:`SecretReader` resolves ``secretKeyRef`` passwords
for the BGP speaker (it needs ``get`` on Secrets in Calico's namespace).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from agent.k8s.api import KubeApi, Resource
from agent.k8s.convert import bgp as convert
from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta
from agent.k8s.errors import ApiError, call
from agent.model import BgpConfiguration, BgpPeer, ClusterModel, SecretKeyRef
from agent.state import ClusterState, with_item, without_item

log = logging.getLogger(__name__)

BGP_CONFIGURATIONS: Final = Resource(
    "crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration", namespaced=False
)
BGP_PEERS: Final = Resource("crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", namespaced=False)
DEFAULT_SECRET_NAMESPACE: Final = "calico-system"


class _BgpHandler:
    """One kind's objects into one model collection (by object name)."""

    field: str
    kind: str

    def __init__(self, state: ClusterState, changed: Callable[[], None]) -> None:
        self.state = state
        self.changed = changed
        self._reported: dict[str, str] = {}
        self._lock = threading.Lock()

    def convert(self, obj: Obj) -> Any:
        raise TypeError("a handler converts its own kind")

    def _entity(self, obj: Obj) -> Any | None:
        try:
            return self.convert(obj)
        except ConversionError as error:
            self._report(obj, str(error))
            return None

    def _report(self, obj: Obj, problem: str) -> None:
        try:
            meta = ObjectMeta.of(obj)
            name, version = meta.name, meta.resource_version
        except ConversionError:
            name, version = "?", ""
        with self._lock:
            if self._reported.get(name) == f"{version}|{problem}":
                return
            self._reported[name] = f"{version}|{problem}"
        log.warning("%s %s skipped: %s", self.kind, name, problem)

    def _with(self, model: ClusterModel, value: Any) -> ClusterModel:
        fields: dict[str, Any] = {self.field: value}
        return replace(model, **fields)

    def replace(self, objects: list[Obj]) -> None:
        entities = [e for e in (self._entity(o) for o in objects) if e is not None]
        value = {e.name: e for e in entities}
        self.state.update(lambda m: self._with(m, value), f"{self.kind}s listed")
        self.changed()

    def upsert(self, obj: Obj) -> None:
        entity = self._entity(obj)
        if entity is None:
            # a refused new version: the old one must not linger as if still wanted
            self.delete(obj)
            return
        self.state.update(
            lambda m: self._with(m, with_item(getattr(m, self.field), entity.name, entity)),
            f"{self.kind} {entity.name} changed",
        )
        self.changed()

    def delete(self, obj: Obj) -> None:
        try:
            name = ObjectMeta.of(obj).name
        except ConversionError:
            return
        self.state.update(
            lambda m: self._with(m, without_item(getattr(m, self.field), name)),
            f"{self.kind} {name} deleted",
        )
        self.changed()


class BgpConfigurationHandler(_BgpHandler):
    field = "bgp_configurations"
    kind = "BGPConfiguration"

    def convert(self, obj: Obj) -> BgpConfiguration:
        return convert.from_bgp_configuration(obj)


class BgpPeerHandler(_BgpHandler):
    field = "bgp_peers"
    kind = "BGPPeer"

    def convert(self, obj: Obj) -> BgpPeer:
        return convert.from_bgp_peer(obj)


class SecretReader:
    """``SecretKeyRef -> value`` from Secrets of one namespace; None when missing."""

    def __init__(self, api: KubeApi, namespace: str = DEFAULT_SECRET_NAMESPACE) -> None:
        self.api = api
        self.namespace = namespace

    def __call__(self, ref: SecretKeyRef) -> str | None:
        def read() -> Any:
            return self.api.core.read_namespaced_secret(
                ref.name, self.namespace, _request_timeout=self.api.timeout
            )

        try:
            secret = call(f"get secret {self.namespace}/{ref.name}", read)
        except ApiError as e:
            log.warning("BGP password: %s", e)
            return None
        data = getattr(secret, "data", None) or {}
        encoded = data.get(ref.key)
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            log.warning("BGP password: %s in %s is not base64 text", ref, self.namespace)
            return None
