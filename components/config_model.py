"""Frozen objects of the parsed stack config, and the values config is checked against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.config_cert_manager import CertManagerConfig
from components.config_reader import parse_semver
from components.lifecycle import CaRotationConfig, RotationConfig

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
    [
        "affinity",
        "annotations",
        "arbiter",
        "clusterRole",
        "configuration",
        "containerSecurityContext",
        "env",
        "envFrom",
        "expose",
        "externalNodes",
        "hidden",
        "hookScript",
        "hostAliases",
        "labels",
        "livenessProbe",
        "name",
        "nodeSelector",
        "nonvoting",
        "podDisruptionBudget",
        "podSecurityContext",
        "primaryPreferTagSelector",
        "priorityClassName",
        "readinessProbe",
        "replsetOverrides",
        "resources",
        "runtimeClassName",
        "serviceAccountName",
        "sidecarPVCs",
        "sidecarVolumes",
        "sidecars",
        "size",
        "splitHorizons",
        "storage",
        "terminationGracePeriodSeconds",
        "tolerations",
        "topologySpreadConstraints",
        "volumeSpec",
    ]
)
MONGOS_FIELDS = frozenset(
    [
        "affinity",
        "annotations",
        "configuration",
        "containerSecurityContext",
        "env",
        "envFrom",
        "expose",
        "hookScript",
        "hostAliases",
        "hostPort",
        "labels",
        "livenessProbe",
        "nodeSelector",
        "podDisruptionBudget",
        "podSecurityContext",
        "port",
        "priorityClassName",
        "readinessProbe",
        "resources",
        "runtimeClassName",
        "serviceAccountName",
        "setParameter",
        "sidecarPVCs",
        "sidecarVolumes",
        "sidecars",
        "size",
        "terminationGracePeriodSeconds",
        "tolerations",
        "topologySpreadConstraints",
    ]
)
SPEC_FIELDS = frozenset(
    [
        "allowUnsafeConfigurations",
        "backup",
        "clusterServiceDNSMode",
        "clusterServiceDNSSuffix",
        "crVersion",
        "enableExternalVolumeAutoscaling",
        "enableVolumeExpansion",
        "ignoreAnnotations",
        "ignoreLabels",
        "image",
        "imagePullPolicy",
        "imagePullSecrets",
        "initContainerSecurityContext",
        "initImage",
        "logcollector",
        "multiCluster",
        "pause",
        "platform",
        "pmm",
        "replsets",
        "roles",
        "schedulerName",
        "secrets",
        "sharding",
        "storageScaling",
        "tls",
        "unmanaged",
        "unsafeFlags",
        "updateStrategy",
        "upgradeOptions",
        "users",
        "vault",
    ]
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
# The operator rejects a cluster whose name and replset name together are longer than this
# (clusterNameMaxLen in pkg/apis/psmdb/v1/psmdb_defaults.go, v1.22.0).
CLUSTER_AND_REPLSET_NAME_MAX = 50
# Oldest crVersion this program supports: spec.tls.mode and spec.unsafeFlags arrived in 1.16.0.
MIN_CR_VERSION = "1.16.0"
# Go's time.Duration stores at most about 2,562,047 hours, and pulumi-tls computes validity in it.
MAX_VALIDITY_HOURS = 2_562_047


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
    # Pod name prefix and pod count of each StatefulSet of the replset: the members, then any
    # enabled arbiter (-arbiter), non-voting (-nv) and hidden (-hidden) members.
    pod_groups: tuple[tuple[str, int], ...] = ()


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
