"""CNI ADD and DEL: model first, then VPP through the dataplane, then the pod's side.

ADD puts the pod interface into the cluster model, converges (in a worker
thread: the reconciler and netlink block), checks that every VPP object of
that pod landed, sets up the pod's routing, records the pod, and replies.
Any failure after the model changed undoes the ADD completely (model,
VPP, veth, record), so the retry the runtime makes starts from nothing.
DEL undoes an ADD and is idempotent. Requests for the same interface are
serialized; different pods run in parallel and their converges batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.cni import podside
from agent.cni.config import CniSettings
from agent.cni.errors import CniRequestError
from agent.cni.locks import KeyedLocks
from agent.cni.store import CniStore, PodRecord, StoreWriteError, cni_view
from agent.cni.translate import Translator
from agent.cni.validate import netns_exists
from agent.dataplane import Dataplane
from agent.model import ClusterModel, InterfaceType, PodInterface, PodInterfaceKey
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply, DelRequest
from agent.state import ClusterState, with_item
from agent.vpp import VppConnectionError, VppError, af_packet, interfaces
from plugins.pods import interface_name, render_pod

log = logging.getLogger(__name__)

VPP_RESTARTING = "VPP is restarting (not connected); nothing was changed: retry the ADD"


class ProgrammingError(RuntimeError):
    """VPP or the pod's netns did not end up as the ADD needs."""


@dataclass(frozen=True, slots=True)
class Added:
    pod: PodInterface
    mac: str
    warnings: tuple[str, ...]


def pod_keys(model: ClusterModel, pod: PodInterface) -> frozenset[str]:
    """The desired-object keys of one pod interface: what its ADD must see land."""
    return frozenset(obj.key for obj in render_pod(model, pod))


