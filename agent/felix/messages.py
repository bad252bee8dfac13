"""Envelopes: ToDataplane payloads in, FromDataplane status messages out.

Felix adds payload types over time (and v3.32 sends types master no longer
defines), so a payload this build does not know is not an error: the decoder
names its field number so the caller can log it once and move on.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from agent.proto_gen import felixbackend_pb2 as pb

PAYLOAD_FIELDS: Final = {
    field.number: field.name for field in pb.ToDataplane.DESCRIPTOR.oneofs_by_name["payload"].fields
}
"""Field number -> oneof name of every ToDataplane payload this build knows."""

UP: Final = "up"
DOWN: Final = "down"
ERROR: Final = "error"
"""Endpoint status words as Felix's own dataplanes write them."""


class MalformedMessageError(ValueError):
    """A frame whose bytes are not a ToDataplane protobuf."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One decoded ToDataplane: its payload's oneof name and message, or what was unknown.

    ``kind`` is None for an empty envelope and for a payload this build does not
    know; ``unknown_fields`` then lists the field numbers that were present.
    """

    sequence_number: int
    kind: str | None
    payload: Message | None
    unknown_fields: tuple[int, ...] = ()


def decode(data: bytes) -> Envelope:
    """Parse one frame's payload; raises :class:`MalformedMessageError` for invalid bytes."""
    envelope = pb.ToDataplane()
    try:
        envelope.ParseFromString(data)
    except DecodeError as e:
        raise MalformedMessageError(f"not a ToDataplane message ({len(data)} bytes): {e}") from None
    kind = envelope.WhichOneof("payload")
    if kind is not None:
        return Envelope(envelope.sequence_number, kind, getattr(envelope, kind))
    fields = UnknownFieldSet(envelope)
    unknown = tuple(sorted({int(fields[i].field_number) for i in range(len(fields))}))
    return Envelope(envelope.sequence_number, None, None, unknown)


def endpoint_id(orchestrator: str, workload: str, endpoint: str) -> pb.WorkloadEndpointID:
    return pb.WorkloadEndpointID(
        orchestrator_id=orchestrator, workload_id=workload, endpoint_id=endpoint
    )


class StatusEncoder:
    """Builds FromDataplane frames, numbering them from 0 as Felix's peers do."""

    def __init__(self) -> None:
        self._sequence = 0

    def _envelope(self, **payload: Message) -> bytes:
        message = pb.FromDataplane(sequence_number=self._sequence, **payload)  # type: ignore[arg-type]
        self._sequence += 1
        return message.SerializeToString()

    def process_status(self, uptime: float, now: datetime.datetime | None = None) -> bytes:
        """The driver's heartbeat: wall-clock time (ISO 8601, UTC) and uptime in seconds."""
        stamp = (now or datetime.datetime.now(datetime.UTC)).isoformat()
        return self._envelope(
            process_status_update=pb.ProcessStatusUpdate(iso_timestamp=stamp, uptime=uptime)
        )

    def endpoint_status(
        self,
        wid: pb.WorkloadEndpointID,
        status: str,
        endpoint: pb.WorkloadEndpoint | None = None,
    ) -> bytes:
        update = pb.WorkloadEndpointStatusUpdate(
            id=wid, status=pb.EndpointStatus(status=status), endpoint=endpoint
        )
        return self._envelope(workload_endpoint_status_update=update)

    def endpoint_status_remove(self, wid: pb.WorkloadEndpointID) -> bytes:
        return self._envelope(
            workload_endpoint_status_remove=pb.WorkloadEndpointStatusRemove(id=wid)
        )
