"""The one error type a bad CNI request produces: it names the field at fault."""

from __future__ import annotations


class CniRequestError(ValueError):
    """A request the agent refuses, before anything was changed.

    ``field`` is the request field (``container_ips[1].address``) or the pod
    annotation (``cni.projectcalico.org/vppInterfacesSpec``) whose value is
    wrong, so Calico's error message points the operator at the culprit.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