class CniBackend:
    def __init__(
        self,
        state: ClusterState,
        dataplane: Dataplane,
        settings: CniSettings,
        store: CniStore,
        *,
        vhost_net: bool,
    ) -> None:
        self.state = state
        self.dataplane = dataplane
        self.settings = settings
        self.store = store
        self.translator = Translator(settings, vhost_net)
        self._locks = KeyedLocks()
        # False while VPP is away (the agent sets it to its own view: reconnecting and
        # reprogramming); an ADD then is refused at once, saying to retry, instead of
        # failing later on a dead socket or on VPP state about to be replaced
        self.vpp_available: Callable[[], bool] = lambda: dataplane.reconciler.conn.connected
        # ADDs a killed agent left half-way (pending records in the file as loaded)
        self._abandoned = [r.pod for r in store.records.values() if r.pending]

    # -- ADD -----------------------------------------------------------------------
    async def add(self, req: AddRequest) -> AddReply:
        try:
            translated = self.translator.pod_interface(req, self.state.model)
        except CniRequestError as e:
            log.warning("CNI ADD %s in %s refused: %s", req.interface_name, req.netns, e)
            return AddReply(successful=False, error_message=str(e))
        pod = translated.pod
        if not self.vpp_available():
            log.warning("CNI ADD %s refused: VPP is restarting", pod.key)
            return AddReply(successful=False, error_message=f"{pod.key}: {VPP_RESTARTING}")
        async with self._locks.hold((pod.netns, pod.key.interface)):
            try:
                await self._drop_stale(pod)
                intended = await self._intend(pod, translated.warnings)
                try:
                    await self._enter(pod)
                except BaseException:
                    if intended:
                        await self._forget(pod.key)
                    raise
            except (CniRequestError, podside.PodSideError, OSError, StoreWriteError) as e:
                log.warning("CNI ADD %s refused: %s", pod.key, e)
                return AddReply(successful=False, error_message=f"{e}")
            try:
                mac = await self._program(pod)
                self.store.put(PodRecord(pod, translated.warnings))
                await asyncio.to_thread(self.store.save)
            except Exception as e:
                log.error("CNI ADD %s failed, undoing it: %s", pod.key, e)
                await self._remove(pod)
                if isinstance(e, VppConnectionError) or not self.vpp_available():
                    return AddReply(
                        successful=False, error_message=f"{pod.key}: {VPP_RESTARTING} ({e})"
                    )
                return AddReply(successful=False, error_message=f"{pod.key}: {e}")
        for warning in translated.warnings:
            log.warning("CNI ADD %s: %s", pod.key, warning)
        log.info("CNI ADD %s: %s %s", pod.key, pod.interface_type, pod.host_interface_name)
        return AddReply(
            successful=True,
            error_message="; ".join(f"warning: {w}" for w in translated.warnings),
            host_interface_name=pod.host_interface_name,
            container_mac=mac,
        )

    async def _intend(self, pod: PodInterface, warnings: tuple[str, ...]) -> bool:
        """A veth pair is made by the agent, not by VPP (whose interfaces a restarted agent
        finds by their tags): a new veth pod is recorded as pending before its pair is
        made, so an agent killed half-way removes the pair when it starts again."""
        if pod.interface_type is not InterfaceType.VETH or self.store.get(pod.key) is not None:
            return False
        self.store.put(PodRecord(pod, warnings, pending=True))
        try:
            await asyncio.to_thread(self.store.save)
        except StoreWriteError:
            self.store.remove(pod.key)
            raise
        return True

    async def _forget(self, key: PodInterfaceKey) -> None:
        if self.store.remove(key) is not None:
            try:
                await asyncio.to_thread(self.store.save)
            except StoreWriteError as e:  # a stale pending record only removes a missing veth
                log.error("CNI %s: %s", key, e)

    async def _drop_stale(self, pod: PodInterface) -> None:
        """A pod recreated under the same name while the old sandbox is gone but was
        never DELeted: the old interface is removed, not reported as a duplicate."""
        old = self.state.model.pod_interfaces.get(pod.key)
        if old is not None and old.netns != pod.netns and not netns_exists(old.netns):
            log.warning(
                "CNI ADD %s: replacing a stale interface in vanished %s", pod.key, old.netns
            )
            await self._remove(old)

    async def _enter(self, pod: PodInterface) -> None:
        """Into the model, with a veth pod's pair made first.

        A converge run for another pod may program this one as soon as it is in
        the model, so what VPP needs (the veth's host end, for af_packet) must
        exist before. The conflict checks run before the pair is made and again,
        atomically, when the pod goes in; a pair made for nothing is removed.
        """
        if pod.interface_type is not InterfaceType.VETH:
            self.state.update(lambda m: _admit(m, pod), f"CNI ADD {pod.key}")
            return
        _admit(self.state.model, pod)  # refuse before making anything
        created = await asyncio.to_thread(podside.create_veth, pod)
        try:
            self.state.update(lambda m: _admit(m, pod), f"CNI ADD {pod.key}")
        except CniRequestError:
            if created:
                await asyncio.to_thread(podside.delete_veth, pod.host_interface_name)
            raise

    async def _program(self, pod: PodInterface) -> str:
        keys = pod_keys(self.state.model, pod)
        result = await asyncio.to_thread(self.dataplane.converge, "cni")
        errors = result.errors_for(keys)
        if errors:
            raise ProgrammingError("VPP: " + "; ".join(errors))
        gateway_mac = None
        if pod.interface_type in (InterfaceType.TAP, InterfaceType.VETH):
            gateway_mac = await asyncio.to_thread(self._vpp_mac, pod)
        return _checked_mac(pod, await asyncio.to_thread(podside.configure, pod, gateway_mac))

    def _vpp_mac(self, pod: PodInterface) -> str:
        """VPP's MAC on the pod's Ethernet interface: the pod's gateway neighbour."""
        reconciler = self.dataplane.reconciler
        index = reconciler.observed.sw_if_index.get(interface_name(pod))
        if index is None:
            raise ProgrammingError(f"VPP has no interface {interface_name(pod)}")
        details = reconciler.conn.dump(interfaces.dump(index))
        if not details:
            raise ProgrammingError(f"VPP has no interface {index} ({interface_name(pod)})")
        return details[0].mac

    # -- DEL -----------------------------------------------------------------------
    async def delete(self, req: DelRequest) -> DelReply:
        """Success for an unknown pod and for an empty netns (nothing names the pod)."""
        if not req.netns or not req.interface_name:
            return DelReply(successful=True)
        netns = os.path.normpath(req.netns)
        async with self._locks.hold((netns, req.interface_name)):
            pod = self._find(netns, req.interface_name)
            if pod is None:
                await self._retry_pending()
                return DelReply(successful=True)
            errors = await self._remove(pod)
        if errors:
            return DelReply(successful=False, error_message=f"{pod.key}: " + "; ".join(errors))
        log.info("CNI DEL %s", pod.key)
        return DelReply(successful=True)

    async def _retry_pending(self) -> None:
        """A repeated DEL is the runtime retrying one that failed in VPP: converging
        retries the deletes still pending (a no-op when nothing is)."""
        try:
            await asyncio.to_thread(self.dataplane.converge, "cni")
        except Exception as e:
            log.warning("CNI DEL: retrying pending VPP changes failed: %s", e)

    def _find(self, netns: str, interface: str) -> PodInterface | None:
        record = self.store.find(netns, interface)
        if record is not None:
            return self.state.model.pod_interfaces.get(record.pod.key, record.pod)
        return next(
            (
                p
                for p in self.state.model.pod_interfaces.values()
                if p.netns == netns and p.key.interface == interface
            ),
            None,
        )

    async def _remove(self, pod: PodInterface) -> list[str]:
        """Model, VPP (converge), veth, record: each step tried even if one before failed."""
        errors: list[str] = []
        try:
            keys = pod_keys(self.state.model, pod)
        except KeyError as e:  # its network is gone from the model: nothing renders
            keys = frozenset()
            log.warning("CNI %s: cannot render (%s)", pod.key, e)
        self.state.remove_pod_interface(pod.key)
        try:
            result = await asyncio.to_thread(self.dataplane.converge, "cni")
            errors += result.errors_for(keys)
        except Exception as e:
            errors.append(f"VPP: {e}")
        if pod.interface_type is InterfaceType.VETH:
            try:
                await asyncio.to_thread(podside.delete_veth, pod.host_interface_name)
            except Exception as e:
                errors.append(f"veth {pod.host_interface_name}: {e}")
        if self.store.remove(pod.key) is not None:
            try:
                await asyncio.to_thread(self.store.save)
            except Exception as e:
                errors.append(str(e))
        for error in errors:
            log.error("CNI removing %s: %s", pod.key, error)
        return errors

    # -- housekeeping ----------------------------------------------------------------
    async def refresh_pod_side(self) -> list[str]:
        """Redo the pod-side set-up of every recorded pod; returns what failed.

        After VPP restarts, the tun/tap devices in the pods are new ones (VPP
        made them again with the same names and addresses), so the routes the
        CNI added through them are gone, and an Ethernet pod's gateway
        neighbour must point at VPP's new MAC.
        """
        problems: list[str] = []
        for record in list(self.store.records.values()):
            pod = record.pod
            if record.pending:  # its ADD is in progress: that ADD sets the pod up
                continue
            async with self._locks.hold((pod.netns, pod.key.interface)):
                try:
                    gateway_mac = None
                    if pod.interface_type in (InterfaceType.TAP, InterfaceType.VETH):
                        gateway_mac = await asyncio.to_thread(self._vpp_mac, pod)
                    _checked_mac(pod, await asyncio.to_thread(podside.configure, pod, gateway_mac))
                except (ProgrammingError, podside.PodSideError, VppError, OSError) as e:
                    problems.append(f"{pod.key}: {e}")
        return problems

    async def prune(self) -> list[PodInterfaceKey]:
        """Undo ADDs a killed agent left half-way; remove recorded pods whose netns has
        vanished without a DEL."""
        await self._undo_abandoned()
        gone = [r.pod for r in list(self.store.records.values()) if not netns_exists(r.pod.netns)]
        for pod in gone:
            async with self._locks.hold((pod.netns, pod.key.interface)):
                if self.store.get(pod.key) is not None:
                    log.warning("CNI: %s's netns %s vanished; removing it", pod.key, pod.netns)
                    await self._remove(pod)
        return [pod.key for pod in gone]

    async def _undo_abandoned(self) -> None:
        abandoned, self._abandoned = self._abandoned, []
        for pod in abandoned:
            async with self._locks.hold((pod.netns, pod.key.interface)):
                record = self.store.get(pod.key)
                if record is None or not record.pending:
                    continue
                log.warning("CNI: undoing %s's ADD, cut short by the agent's end", pod.key)
                try:
                    await asyncio.to_thread(self._delete_untagged_af_packet, pod)
                except VppError as e:
                    log.error("CNI: %s: %s", pod.key, e)
                await self._remove(pod)

    def _delete_untagged_af_packet(self, pod: PodInterface) -> None:
        """VPP tags an af_packet interface only after making it: one made for this pod's
        veth and not yet tagged is this pod's (the tagged ones the resync removed)."""
        reconciler = self.dataplane.reconciler
        conn = reconciler.conn
        for afp in conn.dump(af_packet.dump()):
            if afp.host_if_name != pod.host_interface_name:
                continue
            details = conn.dump(interfaces.dump(afp.sw_if_index))
            if details and details[0].tag == "":
                log.warning(
                    "CNI: deleting %s's untagged af_packet on %s", pod.key, afp.host_if_name
                )
                conn.call(af_packet.delete(afp.host_if_name, f"{pod.key} (abandoned)"))
                reconciler.refresh()  # the cached view of VPP had it as foreign

    def warnings(self, key: PodInterfaceKey) -> tuple[str, ...]:
        """What the ADD of a pod interface warned about (for endpoint status)."""
        record = self.store.get(key)
        return record.warnings if record is not None else ()


