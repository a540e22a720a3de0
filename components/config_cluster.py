"""Parsing of `psmdb-tls:cluster`: the cluster, its replsets, sharding and spec passthrough."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from components.config_model import (
    CLUSTER_AND_REPLSET_NAME_MAX,
    CONFIG_SERVER_NAME,
    DNS_MODES,
    MIN_CR_VERSION,
    MONGOS_FIELDS,
    OWNED_SPEC_FIELDS,
    REPLSET_FIELDS,
    SPEC_FIELDS,
    ClusterConfig,
    ReplsetConfig,
    ShardingConfig,
)
from components.config_reader import (
    REQUIRED,
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
        replset = _parse_replset(
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


def _parse_replset(
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


def _check_configuration(key: str, configuration: Any) -> None:
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


def _parse_sharding(section: Section, cluster_name: str, unsafe_sizes: bool) -> ShardingConfig:
    enabled = section.boolean("enabled", False)
    config_server = None
    if section.has("configsvrReplSet") or enabled:
        config_server = _parse_replset(
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
        _check_configuration(f"{mongos_key}.configuration", mongos["configuration"])
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
    return spec
