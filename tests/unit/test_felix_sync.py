"""The sync state machine: ConfigUpdate, snapshot, InSync; violations; restart-needing config."""

from __future__ import annotations

import pytest

from agent.felix.changes import ChangeSet
from agent.felix.sync import FelixSync, Outcome, ProtocolViolationError, SyncState
from agent.proto_gen import felixbackend_pb2 as pb

CONFIG = pb.ConfigUpdate(config={"FelixHostname": "a", "ClusterGUID": "1"})


def test_waiting_for_config_then_syncing_then_in_sync() -> None:
    sync = FelixSync()
    states = [sync.state]
    namespace = pb.NamespaceUpdate(id=pb.NamespaceID(name="ns"))
    outcomes = []
    for kind, message in (
        ("config_update", CONFIG),
        ("namespace_update", namespace),
        ("in_sync", pb.InSync()),
    ):
        outcomes.append(sync.handle(kind, message, ChangeSet()))
        states.append(sync.state)
    assert states == [
        SyncState.WAITING_FOR_CONFIG,
        SyncState.SYNCING,
        SyncState.SYNCING,
        SyncState.IN_SYNC,
    ]
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.REACHED_IN_SYNC]
    assert sync.in_sync and sync.store.namespaces == {"ns": {}}


def test_nothing_but_config_is_accepted_first() -> None:
    sync = FelixSync()
    with pytest.raises(ProtocolViolationError, match="before Felix's first ConfigUpdate"):
        sync.handle("in_sync", pb.InSync(), ChangeSet())
    assert sync.state is SyncState.WAITING_FOR_CONFIG


def test_a_second_insync_is_a_violation() -> None:
    sync = FelixSync()
    sync.handle("config_update", CONFIG, ChangeSet())
    sync.handle("in_sync", pb.InSync(), ChangeSet())
    with pytest.raises(ProtocolViolationError, match="second InSync"):
        sync.handle("in_sync", pb.InSync(), ChangeSet())
    assert sync.in_sync


def test_restart_free_config_changes_do_not_expect_a_restart() -> None:
    sync = FelixSync()
    sync.handle("config_update", CONFIG, ChangeSet())
    changed = pb.ConfigUpdate(config={"FelixHostname": "a", "ClusterGUID": "2", "ClusterType": "x"})
    changes = ChangeSet()
    sync.handle("config_update", changed, changes)
    assert sync.restart_expected is None and changes.config
    assert sync.store.config["ClusterGUID"] == "2"


def test_other_config_changes_expect_felix_to_restart_and_are_still_applied() -> None:
    sync = FelixSync()
    sync.handle("config_update", CONFIG, ChangeSet())
    sync.handle("in_sync", pb.InSync(), ChangeSet())
    changed = pb.ConfigUpdate(config={"FelixHostname": "a", "ClusterGUID": "1", "VXLANVNI": "9"})
    sync.handle("config_update", changed, ChangeSet())
    assert sync.restart_expected is not None and "VXLANVNI" in sync.restart_expected
    assert sync.store.config["VXLANVNI"] == "9" and sync.in_sync


def test_a_changed_encapsulation_expects_a_restart() -> None:
    sync = FelixSync()
    sync.handle("config_update", CONFIG, ChangeSet())
    sync.handle("encapsulation", pb.Encapsulation(ipip_enabled=True), ChangeSet())
    sync.handle("encapsulation", pb.Encapsulation(ipip_enabled=True), ChangeSet())
    assert sync.restart_expected is None
    sync.handle("encapsulation", pb.Encapsulation(vxlan_enabled=True), ChangeSet())
    assert sync.restart_expected == "Felix's encapsulation changed"
