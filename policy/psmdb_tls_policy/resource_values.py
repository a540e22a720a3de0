"""Resource types, property lookups, policy config values and durations shared by the policies.

Properties reach a policy as the engine sends them: numbers as floats (every number crosses
gRPC as a protobuf double), secrets already unwrapped, and during a preview some values unknown.
Reading an unknown value through pulumi-policy's proxy raises UnknownValueError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

PSMDB_TYPE = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
SECRET_TYPE = "kubernetes:core/v1:Secret"
CERTIFICATE_TYPE = "kubernetes:cert-manager.io/v1:Certificate"
PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT_TYPE = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED_CERT_TYPE = "tls:index/locallySignedCert:LocallySignedCert"
PULUMI_TLS_CERT_TYPES = (SELF_SIGNED_CERT_TYPE, LOCALLY_SIGNED_CERT_TYPE)

TLS_SECRET_TYPE = "kubernetes.io/tls"
TLS_SECRET_KEYS = ("ca.crt", "tls.crt", "tls.key")

# The config keys of this project that the fixes in the messages name.
TLS_CONFIG = "psmdb-tls:tls"

# Sections of the operations guide that the fixes in the messages point to.
OPERATIONS_DOC = "docs/operations.md"
SWITCH_MODE_SECTION = "Switch the TLS mode"
CA_SETTINGS_SECTION = "Key algorithm and CA lifetime"
ROTATE_CA_SECTION = "Rotate the CA"
ROTATE_LEAVES_SECTION = "Rotate the member certificates"
DOC_SECTIONS = (SWITCH_MODE_SECTION, CA_SETTINGS_SECTION, ROTATE_CA_SECTION, ROTATE_LEAVES_SECTION)

# Go's time.ParseDuration units, which cert-manager's duration fields use, in hours.
_GO_DURATION_UNIT_HOURS = {
    "ns": 1e-9 / 3600,
    "us": 1e-6 / 3600,
    "µs": 1e-6 / 3600,
    "μs": 1e-6 / 3600,
    "ms": 1e-3 / 3600,
    "s": 1 / 3600,
    "m": 1 / 60,
    "h": 1.0,
}
_GO_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def doc_section(title: str) -> str:
    """Return a reference to a section of the operations guide, for messages."""
    return f"{OPERATIONS_DOC}, section '{title}'"


def lookup(props: Mapping[str, Any], *path: str) -> Any:
    """Return the value at `path` in nested mappings, or None where a key is missing.

    An unknown value on the way raises pulumi-policy's UnknownValueError.
    """
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def kubernetes_name(props: Mapping[str, Any]) -> str:
    """Return `namespace/name` from a Kubernetes object's metadata, or what of it is known."""
    name = lookup(props, "metadata", "name") or "(no name)"
    namespace = lookup(props, "metadata", "namespace")
    return f"{namespace}/{name}" if namespace else str(name)


def describe(resource_type: str, resource_name: str, props: Mapping[str, Any]) -> str:
    """Return a resource's description for messages: kind, object name if any, Pulumi name."""
    kind = resource_type.rsplit(":", 1)[-1]
    if resource_type.startswith("kubernetes:"):
        return f"{kind} {kubernetes_name(props)} (Pulumi resource {resource_name!r})"
    return f"{kind} {resource_name!r}"


def whole_number(value: Any) -> int | None:
    """Return an int for an int or a float with no fraction (how gRPC delivers numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def config_whole_number(config: Mapping[str, Any], key: str, default: int) -> int:
    """Return policy config `key` as an int, or `default` when it is not set.

    Raises ValueError for a value that is not a whole number. The Pulumi CLI checks config
    against each policy's schema before the pack runs, so this only fires for direct calls.
    """
    value = config.get(key, default)
    number = whole_number(value)
    if number is None:
        raise ValueError(
            f"policy config {key} must be a whole number, got {value!r}: set a whole number in "
            "the policy pack config file"
        )
    return number


def go_duration_hours(text: Any) -> float | None:
    """Return a Go duration string such as `2160h` or `1h30m0s` in hours, or None if invalid."""
    if not isinstance(text, str) or not text:
        return None
    if text == "0":
        return 0.0
    position = 0
    hours = 0.0
    for match in _GO_DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        hours += float(match.group(1)) * _GO_DURATION_UNIT_HOURS[match.group(2)]
        position = match.end()
    return hours if position == len(text) else None


def parse_timestamp(text: Any) -> datetime | None:
    """Return an RFC 3339 timestamp such as pulumi-tls's validityEndTime as an aware datetime."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_hours(hours: float) -> str:
    """Format hours with the days they make, such as `8760 hours (365 days)`."""
    return f"{hours:g} hours ({hours / 24:g} days)"
