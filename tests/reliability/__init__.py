"""Reliability at scale: agent restarts, VPP crashes, load and injected faults."""