def _checked_mac(pod: PodInterface, found: str) -> str:
    """The pod side's MAC, which must be the one VPP was told (its static neighbour):
    a pod VPP cannot send to is an error, not a silent black hole."""
    if pod.mac is not None and found.lower() != pod.mac.lower():
        raise ProgrammingError(
            f"{pod.key.interface} in {pod.netns} has MAC {found}, not {pod.mac} "
            "(the MAC VPP sends the pod's traffic to)"
        )
    return found


def _admit(model: ClusterModel, pod: PodInterface) -> ClusterModel:
    """The model with ``pod`` in it; CniRequestError when it clashes with another pod
    interface or differs from an existing one with its key (a repeated ADD is equal)."""
    old = model.pod_interfaces.get(pod.key)
    if old is not None and cni_view(old) != cni_view(pod):
        raise CniRequestError("interface_name", _difference(old, pod))
    for other in model.pod_interfaces.values():
        if other.key != pod.key:
            _check_distinct(other, pod)
    new = pod if old is None else replace(pod, policy=old.policy)
    return replace(model, pod_interfaces=with_item(model.pod_interfaces, pod.key, new))


def _difference(old: PodInterface, new: PodInterface) -> str:
    fields = [
        f"{name}: {getattr(old, name)} vs {getattr(new, name)}"
        for name in PodInterface.__dataclass_fields__
        if name != "policy" and getattr(old, name) != getattr(new, name)
    ]
    return f"{new.key} already exists with different settings ({'; '.join(fields)})"


def _check_distinct(other: PodInterface, pod: PodInterface) -> None:
    if other.netns == pod.netns and other.key.interface == pod.key.interface:
        raise CniRequestError(
            "interface_name", f"{pod.key.interface} in {pod.netns} already belongs to {other.key}"
        )
    if other.host_interface_name == pod.host_interface_name:
        raise CniRequestError(
            "desired_host_interface_name",
            f"{pod.host_interface_name} is already the host interface of {other.key}",
        )
    if other.network == pod.network:
        shared = sorted(str(ip) for ip in set(other.ip_addresses) & set(pod.ip_addresses))
        if shared:
            raise CniRequestError(
                "container_ips", f"{', '.join(shared)} already used by {other.key}"
            )
