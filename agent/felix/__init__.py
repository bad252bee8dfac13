"""Felix's external dataplane driver: framing, proxy protocol, sync state machine.

Felix starts felix-proxy (a static C binary, see felix-proxy/) as its
dataplane driver; the proxy carries Felix's framed protobuf stream to
:class:`FelixDriverServer`, which keeps everything Felix sent in a typed store,
turns it into the cluster model at InSync and incrementally afterwards,
converges the dataplane and reports endpoint and process status back.
See docs/felix.md.
"""

from agent.felix.config import FelixSettings
from agent.felix.server import DataplaneLike, FelixDriverServer
from agent.felix.stats import FelixStats
from agent.felix.sync import SyncState

__all__ = ["DataplaneLike", "FelixDriverServer", "FelixSettings", "FelixStats", "SyncState"]
