"""Parsing of `psmdb-tls:cluster`: the cluster, its replsets, sharding and spec passthrough."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config_model import (
    CONFIG_SERVER_NAME,
    DNS_MODES,
    MIN_CR_VERSION,
    MONGOS_FIELDS,
    OWNED_SPEC_FIELDS,
    SPEC_FIELDS,
    ClusterConfig,
    ReplsetConfig,
    ShardingConfig,
)
from components.config_reader import (
    ConfigError,
    Section,
    describe_type,
    parse_semver,
    require_dns_label,
    require_dns_name,
    require_dns_subdomain,
)
from components.config_replsets import check_configuration, parse_replset
from components.frozen import freeze

RESERVED_REPLSET_NAMES = (CONFIG_SERVER_NAME, "mongos")
# spec.unsafeFlags fields of the PerconaServerMongoDB CRD v1 (operator v1.22.0), tls aside.
UNSAFE_FLAGS = frozenset(
    {"backupIfUnhealthy", "mongosSize", "replsetSize", "terminationGracePeriod"}
)


def parse_cluster(section: Section) -> ClusterConfig:
    name = require_dns_label(section.path("name"), section.string("name"))
    namespace = require_dns_label(section.path("namespace"), section.string("namespace"))
    cr_version = section.string("crVersion")
    if parse_semver(section.path("crVersion"), cr_version) < parse_semver("", MIN_CR_VERSION):
        raise ConfigError(
            section.path("crVersion"),
            cr_version,
            f"Expected {MIN_CR_VERSION} or later: older operators ignore spec.tls.mode and "
            "spec.unsafeFlags, which this program sets.",
        )
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

    # The passthrough spec comes first, because spec.unsafeFlags.replsetSize relaxes the
    # replset size checks.
    spec_overrides = _parse_spec_overrides(section)
    unsafe_flags = spec_overrides.get("unsafeFlags") or {}
    unsafe_sizes = unsafe_flags.get("replsetSize") is True
    replsets = _parse_replsets(section, name, unsafe_sizes)
    sharding = _parse_sharding(section.section("sharding", {}), name, unsafe_sizes)

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


def _parse_replsets(
    section: Section, cluster_name: str, unsafe_sizes: bool
) -> tuple[ReplsetConfig, ...]:
    entries = section.sequence("replsets")
    if not entries:
        raise ConfigError(section.path("replsets"), entries, "Expected at least one replset.")
    replsets: list[ReplsetConfig] = []
    for index, entry in enumerate(entries):
        replset = parse_replset(
            Section(f"{section.path('replsets')}[{index}]", entry), cluster_name, unsafe_sizes
        )
        if replset.name in RESERVED_REPLSET_NAMES:
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name",
                replset.name,
                "The names 'cfg' and 'mongos' are taken by the config server replset and the "
                "mongos Service.",
            )
        if any(other.name == replset.name for other in replsets):
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name",
                replset.name,
                "Replset names must be unique.",
            )
        replsets.append(replset)
    return tuple(replsets)


def _parse_sharding(section: Section, cluster_name: str, unsafe_sizes: bool) -> ShardingConfig:
    enabled = section.boolean("enabled", False)
    config_server = None
    if section.has("configsvrReplSet") or enabled:
        config_server = parse_replset(
            section.section("configsvrReplSet", {}),
            cluster_name,
            unsafe_sizes,
            fixed_name=CONFIG_SERVER_NAME,
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
    if mongos.get("configuration") is not None:
        check_configuration(f"{mongos_key}.configuration", mongos["configuration"])
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


def _reject_nulls(key: str, value: Any) -> None:
    """Reject null anywhere in the spec passthrough: merged last, it would erase a field."""
    if value is None:
        raise ConfigError(
            key,
            None,
            "A null here would remove the field from the resource, including fields this "
            "program sets. Remove the key, or give it a value.",
        )
    if isinstance(value, Mapping):
        for name, item in value.items():
            _reject_nulls(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nulls(f"{key}[{index}]", item)


def _parse_spec_overrides(section: Section) -> dict[str, Any]:
    spec = section.mapping("spec")
    key = section.path("spec")
    _reject_nulls(key, spec)
    for field in ("secrets", "unsafeFlags"):
        if field in spec and not isinstance(spec[field], Mapping):
            raise ConfigError(f"{key}.{field}", spec[field], "Expected a mapping.")

    _check_spec_fields(key, spec)
    _check_unsafe_flags(key, spec.get("unsafeFlags") or {})
    return spec


def _check_spec_fields(key: str, spec: Mapping[str, Any]) -> None:
    """Reject unknown spec fields, fields typed config sets, and unsafe TLS settings."""
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


def _check_unsafe_flags(key: str, unsafe_flags: Mapping[str, Any]) -> None:
    if "tls" in unsafe_flags:
        raise ConfigError(
            f"{key}.unsafeFlags.tls",
            unsafe_flags["tls"],
            "It is derived from psmdb-tls:tls.mode: true only for mode disabled.",
        )
    for flag, value in unsafe_flags.items():
        if flag not in UNSAFE_FLAGS:
            raise ConfigError(
                f"{key}.unsafeFlags.{flag}",
                value,
                f"Unknown flag. Known flags: {', '.join(sorted(UNSAFE_FLAGS))}.",
            )
        if not isinstance(value, bool):
            raise ConfigError(
                f"{key}.unsafeFlags.{flag}",
                value,
                f"Expected true or false, got {describe_type(value)}.",
            )
