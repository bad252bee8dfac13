"""Typed converters from Kubernetes objects (JSON dicts) to model entities.

Pure functions: no client, no state. Each raises
:class:`~agent.k8s.convert.meta.ConversionError` (reason, field, message) for
an object it cannot use, so the caller can report that object and go on.
"""

from agent.k8s.convert.meta import ConversionError, ObjectMeta

__all__ = ["ConversionError", "ObjectMeta"]
