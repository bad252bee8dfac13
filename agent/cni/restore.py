"""Start-up: the recorded pod interfaces go back into the model, without touching VPP.

The reconciler's index and interface tags already make a restart with an
unchanged model a no-op in VPP; what the model lacks after a restart is
exactly what only the CNI knew. Pods whose netns vanished while the agent
was down are dropped here, so the following resync deletes their VPP
objects. Call this before the first ``Dataplane.resync()`` and after the
secondary networks are in the model (a pod of an unknown network cannot be
rendered).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from agent.cni.config import CniSettings
from agent.cni.store import CniStore
from agent.cni.validate import netns_exists
from agent.model import ClusterModel, PodInterfaceKey
from agent.state import ClusterState

log = logging.getLogger(__name__)


@dataclass
class Restored:
    store: CniStore
    loaded: list[PodInterfaceKey] = field(default_factory=list)
    dropped: list[PodInterfaceKey] = field(default_factory=list)
    # ADDs cut short (pending records): kept out of the model; CniBackend.prune undoes them
    abandoned: list[PodInterfaceKey] = field(default_factory=list)


def load_persisted(
    state: ClusterState,
    settings: CniSettings,
    *,
    path: str | os.PathLike[str] | None = None,
    netns_alive: Callable[[str], bool] = netns_exists,
) -> Restored:
    """Read the state file (``settings.state_file`` unless ``path``) into ``state``.

    Hand ``Restored.store`` to the CniServer so both share one view of the file.
    """
    store = CniStore.load(settings.state_file if path is None else path)
    out = Restored(store)
    for key, record in sorted(store.records.items()):
        if record.pending:  # the agent died during its ADD: the backend undoes it
            out.abandoned.append(key)
            log.warning("CNI state: the ADD of %s was cut short; it will be undone", key)
        elif netns_alive(record.pod.netns):
            out.loaded.append(key)
        else:
            out.dropped.append(key)
            store.remove(key)
            log.warning("CNI state: %s's netns %s is gone; dropping it", key, record.pod.netns)
    if out.dropped:
        store.save()
    pods = [store.records[key].pod for key in out.loaded]

    def change(model: ClusterModel) -> ClusterModel:
        merged = dict(model.pod_interfaces)
        for pod in pods:
            known = merged.get(pod.key)
            merged[pod.key] = pod if known is None else replace(pod, policy=known.policy)
        return replace(model, pod_interfaces=merged)

    if pods:
        state.update(change, f"CNI state: {len(pods)} pod interface(s) restored")
    log.info("CNI state: restored %d pod interface(s), dropped %d", len(pods), len(out.dropped))
    return out
