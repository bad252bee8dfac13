"""A VPP API simulator: speaks VPP's binary API socket protocol to the unmodified vpp-papi.

It stands in for VPP v26.06 in tests, the demo and benchmarks: VPP-like state
(interfaces, FIB, tunnels, cnat, NAT, policies), VPP's return codes, dumps and
interface events, and real tun/tap devices for tap interfaces when it may.
"""

from agent.vppsim.simulator import Simulator, serve_forever

__all__ = ["Simulator", "serve_forever"]
