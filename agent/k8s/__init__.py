"""The Kubernetes sources: list-then-watch of Networks, NADs, Pods and Nodes into the model.

Built on the official ``kubernetes`` client. :class:`KubernetesSources` is
what the agent starts; :class:`K8sSettings` configures it. Objects are
converted by :mod:`agent.k8s.convert`, merged by :mod:`agent.k8s.catalog`,
and reported back (status, finalizers, Events, node prefixes) by
:mod:`agent.k8s.writeback`.
"""

from agent.k8s.config import K8sSettings
from agent.k8s.runner import KubernetesSources

__all__ = ["K8sSettings", "KubernetesSources"]
