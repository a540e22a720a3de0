"""Parsing of one replset entry: size rules, member groups, split horizons and overrides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from components.config_model import (
    CLUSTER_AND_REPLSET_NAME_MAX,
    REPLSET_FIELDS,
    ReplsetConfig,
)
from components.config_reader import (
    REQUIRED,
    ConfigError,
    Section,
    describe_type,
    is_ip_address,
    require_dns_label,
    require_dns_name,
)
from components.frozen import freeze


def parse_replset(
    section: Section, cluster_name: str, unsafe_sizes: bool, fixed_name: str | None = None
) -> ReplsetConfig:
    if fixed_name is None:
        name = require_dns_label(section.path("name"), section.string("name"))
    else:
        name = section.string("name", fixed_name, allowed=(fixed_name,))
    if len(cluster_name + name) > CLUSTER_AND_REPLSET_NAME_MAX:
        raise ConfigError(
            section.path("name"),
            name,
            f"The cluster name and the replset name together may have at most "
            f"{CLUSTER_AND_REPLSET_NAME_MAX} characters; the operator rejects longer ones.",
        )
    size = section.integer("size", 3 if fixed_name else REQUIRED, minimum=1, maximum=2**31 - 1)
    if section.raw("volumeSpec") is None:
        raise ConfigError(
            section.path("volumeSpec"),
            None,
            "this key is required: the operator rejects a replset without volumeSpec, such as "
            "{persistentVolumeClaim: {resources: {requests: {storage: 3Gi}}}}.",
        )
    pod_groups = _pod_groups(section, f"{cluster_name}-{name}", size, unsafe_sizes)

    expose = section.mapping("expose")
    exposed = expose.get("enabled", False)
    if not isinstance(exposed, bool):
        raise ConfigError(section.path("expose.enabled"), exposed, "Expected true or false.")

    pod_prefix = f"{cluster_name}-{name}"
    split_horizons = _parse_split_horizons(section, pod_prefix)
    _check_horizons_cover_pods(section, pod_prefix, size, split_horizons)
    overrides = _parse_overrides(section, pod_prefix)
    configuration = section.raw("configuration")
    if configuration is not None:
        check_configuration(section.path("configuration"), configuration)

    unknown = [key for key in section.names() if key not in REPLSET_FIELDS]
    if unknown:
        raise ConfigError(
            section.path(unknown[0]),
            section.raw(unknown[0]),
            "Unknown replset field. Known fields are those of spec.replsets[] in the "
            "PerconaServerMongoDB CRD, such as size, expose, splitHorizons, configuration, resources.",
        )
    spec = {key: section.raw(key) for key in section.names()}
    spec["name"] = name
    spec["size"] = size
    return ReplsetConfig(
        name=name,
        size=size,
        exposed=exposed,
        split_horizons=freeze(split_horizons),
        overrides=freeze(overrides),
        spec=freeze(spec),
        pod_groups=pod_groups,
    )


def _member_group(section: Section, field: str) -> tuple[bool, int]:
    """Return (enabled, size) of an arbiter, nonvoting or hidden block of a replset."""
    block = section.mapping(field)
    enabled = block.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(section.path(f"{field}.enabled"), enabled, "Expected true or false.")
    size = block.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < (1 if enabled else 0):
        minimum = 1 if enabled else 0
        raise ConfigError(
            section.path(f"{field}.size"), size, f"Expected an integer of at least {minimum}."
        )
    return enabled, size


def _pod_groups(
    section: Section, pod_prefix: str, size: int, unsafe_sizes: bool
) -> tuple[tuple[str, int], ...]:
    arbiter, arbiter_size = _member_group(section, "arbiter")
    # The operator's safe-size rules (crVersion 1.16.0 and later), which
    # spec.unsafeFlags.replsetSize turns off: an odd member count of at least 3, or with an
    # arbiter an even count of at least 4 and exactly one arbiter.
    if not unsafe_sizes:
        if arbiter and (arbiter_size != 1 or size < 4 or size % 2):
            raise ConfigError(
                section.path("size"),
                size,
                f"With an arbiter ({arbiter_size}) the operator needs an even size of at least 4 "
                "and arbiter.size 1, unless psmdb-tls:cluster.spec.unsafeFlags.replsetSize is "
                "true.",
            )
        if not arbiter and (size < 3 or size % 2 == 0):
            raise ConfigError(
                section.path("size"),
                size,
                "The operator needs an odd size of at least 3, unless "
                "psmdb-tls:cluster.spec.unsafeFlags.replsetSize is true.",
            )
    groups = [(pod_prefix, size)]
    if arbiter:
        groups.append((f"{pod_prefix}-arbiter", arbiter_size))
    for field, suffix in (("nonvoting", "nv"), ("hidden", "hidden")):
        enabled, group_size = _member_group(section, field)
        if enabled:
            groups.append((f"{pod_prefix}-{suffix}", group_size))
    return tuple(groups)


def _pod_index_pattern(pod_prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(pod_prefix)}-(0|[1-9]\d*)$")


def _parse_split_horizons(section: Section, pod_prefix: str) -> dict[str, dict[str, str]]:
    horizons = section.mapping("splitHorizons")
    pod_pattern = _pod_index_pattern(pod_prefix)
    parsed: dict[str, dict[str, str]] = {}
    for pod, entries in horizons.items():
        key = section.path(f"splitHorizons.{pod}")
        if not pod_pattern.match(str(pod)):
            raise ConfigError(key, pod, f"Expected a pod name of the form {pod_prefix}-<index>.")
        if not isinstance(entries, Mapping) or not entries:
            raise ConfigError(
                key, entries, "Expected a mapping of horizon name to host or host:port."
            )
        parsed[pod] = {}
        for horizon, address in entries.items():
            split_host_port(f"{key}.{horizon}", address)
            parsed[pod][str(horizon)] = address
    return parsed


def _check_horizons_cover_pods(
    section: Section, pod_prefix: str, size: int, horizons: Mapping[str, Mapping[str, str]]
) -> None:
    """Apply MongoDB's split horizon rules: all members or none, same names, distinct hosts."""
    if not horizons:
        return
    key = section.path("splitHorizons")
    pods = [f"{pod_prefix}-{index}" for index in range(size)]
    for pod in horizons:
        if pod not in pods:
            raise ConfigError(
                f"{key}.{pod}", pod, f"The replset has {size} members: {pods[0]} to {pods[-1]}."
            )
    missing = [pod for pod in pods if pod not in horizons]
    if missing:
        raise ConfigError(
            key,
            sorted(horizons),
            f"MongoDB needs split horizons for every member or none; missing: {', '.join(missing)}.",
        )
    names = set(horizons[pods[0]])
    seen: dict[str, str] = {}
    for pod in pods:
        if set(horizons[pod]) != names:
            raise ConfigError(
                f"{key}.{pod}",
                sorted(horizons[pod]),
                f"Every member needs the same horizon names: {', '.join(sorted(names))}.",
            )
        for horizon, address in horizons[pod].items():
            other = seen.get(f"{horizon}={address}")
            if other is not None:
                raise ConfigError(
                    f"{key}.{pod}.{horizon}",
                    address,
                    f"{other} already uses this address for horizon {horizon}; each member "
                    "needs its own.",
                )
            seen[f"{horizon}={address}"] = pod


