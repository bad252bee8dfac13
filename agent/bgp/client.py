"""A typed client of gobgpd's gRPC API (GoBGP's ``apipb.GobgpApi``, our trimmed proto).

Every call has a deadline and turns gRPC's errors into :class:`BgpApiError`
naming the operation, so callers never see grpc's exception types. The
event stream (``WatchEvent``) is exposed as an iterator that a thread
consumes; :meth:`close` cancels it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from agent.bgp.errors import BgpApiError
from agent.proto_gen import gobgp_pb2 as pb
from agent.proto_gen import gobgp_pb2_grpc as rpc

T = TypeVar("T")


class GobgpClient:
    def __init__(self, target: str, timeout: float = 10.0) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target)
        self._stub = rpc.GobgpApiStub(self._channel)
        self._streams: list[Any] = []

    def close(self) -> None:
        for stream in self._streams:
            stream.cancel()
        self._streams.clear()
        self._channel.close()

    def __enter__(self) -> GobgpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except grpc.RpcError as e:
            raise _api_error(operation, e) from None

    # -- global -----------------------------------------------------------------

    def get_global(self) -> pb.Global:
        reply = self._call("GetBgp", lambda: self._stub.GetBgp(pb.GetBgpRequest(), self.timeout))
        return getattr(reply, "global")  # type: ignore[no-any-return]

    def start(self, global_: pb.Global) -> None:
        request = pb.StartBgpRequest(**{"global": global_})
        self._call(
            f"StartBgp as {global_.asn} id {global_.router_id}",
            lambda: self._stub.StartBgp(request, self.timeout),
        )

    # -- peers ------------------------------------------------------------------

    def add_peer(self, peer: pb.Peer) -> None:
        address = peer.conf.neighbor_address
        self._call(
            f"AddPeer {address}",
            lambda: self._stub.AddPeer(pb.AddPeerRequest(peer=peer), self.timeout),
        )

    def delete_peer(self, address: str) -> None:
        self._call(
            f"DeletePeer {address}",
            lambda: self._stub.DeletePeer(pb.DeletePeerRequest(address=address), self.timeout),
        )

    def peers(self) -> list[pb.Peer]:
        return self._call(
            "ListPeer",
            lambda: [r.peer for r in self._stub.ListPeer(pb.ListPeerRequest(), self.timeout)],
        )

    # -- paths ------------------------------------------------------------------

    def add_path(self, path: pb.Path) -> bytes:
        reply = self._call(
            "AddPath",
            lambda: self._stub.AddPath(
                pb.AddPathRequest(table_type=pb.GLOBAL, path=path), self.timeout
            ),
        )
        return bytes(reply.uuid)

    def add_paths(self, paths: list[pb.Path], batch: int = 1000) -> None:
        """Many paths in one client stream (AddPathStream), ``batch`` per message."""

        def requests() -> Iterator[pb.AddPathStreamRequest]:
            for i in range(0, len(paths), batch):
                yield pb.AddPathStreamRequest(table_type=pb.GLOBAL, paths=paths[i : i + batch])

        self._call(
            f"AddPathStream ({len(paths)} paths)",
            lambda: self._stub.AddPathStream(requests(), max(self.timeout, len(paths) / 1000)),
        )

    def delete_path(self, path: pb.Path) -> None:
        self._call(
            "DeletePath",
            lambda: self._stub.DeletePath(
                pb.DeletePathRequest(table_type=pb.GLOBAL, family=path.family, path=path),
                self.timeout,
            ),
        )

    def delete_all(self, family: pb.Family) -> None:
        """Withdraw every path this gobgpd originated in ``family`` (no path: all of them)."""
        self._call(
            "DeletePath (all)",
            lambda: self._stub.DeletePath(
                pb.DeletePathRequest(table_type=pb.GLOBAL, family=family), self.timeout
            ),
        )

    def paths(self, family: pb.Family) -> list[tuple[str, pb.Path]]:
        """Every path of ``family`` in the global RIB, with its destination's prefix text."""

        def collect() -> list[tuple[str, pb.Path]]:
            stream = self._stub.ListPath(
                pb.ListPathRequest(table_type=pb.GLOBAL, family=family), self.timeout * 6
            )
            return [(r.destination.prefix, p) for r in stream for p in r.destination.paths]

        return self._call("ListPath", collect)

    # -- events -----------------------------------------------------------------

    def watch(self) -> Iterator[pb.WatchEventResponse]:
        """Best-path changes (the current table first) and peer state changes, until
        cancelled by :meth:`close` or the server goes away (BgpApiError UNAVAILABLE)."""
        best = pb.WatchEventRequest.Table.Filter(
            type=pb.WatchEventRequest.Table.Filter.BEST, init=True
        )
        request = pb.WatchEventRequest(
            table=pb.WatchEventRequest.Table(filters=[best]),
            peer=pb.WatchEventRequest.Peer(),
        )
        stream = self._call("WatchEvent", lambda: self._stub.WatchEvent(request))
        self._streams.append(stream)
        try:
            while True:
                try:
                    event = next(stream)
                except StopIteration:
                    return
                except grpc.RpcError as e:
                    raise _api_error("WatchEvent", e) from None
                yield event
        finally:
            if stream in self._streams:
                self._streams.remove(stream)


def _api_error(operation: str, e: grpc.RpcError) -> BgpApiError:
    code = e.code() if isinstance(e, grpc.Call) else None
    details = e.details() if isinstance(e, grpc.Call) else str(e)
    return BgpApiError(operation, code.name if code else "UNKNOWN", str(details))
