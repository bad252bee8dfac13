"""want_interface_events subscriptions and the sw_interface_event fan-out.

Events carry no context, so papi hands them to the registered callback. Each
subscriber gets the events in the order the state changed: they are queued
under the simulator lock, right after the change, and written by the
subscriber's own connection (see transport.connection), so a slow subscriber
delays nobody else.
"""

from __future__ import annotations

import logging

from agent.vppsim.codec import ApiSchema
from agent.vppsim.handlers.base import Client
from agent.vppsim.state import InterfaceEvent

log = logging.getLogger(__name__)


class Subscriptions:
    def __init__(self, schema: ApiSchema) -> None:
        self._event = schema.messages.get("sw_interface_event")
        self._subs: dict[Client, int] = {}

    def subscribe(self, client: Client, pid: int) -> bool:
        if client in self._subs:
            return False
        self._subs[client] = pid
        return True

    def unsubscribe(self, client: Client) -> bool:
        return self._subs.pop(client, None) is not None

    def subscribers(self) -> list[Client]:
        return list(self._subs)

    def clear(self) -> None:
        self._subs.clear()

    def publish(self, events: list[InterfaceEvent]) -> None:
        if not events or not self._subs or self._event is None:
            return
        for client, pid in list(self._subs.items()):
            for ev in events:
                client.push_event(
                    self._event.encode(
                        {
                            "client_index": client.client_index,
                            "pid": pid,
                            "sw_if_index": ev.sw_if_index,
                            "flags": ev.flags,
                            "deleted": ev.deleted,
                        }
                    )
                )
