"""Envelopes, status encoding, the private socket, and the settings."""

from __future__ import annotations

import datetime
import os
import socket
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.felix import FelixSettings
from agent.felix.messages import (
    MalformedMessageError,
    StatusEncoder,
    decode,
    endpoint_id,
)
from agent.felix.unixsock import SocketPathError, inode_of, listen_unix, remove_if_same
from agent.proto_gen import felixbackend_pb2 as pb


def test_a_known_payload_decodes_with_its_sequence_number() -> None:
    raw = pb.ToDataplane(sequence_number=7, ipset_remove=pb.IPSetRemove(id="s:a"))
    envelope = decode(raw.SerializeToString())
    assert envelope.sequence_number == 7 and envelope.kind == "ipset_remove"
    assert isinstance(envelope.payload, pb.IPSetRemove) and envelope.payload.id == "s:a"


def test_an_unknown_payload_names_its_field_number() -> None:
    raw = bytes([0xC2, 0x02, 0x02]) + b"hi"  # field 40, 2 bytes
    envelope = decode(raw + pb.ToDataplane(sequence_number=3).SerializeToString())
    assert envelope.kind is None and envelope.unknown_fields == (40,)
    assert envelope.sequence_number == 3
    assert decode(b"").unknown_fields == ()


def test_v3_32_host_metadata_payloads_are_known() -> None:
    update = pb.HostMetadataV4V6Update(hostname="a", ipv4_addr="10.0.0.1/24")
    envelope = decode(pb.ToDataplane(host_metadata_v4v6_update=update).SerializeToString())
    assert envelope.kind == "host_metadata_v4v6_update"


def test_garbage_is_a_malformed_message() -> None:
    with pytest.raises(MalformedMessageError, match="not a ToDataplane message"):
        decode(b"\x0a\xff\xff")


def test_status_messages_are_numbered_from_zero() -> None:
    encoder = StatusEncoder()
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    first = pb.FromDataplane.FromString(encoder.process_status(12.5, when))
    assert first.sequence_number == 0
    assert first.process_status_update.iso_timestamp == "2026-01-02T03:04:05+00:00"
    assert first.process_status_update.uptime == 12.5
    wid = endpoint_id("k8s", "ns/p", "eth0")
    second = pb.FromDataplane.FromString(encoder.endpoint_status(wid, "up"))
    assert second.sequence_number == 1
    assert second.workload_endpoint_status_update.status.status == "up"
    assert second.workload_endpoint_status_update.id.workload_id == "ns/p"
    third = pb.FromDataplane.FromString(encoder.endpoint_status_remove(wid))
    assert third.workload_endpoint_status_remove.id.endpoint_id == "eth0"


def test_the_socket_is_0600_and_replaces_a_stale_one(tmp_path: Path) -> None:
    path = tmp_path / "run" / "felix.sock"
    stale = listen_unix(path)
    stale.close()  # a crashed agent left its socket file behind
    sock = listen_unix(path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))
        client.close()
        assert [p.name for p in path.parent.iterdir()] == ["felix.sock"]
        inode = inode_of(path)
        remove_if_same(path, (inode or 0) + 1)  # not ours any more: left alone
        assert path.exists()
        remove_if_same(path, inode)
        assert not path.exists()
    finally:
        sock.close()


def test_a_non_socket_at_the_path_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "felix.sock"
    path.write_text("precious")
    with pytest.raises(SocketPathError, match="not a socket"):
        listen_unix(path)
    assert path.read_text() == "precious"


def test_settings_are_strict() -> None:
    assert FelixSettings().socket == "/var/run/calico/vppnet-felix.sock"
    with pytest.raises(ValidationError):
        FelixSettings(sockett="/x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FelixSettings(max_frame_bytes=10)
