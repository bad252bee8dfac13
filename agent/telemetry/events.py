"""Kubernetes Events for user-facing errors: a Pod's failed CNI ADD, a BGPPeer vppnet cannot use.

A CNI failure surfaces to the user as the kubelet's generic
"FailedCreatePodSandBox" with whatever text Calico's plugin passes on; an
Event on the Pod from vppnet itself names the reason in vppnet's words,
where ``kubectl describe pod`` shows it. A BGPPeer whose settings cannot be
used (no AS number, a password Secret that is missing, a bad selector) is
skipped by the speaker; the Event on the BGPPeer says which field and why.
The Events go through the same
:class:`~agent.k8s.events.EventRecorder` as the ones about bad NADs and
Networks, so it is deduplicated the same way: the kubelet retrying the same
ADD with the same error makes one Event, not one per retry.

The object's uid (which ``kubectl describe`` matches Events on) is read
from the API; that read and the Event's write run in a worker thread, never
in the CNI's request path or the BGP sync.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from agent.bgp.errors import BgpConfigError
from agent.k8s.api import PODS, KubeApi, Resource
from agent.k8s.bgpfeed import BGP_PEERS
from agent.k8s.convert.meta import ObjectMeta
from agent.k8s.errors import ApiError, call
from agent.k8s.events import EventRecorder

log = logging.getLogger(__name__)

REASON_ADD_FAILED: Final = "VppnetCniAddFailed"
REASON_DEL_FAILED: Final = "VppnetCniDelFailed"
REASON_BGP_PEER: Final = "VppnetBgpPeerInvalid"
MAX_MESSAGE: Final = 1024  # Events carry at most 1 kB of message


class ObjectEvents:
    """Reports CNI failures on Pods and BGPPeer problems as Warning Events, off the hot paths."""

    def __init__(self, recorder: EventRecorder, api: KubeApi) -> None:
        self.recorder = recorder
        self.api = api
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pod-events")

    def cni_failed(self, operation: str, namespace: str, pod: str, message: str) -> None:
        """Queue an Event on ``namespace/pod``; a pod the API does not know gets none."""
        if not namespace or not pod:
            return
        reason = REASON_ADD_FAILED if operation == "add" else REASON_DEL_FAILED
        text = f"CNI {operation.upper()} failed: {message}"[:MAX_MESSAGE]
        self._pool.submit(self._report, PODS, namespace, pod, reason, text)

    def bgp_problem(self, error: BgpConfigError) -> None:
        """The BGP speaker's observer: a BGPPeer it skipped gets an Event naming the field."""
        kind, _, name = error.obj.partition(" ")
        if kind != BGP_PEERS.kind or not name:
            return  # the agent's own config (bgp.peers): its log line is the report
        text = f"{error.field}: {error.message}"[:MAX_MESSAGE]
        self._pool.submit(self._report, BGP_PEERS, "", name, REASON_BGP_PEER, text)

    def _get(self, resource: Resource, namespace: str, name: str) -> object:
        if resource == PODS:
            return self.api.core.read_namespaced_pod(
                name, namespace, _preload_content=False, _request_timeout=self.api.timeout
            )
        return self.api.custom.get_cluster_custom_object(
            resource.group,
            resource.version,
            resource.plural,
            name,
            _preload_content=False,
            _request_timeout=self.api.timeout,
        )

    def _report(
        self, resource: Resource, namespace: str, name: str, reason: str, message: str
    ) -> bool:
        ref = f"{resource.kind} {namespace + '/' if namespace else ''}{name}"
        try:
            raw = call(f"get {ref}", lambda: self._get(resource, namespace, name))
            meta = ObjectMeta.of(json.loads(raw.data))
        except ApiError as e:
            log.info("no Event for %s (%s): %s", ref, reason, e)
            return False
        except Exception as e:  # a malformed answer must not kill the worker
            log.warning("no Event for %s (%s): %r", ref, reason, e)
            return False
        return self.recorder.record(resource, meta, reason, message)

    def close(self) -> None:
        """Finish the Events already queued (each bounded by the API timeout)."""
        self._pool.shutdown(wait=True)