def _parse_overrides(section: Section, pod_prefix: str) -> dict[str, dict[str, Any]]:
    overrides = section.mapping("replsetOverrides")
    pod_pattern = _pod_index_pattern(pod_prefix)
    for pod, override in overrides.items():
        key = section.path(f"replsetOverrides.{pod}")
        if not pod_pattern.match(str(pod)):
            raise ConfigError(key, pod, f"Expected a pod name of the form {pod_prefix}-<index>.")
        if not isinstance(override, Mapping):
            raise ConfigError(
                key, override, "Expected a mapping with host, horizons, tags or priority."
            )
        if override.get("host") is not None:
            split_host_port(f"{key}.host", override["host"], allow_ip=True)
        horizons = override.get("horizons") or {}
        if not isinstance(horizons, Mapping):
            raise ConfigError(
                f"{key}.horizons", horizons, "Expected a mapping of horizon name to host:port."
            )
        for horizon, address in horizons.items():
            split_host_port(f"{key}.horizons.{horizon}", address)
    return overrides


def split_host_port(key: str, value: Any, allow_ip: bool = False) -> str:
    """Return the host of "host" or "host:port", checking both parts."""
    if not isinstance(value, str):
        raise ConfigError(
            key, value, f"Expected host or host:port as a string, got {describe_type(value)}."
        )
    if value.startswith("["):
        # An IPv6 address with a port is written [address]:port.
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
        if rest and not rest.startswith(":"):
            port = "invalid"
    elif value.count(":") > 1:
        host, port = value, ""
    else:
        host, _, port = value.partition(":")
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ConfigError(key, value, "Expected host or host:port with a port from 1 to 65535.")
    if is_ip_address(host):
        if allow_ip:
            return host
        # MongoDB rejects IP addresses as split horizon hosts: horizons are selected by TLS SNI.
        raise ConfigError(key, value, "Split horizons need DNS names, not IP addresses.")
    return require_dns_name(key, host, allow_wildcard=False)


def check_configuration(key: str, configuration: Any) -> None:
    if not isinstance(configuration, str):
        raise ConfigError(key, configuration, "Expected mongod configuration as a YAML string.")
    try:
        parsed = yaml.safe_load(configuration)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "not parseable"
        raise ConfigError(key, configuration, f"Expected valid YAML: {problem}.") from None
    net = parsed.get("net") if isinstance(parsed, Mapping) else None
    # net.ssl is mongod's older name for net.tls, and its mode would fight spec.tls.mode too.
    for section_name in ("tls", "ssl"):
        tls = net.get(section_name) if isinstance(net, Mapping) else None
        if isinstance(tls, Mapping) and "mode" in tls:
            # The operator rejects net.tls.mode here (crVersion 1.16.0 and later): the mode comes
            # from spec.tls.mode, which this program sets from tls.mode.
            raise ConfigError(
                f"{key} (net.{section_name}.mode)",
                tls["mode"],
                "Set the TLS mode with psmdb-tls:tls.mode, not in a mongod or mongos configuration.",
            )
        if tls is not None and not isinstance(tls, Mapping):
            raise ConfigError(
                f"{key} (net.{section_name})", tls, f"Expected net.{section_name} to be a mapping."
            )
