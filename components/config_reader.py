"""Typed, key-checked reading of structured stack config.

Every failure raises `ConfigError` naming the full config key, the value found and what is
allowed, so a typo in `Pulumi.<stack>.yaml` stops the program before any resource exists.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit.
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Host names in certificates may use upper case; DNS compares them case-insensitively.
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

_MISSING = object()
# Pass as the default of a Section getter to make the key required.
REQUIRED: Any = _MISSING


class ConfigError(ValueError):
    """Invalid stack configuration: the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        if value is _MISSING:
            message = f"Missing required config key {key}: {allowed}"
        else:
            message = f"Invalid value for config key {key}: {format_value(value)}. {allowed}"
        super().__init__(message)


def format_value(value: Any) -> str:
    """Format a config value as it would read in JSON, close to how the stack file spells it."""
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def describe_type(value: Any) -> str:
    """Return the YAML name of a value's type with its article, such as "an integer" or "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class Section:
    """A mapping from stack config read key by key; `finish` rejects keys never read."""

    def __init__(self, key: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise ConfigError(key, value, f"Expected a mapping, got {describe_type(value)}.")
        self.key = key
        self._values: Mapping[str, Any] = value
        self._read: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}"

    def has(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return list(self._values)

    def raw(self, name: str, default: Any = None) -> Any:
        self._read.add(name)
        return self._values.get(name, default)

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        value = self._values.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ConfigError(self.path(name), _MISSING, "this key is required.")
            return default
        return value

    def string(self, name: str, default: Any = _MISSING, allowed: Sequence[str] = ()) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise ConfigError(
                self.path(name), value, f"Expected a string, got {describe_type(value)}."
            )
        if allowed and value not in allowed:
            raise ConfigError(self.path(name), value, f"Allowed values: {', '.join(allowed)}.")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(
                self.path(name), value, f"Expected true or false, got {describe_type(value)}."
            )
        return value

    def integer(
        self,
        name: str,
        default: Any = _MISSING,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                self.path(name), value, f"Expected an integer, got {describe_type(value)}."
            )
        if minimum is not None and value < minimum:
            raise ConfigError(self.path(name), value, f"Expected an integer of at least {minimum}.")
        if maximum is not None and value > maximum:
            raise ConfigError(self.path(name), value, f"Expected an integer of at most {maximum}.")
        return value

    def section(self, name: str, default: Any = _MISSING) -> Section:
        return Section(self.path(name), self._get(name, default))

    def mapping(self, name: str) -> dict[str, Any]:
        """Return a free-form mapping passed through to a Kubernetes object (empty if absent)."""
        value = self._get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(
                self.path(name), value, f"Expected a mapping, got {describe_type(value)}."
            )
        return dict(value)

    def sequence(self, name: str, default: Any = _MISSING) -> list[Any]:
        value = self._get(name, default)
        if not isinstance(value, list):
            raise ConfigError(
                self.path(name), value, f"Expected a list, got {describe_type(value)}."
            )
        return list(value)

    def finish(self, extra_allowed: Iterable[str] = ()) -> None:
        """Reject keys that were never read, which are almost always typos."""
        known = self._read | set(extra_allowed)
        for name in self._values:
            if name not in known:
                allowed = ", ".join(sorted(known))
                raise ConfigError(
                    self.path(name), self._values[name], f"Unknown key. Known keys: {allowed}."
                )


def require_dns_label(key: str, value: str, max_length: int = 63) -> str:
    """Check an RFC 1123 DNS label, as Kubernetes requires for names that become host names."""
    if len(value) > max_length or not _DNS_LABEL.match(value):
        raise ConfigError(
            key,
            value,
            f"Expected a DNS label: at most {max_length} lowercase letters, digits or '-', "
            "starting and ending with a letter or digit.",
        )
    return value


def require_dns_subdomain(key: str, value: str) -> str:
    """Check an RFC 1123 DNS subdomain, the rule for Secret and Issuer names."""
    labels = value.split(".")
    if len(value) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ConfigError(
            key,
            value,
            "Expected a DNS subdomain: dot-separated lowercase labels of letters, digits or '-', "
            "at most 253 characters.",
        )
    return value


def require_dns_name(key: str, value: Any, allow_wildcard: bool = True) -> str:
    """Check a host name for a certificate SAN; a wildcard is allowed only as the first label."""
    if not isinstance(value, str):
        raise ConfigError(key, value, f"Expected a DNS name string, got {describe_type(value)}.")
    labels = value.split(".")
    # OpenSSL matches a wildcard only with at least two labels after it, so "*.com" or
    # "*.svc" would never match any host name.
    if allow_wildcard and labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    # A name whose last label is all digits reads as an IPv4 address to clients.
    numeric_tld = labels[-1].isdigit()
    valid_labels = all(_HOST_LABEL.match(label) for label in labels)
    if is_ip_address(value) or numeric_tld or len(value) > 253 or not valid_labels:
        wildcard = (
            " A '*.' may start it, followed by at least two labels." if allow_wildcard else ""
        )
        raise ConfigError(
            key,
            value,
            "Expected a DNS name of dot-separated labels of letters, digits and '-', at most 63 "
            f"characters each, the last one not all digits.{wildcard} IP addresses belong in "
            "tls.extraIpAddresses.",
        )
    return value


def is_ip_address(value: str) -> bool:
    """Tell whether `value` is an IPv4 or IPv6 address without a zone ID such as %eth0."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # A zone ID names a local interface; it cannot appear in a certificate.
    return not (isinstance(address, ipaddress.IPv6Address) and address.scope_id)


def require_ip_address(key: str, value: Any) -> str:
    """Check an IPv4 or IPv6 address and return it in canonical form."""
    if not isinstance(value, str) or not is_ip_address(value):
        raise ConfigError(
            key, value, "Expected an IPv4 or IPv6 address such as 10.0.0.5 or fd00::5."
        )
    return str(ipaddress.ip_address(value))


def parse_semver(key: str, value: str) -> tuple[int, int, int]:
    """Parse MAJOR.MINOR.PATCH, the form the operator compares `crVersion` in."""
    match = _SEMVER.match(value)
    if not match:
        raise ConfigError(key, value, "Expected a version MAJOR.MINOR.PATCH such as 1.22.0.")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch
