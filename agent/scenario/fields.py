"""Scalar field types of the scenario format: strings in, model types out.

Each parser raises ``ValueError`` with a message written for the person editing the
file; pydantic carries it to the error report together with the field's path.
"""

from __future__ import annotations

import posixpath
import re
from ipaddress import ip_address, ip_interface, ip_network
from typing import Annotated, Final

from pydantic import AfterValidator, PlainValidator

from agent.model import IPAddress, IPInterface, IPNetwork, NadRef
from agent.scenario.errors import shorten

MAX_VNI: Final = 2**24 - 1
MAX_TABLE_ID: Final = 2**32 - 1
MAX_IFNAME: Final = 15

DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:=+/-]*")


def quoted(value: object) -> str:
    """A user value for a message: quoted, escaped and short."""
    return shorten(repr(value))


def text_of(value: object, what: str) -> str:
    """The value if it is a string; the parsers below all start from text."""
    if not isinstance(value, str):
        raise ValueError(f"expected {what} (a string), got {quoted(value)}")
    return value


def parse_name(value: object) -> str:
    """A Kubernetes object name (RFC 1123 subdomain), as Kubernetes would accept it."""
    text = text_of(value, "a name")
    if len(text) > 253 or not _DNS_SUBDOMAIN.fullmatch(text):
        raise ValueError(
            f"{quoted(text)} is not a valid name: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return text


def parse_namespace(value: object) -> str:
    text = text_of(value, "a namespace")
    if len(text) > 63 or not DNS_LABEL.fullmatch(text):
        raise ValueError(
            f"{quoted(text)} is not a valid namespace: use at most 63 lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return text


def parse_optional_namespace(value: object) -> str:
    """A namespace, or the empty string for cluster-scoped objects (global policies)."""
    text = text_of(value, "a namespace")
    return text if text == "" else parse_namespace(text)


def parse_network_ref(value: object) -> str:
    """A network name; the empty string is Calico's default network."""
    text = text_of(value, "a network name")
    return text if text == "" else parse_name(text)


def parse_identifier(value: object) -> str:
    """An opaque id (IP set id, container id): any run of printable non-space characters."""
    text = text_of(value, "an id")
    if len(text) > 253 or not _IDENTIFIER.fullmatch(text):
        raise ValueError(f"{quoted(text)} is not a valid id: use letters, digits and _.:=+/-")
    return text


def parse_ifname(value: object) -> str:
    """A Linux interface name: what the kernel (IFNAMSIZ) and netlink will accept."""
    text = text_of(value, "an interface name")
    if not 0 < len(text) <= MAX_IFNAME:
        raise ValueError(f"interface name {quoted(text)} must have 1 to {MAX_IFNAME} characters")
    if text in (".", "..") or any(c in text for c in "/:") or any(c.isspace() for c in text):
        raise ValueError(f"interface name {quoted(text)} must not contain '/', ':' or spaces")
    return text


def parse_netns(value: object) -> str:
    """An absolute, normalised network-namespace path; nothing that could climb elsewhere."""
    text = text_of(value, "a netns path")
    if not text.startswith("/") or "\0" in text or len(text) > 4095:
        raise ValueError(f"netns {quoted(text)} must be an absolute path")
    if posixpath.normpath(text) != text or "/../" in f"{text}/":
        raise ValueError(
            f"netns {quoted(text)} must be a normalised path (no '..', '//' or trailing '/')"
        )
    return text


def parse_cidr(value: object) -> IPNetwork:
    """A prefix with an explicit length and no host bits: a pool, range, block or route."""
    text = text_of(value, "a CIDR")
    if "/" not in text:
        _require_address(text, "is not a valid CIDR")
        raise ValueError(f"{quoted(text)} needs its prefix length (e.g. {text}/24)")
    try:
        network = ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not a valid CIDR") from None
    if ip_interface(text).ip != network.network_address:
        raise ValueError(f"{quoted(text)} has host bits set (the prefix is {network})")
    return network


def parse_prefix(value: object) -> IPNetwork:
    """A CIDR, or a bare address meaning just that address (as Calico rules accept)."""
    text = text_of(value, "an address or CIDR")
    if "/" in text:
        return parse_cidr(text)
    return ip_network(parse_address(text))


def parse_address(value: object) -> IPAddress:
    text = text_of(value, "an IP address")
    try:
        return ip_address(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not a valid IP address") from None


def _require_address(text: str, otherwise: str) -> None:
    """Tell "forgot the prefix length" apart from "not an address at all"."""
    try:
        ip_address(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} {otherwise}") from None


def parse_node_address(value: object) -> IPInterface:
    """A node address with its subnet: CrossSubnet encapsulation decides on that subnet."""
    text = text_of(value, "an address with prefix length")
    if "/" not in text:
        _require_address(text, "is not a valid address with prefix length")
        raise ValueError(f"{quoted(text)} needs its prefix length (e.g. {text}/24)")
    return _interface(text)


def parse_pod_address(value: object) -> IPInterface:
    """A pod address; a bare address is a host prefix, as Calico IPAM hands them out."""
    return _interface(text_of(value, "a pod address"))


def _interface(text: str) -> IPInterface:
    try:
        return ip_interface(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not a valid address with prefix length") from None


def parse_nad_ref(value: object) -> NadRef:
    """A NetworkAttachmentDefinition as ``namespace/name``."""
    text = text_of(value, "a namespace/name reference")
    namespace, slash, name = text.partition("/")
    if not slash:
        raise ValueError(f"{quoted(text)} must be namespace/name")
    return NadRef(parse_namespace(namespace), parse_name(name))


def parse_policy_ref(value: object) -> tuple[str, str]:
    """A policy of the enclosing tier, as ``name`` or ``namespace/name``."""
    text = text_of(value, "a policy name")
    namespace, slash, name = text.rpartition("/")
    return (parse_namespace(namespace) if slash else ""), parse_name(name)


def check_vni(value: int) -> int:
    if not 1 <= value <= MAX_VNI:
        raise ValueError(f"VNI {value} is out of range 1..{MAX_VNI} (24 bits)")
    return value


def check_table_id(value: int) -> int:
    if not 1 <= value <= MAX_TABLE_ID:
        raise ValueError(
            f"VRF table id {value} is out of range 1..{MAX_TABLE_ID} (0 is the default VRF)"
        )
    return value


def check_queue_size(value: int) -> int:
    """Ring sizes VPP accepts for tap and memif rings: a power of two."""
    if not 64 <= value <= 32768 or value & (value - 1):
        raise ValueError(f"queue size {value} must be a power of two between 64 and 32768")
    return value


Name = Annotated[str, PlainValidator(parse_name)]
Namespace = Annotated[str, PlainValidator(parse_namespace)]
OptionalNamespace = Annotated[str, PlainValidator(parse_optional_namespace)]
NetworkRef = Annotated[str, PlainValidator(parse_network_ref)]
Identifier = Annotated[str, PlainValidator(parse_identifier)]
IfName = Annotated[str, PlainValidator(parse_ifname)]
NetnsPath = Annotated[str, PlainValidator(parse_netns)]
Cidr = Annotated[IPNetwork, PlainValidator(parse_cidr)]
Prefix = Annotated[IPNetwork, PlainValidator(parse_prefix)]
Address = Annotated[IPAddress, PlainValidator(parse_address)]
NodeAddress = Annotated[IPInterface, PlainValidator(parse_node_address)]
PodAddress = Annotated[IPInterface, PlainValidator(parse_pod_address)]
NadRefField = Annotated[NadRef, PlainValidator(parse_nad_ref)]
PolicyRef = Annotated[tuple[str, str], PlainValidator(parse_policy_ref)]
Vni = Annotated[int, AfterValidator(check_vni)]
TableId = Annotated[int, AfterValidator(check_table_id)]
QueueSize = Annotated[int, AfterValidator(check_queue_size)]
