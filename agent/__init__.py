"""vppnet node agent: makes VPP the dataplane of a Calico cluster."""
