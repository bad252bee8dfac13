"""The ownership index's npol journal: appended, replayed, retired, and safe to cut.

An npol record change (an IP set member, a rule) is one fsynced line appended next
to the index instead of a rewrite of the whole file; loading replays the lines of
the file's generation; a rewrite retires the journal; a line cut short by a crash
ends the replay and makes the next save a rewrite.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import pytest

from agent.reconcile import index as index_module
from agent.reconcile.index import IndexWriteError, OwnershipIndex
from agent.reconcile.journal import read_npol_records

META = {"version": 1, "vpe_pid": 42}


def record(n: int) -> str:
    return json.dumps({"kind": "net", "members": f"10.0.0.{n}/32", "id": n})


@pytest.fixture
def saved(tmp_path: Path) -> OwnershipIndex:
    """An index with a route and two npol records, written whole."""
    index = OwnershipIndex.load(tmp_path / "index.json")
    index.npol.update(META)
    index.routes.add("route 0 10.0.0.0/8")
    index.put_npol("npol-ipset net:a", record(1))
    index.put_npol("npol-ipset net:b", record(2))
    index.save()
    return index


def journal(index: OwnershipIndex) -> Path:
    assert index.journal_path is not None
    return index.journal_path


def reloaded(index: OwnershipIndex) -> OwnershipIndex:
    assert index.path is not None
    return OwnershipIndex.load(index.path)


def test_a_record_change_is_one_journal_line_and_the_file_is_not_rewritten(
    saved: OwnershipIndex,
) -> None:
    assert saved.path is not None
    file_before = saved.path.read_bytes()
    assert not journal(saved).exists()

    saved.put_npol("npol-ipset net:a", record(3))
    saved.put_npol("npol-ipset net:b", None)
    assert saved.needs_save and not saved.dirty
    saved.save()

    assert saved.path.read_bytes() == file_before
    assert len(journal(saved).read_bytes().splitlines()) == 1
    assert not saved.needs_save
    again = reloaded(saved)
    assert again.npol == saved.npol and again.routes == saved.routes
    assert again.npol["objects"] == {"npol-ipset net:a": record(3)}
    assert read_npol_records(saved.path) == saved.npol  # what `vppnet explain` reads
    assert not again.needs_save


def test_anything_else_rewrites_the_file_and_retires_the_journal(saved: OwnershipIndex) -> None:
    saved.put_npol("npol-ipset net:a", record(3))
    saved.save()
    assert journal(saved).exists()
    saved.routes.add("route 0 10.1.0.0/16")
    saved.dirty = True  # as the applier marks it
    saved.put_npol("npol-ipset net:b", record(4))
    saved.save()
    assert not journal(saved).exists()
    again = reloaded(saved)
    assert again.npol == saved.npol and "route 0 10.1.0.0/16" in again.routes


def test_a_big_journal_is_folded_into_the_file(
    saved: OwnershipIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_COMPACT_MIN_BYTES", 300)
    folds = 0
    for n in range(10):
        had_lines = journal(saved).exists()
        saved.put_npol("npol-ipset net:a", record(10 + n))
        saved.save()
        size = journal(saved).stat().st_size if journal(saved).exists() else 0
        assert size <= 300  # never past the bound: a line that would cross it is a rewrite
        folds += had_lines and size == 0
        assert reloaded(saved).npol == saved.npol
    assert folds >= 2


def test_a_line_cut_short_ends_the_replay_and_the_next_save_rewrites(
    saved: OwnershipIndex, caplog: pytest.LogCaptureFixture
) -> None:
    saved.put_npol("npol-ipset net:a", record(3))
    saved.save()
    kept = dict(saved.npol["objects"])
    saved.put_npol("npol-ipset net:a", record(4))
    saved.save()
    lines = journal(saved).read_bytes().splitlines(keepends=True)
    journal(saved).write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])  # the crash

    with caplog.at_level(logging.WARNING):
        again = reloaded(saved)
    assert again.npol["objects"] == kept  # up to the last whole line
    assert "1 line(s) not applied" in caplog.text
    assert again.dirty
    again.save()
    assert not journal(again).exists()
    assert reloaded(again).npol["objects"] == kept


def test_lines_of_an_older_file_are_ignored(saved: OwnershipIndex) -> None:
    """A crash between rewriting the file and removing the journal leaves old lines."""
    saved.put_npol("npol-ipset net:a", record(3))
    saved.save()
    old_lines = journal(saved).read_bytes()
    saved.put_npol("npol-ipset net:a", record(5))
    saved.dirty = True
    saved.save()  # a rewrite: a new generation, the journal removed
    journal(saved).write_bytes(old_lines)  # ... as if the removal never happened
    again = reloaded(saved)
    assert again.npol["objects"]["npol-ipset net:a"] == record(5)
    assert again.dirty  # the stale journal goes at the next save


def test_a_full_disk_under_the_journal_keeps_the_disk_whole_and_rewrites_next(
    saved: OwnershipIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert saved.path is not None
    file_before = saved.path.read_bytes()
    saved.put_npol("npol-ipset net:a", record(3))

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", no_space)
        with pytest.raises(IndexWriteError, match=r"journal .*No space left on device"):
            saved.save()
    assert saved.path.read_bytes() == file_before
    assert saved.dirty and saved.needs_save  # nothing is lost: the next save rewrites
    saved.save()
    assert not journal(saved).exists()
    assert reloaded(saved).npol["objects"]["npol-ipset net:a"] == record(3)
