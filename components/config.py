"""Stack config model: `psmdb-tls:cluster` and `psmdb-tls:tls`, parsed once into frozen objects.

`load_settings` validates everything before the program registers a single resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from components.config_cert_manager import CertManagerConfig, parse_cert_manager
from components.config_reader import (
    ConfigError,
    Section,
    describe_type,
    is_ip_address,
    parse_semver,
    require_dns_label,
    require_dns_name,
    require_dns_subdomain,
    require_ip_address,
)
from components.frozen import freeze
from components.lifecycle import CaRotationConfig, RotationConfig, parse_ca_rotation, parse_rotation

PROJECT = "psmdb-tls"
CLUSTER_KEY = f"{PROJECT}:cluster"
TLS_KEY = f"{PROJECT}:tls"

TLS_MODES = ("allowTLS", "preferTLS", "requireTLS", "disabled")
CERTIFICATE_SOURCES = ("pulumi", "operator", "cert-manager")
DNS_MODES = ("Internal", "ServiceMesh", "External")

# Key algorithm name -> (pulumi-tls algorithm, RSA bits, ECDSA curve).
KEY_ALGORITHMS: Mapping[str, tuple[str, int | None, str | None]] = {
    "RSA-2048": ("RSA", 2048, None),
    "RSA-3072": ("RSA", 3072, None),
    "RSA-4096": ("RSA", 4096, None),
    "ECDSA-P256": ("ECDSA", None, "P256"),
    "ECDSA-P384": ("ECDSA", None, "P384"),
}

# Field names of a replset entry and of the CR spec in the PerconaServerMongoDB CRD of operator
# v1.22.0. Keys outside these lists would be pruned by the API server without an error.
REPLSET_FIELDS = frozenset(
    "affinity annotations arbiter clusterRole configuration containerSecurityContext env envFrom "
    "expose externalNodes hidden hookScript hostAliases labels livenessProbe name nodeSelector "
    "nonvoting podDisruptionBudget podSecurityContext primaryPreferTagSelector priorityClassName "
    "readinessProbe replsetOverrides resources runtimeClassName serviceAccountName sidecarPVCs "
    "sidecarVolumes sidecars size splitHorizons storage terminationGracePeriodSeconds tolerations "
    "topologySpreadConstraints volumeSpec".split()
)
MONGOS_FIELDS = frozenset(
    "affinity annotations configuration containerSecurityContext env envFrom expose hookScript "
    "hostAliases hostPort labels livenessProbe nodeSelector podDisruptionBudget podSecurityContext "
    "port priorityClassName readinessProbe resources runtimeClassName serviceAccountName "
    "setParameter sidecarPVCs sidecarVolumes sidecars size terminationGracePeriodSeconds "
    "tolerations topologySpreadConstraints".split()
)
SPEC_FIELDS = frozenset(
    "allowUnsafeConfigurations backup clusterServiceDNSMode clusterServiceDNSSuffix crVersion "
    "enableExternalVolumeAutoscaling enableVolumeExpansion ignoreAnnotations ignoreLabels image "
    "imagePullPolicy imagePullSecrets initContainerSecurityContext initImage logcollector "
    "multiCluster pause platform pmm replsets roles schedulerName secrets sharding storageScaling "
    "tls unmanaged unsafeFlags updateStrategy upgradeOptions users vault".split()
)
# Spec fields this program sets from typed config, mapped to the config key that sets them.
OWNED_SPEC_FIELDS = {
    "crVersion": "cluster.crVersion",
    "image": "cluster.image",
    "replsets": "cluster.replsets",
    "sharding": "cluster.sharding",
    "tls": "tls",
    "clusterServiceDNSSuffix": "cluster.clusterServiceDNSSuffix",
    "clusterServiceDNSMode": "cluster.clusterServiceDNSMode",
    "multiCluster": "cluster.multiCluster",
    "pause": "cluster.pause",
}
CONFIG_SERVER_NAME = "cfg"


@dataclass(frozen=True)
class ReplsetConfig:
    """One replica set (a shard, or the config server replset `cfg`)."""

    name: str
    size: int
    exposed: bool
    # Pod name -> horizon name -> "host" or "host:port".
    split_horizons: Mapping[str, Mapping[str, str]]
    # Pod name -> {host, horizons, tags, priority}.
    overrides: Mapping[str, Mapping[str, Any]]
    # The replset's CR entry: name, size and every passthrough field.
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class ShardingConfig:
    enabled: bool
    config_server: ReplsetConfig | None
    mongos_size: int
    mongos_service_per_pod: bool
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class ClusterConfig:
    """The `psmdb-tls:cluster` key: the PerconaServerMongoDB resource and its topology."""

    name: str
    namespace: str
    cr_version: str
    image: str
    dns_suffix: str
    dns_mode: str
    multi_cluster_enabled: bool
    multi_cluster_dns_suffix: str
    replsets: tuple[ReplsetConfig, ...]
    sharding: ShardingConfig
    ssl_secret_name: str
    ssl_internal_secret_name: str
    pause: bool
    spec_overrides: Mapping[str, Any]

    def cr_version_at_least(self, version: str) -> bool:
        return parse_semver("crVersion", self.cr_version) >= parse_semver("version", version)


@dataclass(frozen=True)
class TlsConfig:
    """The `psmdb-tls:tls` key: TLS mode and how the member certificates are made."""

    mode: str
    certificate_source: str
    allow_invalid_certificates: bool
    key_algorithm: str
    ca_validity_hours: int
    cert_validity_hours: int
    early_renewal_hours: int
    organization: str
    extra_dns_names: tuple[str, ...]
    extra_ip_addresses: tuple[str, ...]
    rotation: RotationConfig
    ca_rotation: CaRotationConfig
    # Set only for certificateSource cert-manager.
    cert_manager: CertManagerConfig | None = None

    @property
    def pulumi_owns_certificates(self) -> bool:
        return self.certificate_source == "pulumi"


@dataclass(frozen=True)
class Settings:
    cluster: ClusterConfig
    tls: TlsConfig


def load_settings(values: Mapping[str, Any]) -> Settings:
    """Parse and validate the project's structured config keys.

    `values` maps the full key (`psmdb-tls:cluster`, `psmdb-tls:tls`) to the decoded object.
    Raises ConfigError on the first invalid value.
    """
    if values.get(CLUSTER_KEY) is None:
        raise ConfigError(CLUSTER_KEY, None, "this key is required: set at least name, namespace, "
                          "crVersion, image and replsets.")
    cluster = parse_cluster(Section(CLUSTER_KEY, values[CLUSTER_KEY]))
    tls = parse_tls(Section(TLS_KEY, values.get(TLS_KEY) or {}))
    return Settings(cluster=cluster, tls=tls)


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
    ssl_secret = require_dns_subdomain(
        secrets.path("ssl"), secrets.string("ssl", f"{name}-ssl")
    )
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
    replsets = []
    for index, entry in enumerate(entries):
        replset = _parse_replset(Section(f"{section.path('replsets')}[{index}]", entry), cluster_name)
        if replset.name == CONFIG_SERVER_NAME:
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name",
                replset.name,
                "The name 'cfg' is reserved for the config server replset.",
            )
        if any(other.name == replset.name for other in replsets):
            raise ConfigError(
                f"{section.path('replsets')}[{index}].name", replset.name, "Replset names must be unique."
            )
        replsets.append(replset)
    return tuple(replsets)


def _parse_replset(section: Section, cluster_name: str, fixed_name: str | None = None) -> ReplsetConfig:
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

    unknown = [key for key in section.keys() if key not in REPLSET_FIELDS]
    if unknown:
        raise ConfigError(
            section.path(unknown[0]),
            section.raw(unknown[0]),
            "Unknown replset field. Known fields are those of spec.replsets[] in the "
            "PerconaServerMongoDB CRD, such as size, expose, splitHorizons, configuration, resources.",
        )
    spec = {key: section.raw(key) for key in section.keys()}
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
            raise ConfigError(key, entries, "Expected a mapping of horizon name to host or host:port.")
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
            raise ConfigError(key, override, "Expected a mapping with host, horizons, tags or priority.")
        if override.get("host") is not None:
            split_host_port(f"{key}.host", override["host"], allow_ip=True)
        for horizon, address in (override.get("horizons") or {}).items():
            split_host_port(f"{key}.horizons.{horizon}", address)
    return overrides


def split_host_port(key: str, value: Any, allow_ip: bool = False) -> str:
    """Return the host of "host" or "host:port", checking both parts."""
    if not isinstance(value, str):
        raise ConfigError(key, value, f"Expected host or host:port as a string, got {describe_type(value)}.")
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
        raise ConfigError(f"{mongos_key}.expose.servicePerPod", service_per_pod, "Expected true or false.")
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


def parse_tls(section: Section) -> TlsConfig:
    mode = section.string("mode", "preferTLS", TLS_MODES)
    source = section.string("certificateSource", "pulumi", CERTIFICATE_SOURCES)
    # The operator's self-signed certificates lack names clients dial, so its default stays true.
    allow_invalid = section.boolean("allowInvalidCertificates", source == "operator")
    key_algorithm = section.string("keyAlgorithm", "RSA-2048", tuple(KEY_ALGORITHMS))
    ca_hours = section.integer("caValidityHours", 87600, minimum=1)
    cert_hours = section.integer("certValidityHours", 8760, minimum=1)
    renewal_hours = section.integer("earlyRenewalHours", 720, minimum=0)
    if cert_hours <= renewal_hours:
        raise ConfigError(
            section.path("certValidityHours"),
            cert_hours,
            f"It must be longer than earlyRenewalHours ({renewal_hours}), or every run would "
            "re-issue the member certificates.",
        )
    if cert_hours > ca_hours:
        raise ConfigError(
            section.path("certValidityHours"),
            cert_hours,
            f"A member certificate cannot outlive its CA: at most caValidityHours ({ca_hours}).",
        )
    organization = section.string("organization", "PSMDB")
    if not organization.strip():
        # MongoDB x509 member authentication needs a non-empty O, OU or DC in member subjects.
        raise ConfigError(section.path("organization"), organization, "Expected a non-empty name.")

    dns_names = tuple(
        require_dns_name(f"{section.path('extraDnsNames')}[{index}]", name).lower()
        for index, name in enumerate(section.sequence("extraDnsNames", []))
    )
    ip_addresses = tuple(
        require_ip_address(f"{section.path('extraIpAddresses')}[{index}]", address)
        for index, address in enumerate(section.sequence("extraIpAddresses", []))
    )
    if source == "operator":
        for name, values in (("extraDnsNames", dns_names), ("extraIpAddresses", ip_addresses)):
            if values:
                raise ConfigError(
                    section.path(name),
                    list(values),
                    "The operator's own certificates cannot carry extra names; use "
                    "certificateSource: pulumi.",
                )
    rotation = parse_rotation(section.section("rotation", {}))
    ca_rotation = parse_ca_rotation(section.section("caRotation", {}))
    if ca_rotation.generation > 1 and source != "pulumi":
        raise ConfigError(
            section.path("caRotation"),
            {"generation": ca_rotation.generation, "phase": ca_rotation.phase},
            "CA rotation in phases applies to the CA this program makes: certificateSource "
            "pulumi.",
        )
    if rotation.certificates and source != "pulumi":
        raise ConfigError(
            section.path("rotation.certificates"),
            rotation.certificates,
            "Re-issuing on demand applies to certificates this program makes: certificateSource "
            "pulumi. cert-manager renews by itself (cmctl renew forces it); the operator never "
            "renews its own.",
        )
    cert_manager = parse_cert_manager(
        section, source, ca_validity_hours=ca_hours, early_renewal_hours=renewal_hours
    )
    section.finish()
    return TlsConfig(
        mode=mode,
        certificate_source=source,
        allow_invalid_certificates=allow_invalid,
        key_algorithm=key_algorithm,
        ca_validity_hours=ca_hours,
        cert_validity_hours=cert_hours,
        early_renewal_hours=renewal_hours,
        organization=organization,
        extra_dns_names=dns_names,
        extra_ip_addresses=ip_addresses,
        rotation=rotation,
        ca_rotation=ca_rotation,
        cert_manager=cert_manager,
    )
