"""Parsing of `psmdb-tls:cluster`: the cluster, its replsets, sharding and spec passthrough."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from components.config_model import (
    CONFIG_SERVER_NAME,
    DNS_MODES,
    MONGOS_FIELDS,
    OWNED_SPEC_FIELDS,
    REPLSET_FIELDS,
    SPEC_FIELDS,
    ClusterConfig,
    ReplsetConfig,
    ShardingConfig,
)
from components.config_reader import (
    ConfigError,
    Section,
    describe_type,
    is_ip_address,
    parse_semver,
    require_dns_label,
    require_dns_name,
    require_dns_subdomain,
)
from components.frozen import freeze


def parse_cluster(section: Section) -> ClusterConfig:
    name = require_dns_label(section.path("name"), section.string("name"), max_length=50)
    namespace = require_dns_label(section.path("namespace"), section.string("namespace"))
    cr_version = section.string("crVersion")
    parse_semver(section.path("crVersion"), cr_version)
    image = section.string("image")
    if not image.strip():
        raise ConfigError(section.path("image"), image, "Expected a container image reference.")
    dns_suffix = require_dns_name(
        section.path("clusterServiceDNSSuffix"),
        section.string("clusterServiceDNSSuffix", "svc.cluster.local"),
        allow_wildcard=False,
    )
    dns_mode = section.string("clusterServiceDNSMode", "Internal", DNS_MODES)

    multi_cluster = section.section("multiCluster", {})
    multi_cluster_enabled = multi_cluster.boolean("enabled", False)
    # The operator adds the multi-cluster names to its SAN list even when the feature is off.
    multi_cluster_suffix = require_dns_name(
        multi_cluster.path("DNSSuffix"),
        multi_cluster.string("DNSSuffix", "svc.clusterset.local"),
        allow_wildcard=False,
    )
    multi_cluster.finish()

    replsets = _parse_replsets(section, name)
    sharding = _parse_sharding(section.section("sharding", {}), name)

    secrets = section.section("secrets", {})
    ssl_secret = require_dns_subdomain(secrets.path("ssl"), secrets.string("ssl", f"{name}-ssl"))
    ssl_internal_secret = require_dns_subdomain(
        secrets.path("sslInternal"), secrets.string("sslInternal", f"{name}-ssl-internal")
    )
    if ssl_secret == ssl_internal_secret:
        raise ConfigError(
            secrets.path("sslInternal"),
            ssl_internal_secret,
            "The internal Secret needs its own name, different from secrets.ssl.",
        )
    secrets.finish()

    pause = section.boolean("pause", False)
    spec_overrides = _parse_spec_overrides(section)
    section.finish()

    return ClusterConfig(
        name=name,
        namespace=namespace,
        cr_version=cr_version,
        image=image,
        dns_suffix=dns_suffix.lower(),
        dns_mode=dns_mode,
        multi_cluster_enabled=multi_cluster_enabled,
        multi_cluster_dns_suffix=multi_cluster_suffix.lower(),
        replsets=replsets,
        sharding=sharding,
        ssl_secret_name=ssl_secret,
        ssl_internal_secret_name=ssl_internal_secret,
        pause=pause,
        spec_overrides=freeze(spec_overrides),
    )


def _parse_replsets(section: Section, cluster_name: str) -> tuple[ReplsetConfig, ...]:
    entries = section.sequence("replsets")
    if not entries:
        raise ConfigError(section.path("replsets"), entries, "Expected at least one replset.")
    replsets: list[ReplsetConfig] = []
    for index, entry in enumerate(entries):
        replset = _parse_replset(
            Section(f"{section.path('replsets')}[{index}]", entry), cluster_name
        )
        if replset.name == CONFIG_SERVER_NAME:
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name",
                replset.name,
                "The name 'cfg' is reserved for the config server replset.",
            )
        if any(other.name == replset.name for other in replsets):
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name",
                replset.name,
                "Replset names must be unique.",
            )
        replsets.append(replset)
    return tuple(replsets)


def _parse_replset(
    section: Section, cluster_name: str, fixed_name: str | None = None
) -> ReplsetConfig:
    if fixed_name is None:
        name = require_dns_label(section.path("name"), section.string("name"))
    else:
        name = section.string("name", fixed_name, allowed=(fixed_name,))
    # Services are named <cluster>-<replset>, and a Service name is a 63-character DNS label.
    require_dns_label(section.path("name"), f"{cluster_name}-{name}")
    size = section.integer("size", 3 if fixed_name else None, minimum=1)

    expose = section.mapping("expose")
    exposed = expose.get("enabled", False)
    if not isinstance(exposed, bool):
        raise ConfigError(section.path("expose.enabled"), exposed, "Expected true or false.")

    pod_prefix = f"{cluster_name}-{name}"
    split_horizons = _parse_split_horizons(section, pod_prefix)
    overrides = _parse_overrides(section, pod_prefix)
    configuration = section.raw("configuration")
    if configuration is not None:
        _check_configuration(section.path("configuration"), configuration)

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
    )


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
        for horizon, address in (override.get("horizons") or {}).items():
            split_host_port(f"{key}.horizons.{horizon}", address)
    return overrides


def split_host_port(key: str, value: Any, allow_ip: bool = False) -> str:
    """Return the host of "host" or "host:port", checking both parts."""
    if not isinstance(value, str):
        raise ConfigError(
            key, value, f"Expected host or host:port as a string, got {describe_type(value)}."
        )
    host, _, port = value.partition(":")
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ConfigError(key, value, "Expected host or host:port with a port from 1 to 65535.")
    if is_ip_address(host):
        if allow_ip:
            return host
        # MongoDB rejects IP addresses as split horizon hosts: horizons are selected by TLS SNI.
        raise ConfigError(key, value, "Split horizons need DNS names, not IP addresses.")
    return require_dns_name(key, host, allow_wildcard=False)


def _check_configuration(key: str, configuration: Any) -> None:
    if not isinstance(configuration, str):
        raise ConfigError(key, configuration, "Expected mongod configuration as a YAML string.")
    try:
        parsed = yaml.safe_load(configuration)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "not parseable"
        raise ConfigError(key, configuration, f"Expected valid YAML: {problem}.") from None
    net = parsed.get("net") if isinstance(parsed, Mapping) else None
    tls = net.get("tls") if isinstance(net, Mapping) else None
    if isinstance(tls, Mapping) and "mode" in tls:
        # The operator rejects net.tls.mode here (crVersion 1.16.0 and later): the mode comes from
        # spec.tls.mode, which this program sets from tls.mode.
        raise ConfigError(
            f"{key} (net.tls.mode)",
            tls["mode"],
            "Set the TLS mode with psmdb-tls:tls.mode, not in a replset configuration.",
        )
    if tls is not None and not isinstance(tls, Mapping):
        raise ConfigError(f"{key} (net.tls)", tls, "Expected net.tls to be a mapping.")


def _parse_sharding(section: Section, cluster_name: str) -> ShardingConfig:
    enabled = section.boolean("enabled", False)
    config_server = None
    if section.has("configsvrReplSet") or enabled:
        config_server = _parse_replset(
            section.section("configsvrReplSet", {}), cluster_name, fixed_name=CONFIG_SERVER_NAME
        )
    mongos = section.mapping("mongos")
    mongos_key = section.path("mongos")
    mongos_size = mongos.get("size", 3)
    if isinstance(mongos_size, bool) or not isinstance(mongos_size, int) or mongos_size < 1:
        raise ConfigError(f"{mongos_key}.size", mongos_size, "Expected an integer of at least 1.")
    for field in mongos:
        if field not in MONGOS_FIELDS:
            raise ConfigError(
                f"{mongos_key}.{field}",
                mongos[field],
                "Unknown mongos field. Known fields are those of spec.sharding.mongos in the "
                "PerconaServerMongoDB CRD, such as size, expose, configuration, resources.",
            )
    mongos_expose = mongos.get("expose") or {}
    if not isinstance(mongos_expose, Mapping):
        raise ConfigError(f"{mongos_key}.expose", mongos_expose, "Expected a mapping.")
    service_per_pod = mongos_expose.get("servicePerPod", False)
    if not isinstance(service_per_pod, bool):
        raise ConfigError(
            f"{mongos_key}.expose.servicePerPod", service_per_pod, "Expected true or false."
        )
    balancer = section.mapping("balancer")
    section.finish()

    spec: dict[str, Any] = {"enabled": enabled}
    if config_server is not None:
        spec["configsvrReplSet"] = dict(config_server.spec)
    if mongos or enabled:
        spec["mongos"] = {**mongos, "size": mongos_size}
    if balancer:
        spec["balancer"] = balancer
    return ShardingConfig(
        enabled=enabled,
        config_server=config_server,
        mongos_size=mongos_size,
        mongos_service_per_pod=service_per_pod,
        spec=freeze(spec),
    )


def _parse_spec_overrides(section: Section) -> dict[str, Any]:
    spec = section.mapping("spec")
    key = section.path("spec")
    for field, value in spec.items():
        if field not in SPEC_FIELDS:
            raise ConfigError(
                f"{key}.{field}", value, "Unknown field of the PerconaServerMongoDB spec (CRD v1)."
            )
        if field in OWNED_SPEC_FIELDS:
            raise ConfigError(
                f"{key}.{field}",
                value,
                f"This field is set from {OWNED_SPEC_FIELDS[field]}; set it there instead.",
            )
    if spec.get("allowUnsafeConfigurations") is True:
        # The deprecated flag makes the operator turn every unsafe flag on and TLS off.
        raise ConfigError(
            f"{key}.allowUnsafeConfigurations",
            True,
            "It silently disables TLS. Use psmdb-tls:tls.mode: disabled to turn TLS off.",
        )
    secrets = spec.get("secrets") or {}
    for field in ("ssl", "sslInternal"):
        if isinstance(secrets, Mapping) and field in secrets:
            raise ConfigError(
                f"{key}.secrets.{field}", secrets[field], f"Set it with cluster.secrets.{field}."
            )
    unsafe_flags = spec.get("unsafeFlags") or {}
    if isinstance(unsafe_flags, Mapping) and "tls" in unsafe_flags:
        raise ConfigError(
            f"{key}.unsafeFlags.tls",
            unsafe_flags["tls"],
            "It is derived from psmdb-tls:tls.mode: true only for mode disabled.",
        )
    return spec
