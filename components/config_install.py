"""The `psmdb-tls:install` key: optional installs of cert-manager, the operator and the namespace.

Read apart from `load_settings` because it describes what runs in the cluster besides the
database, but checked the same way: every invalid value raises ConfigError before any resource
is registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.config import PROJECT, ClusterConfig
from components.config_reader import (
    ConfigError,
    Section,
    parse_semver,
    require_dns_label,
)

INSTALL_KEY = f"{PROJECT}:install"

CERT_MANAGER_CHART = "cert-manager"
CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"
CERT_MANAGER_NAMESPACE = "cert-manager"
OPERATOR_CHART = "psmdb-operator"
OPERATOR_REPOSITORY = "https://percona.github.io/percona-helm-charts/"

# An exact chart version, with or without a leading "v": Helm would also take a range such as
# "~1.22", which lets a later run install a different version.
_CHART_VERSION = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
_REPOSITORY = re.compile(r"^(https?|oci)://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class ChartInstall:
    """One Helm chart to install as a Pulumi-managed release."""

    enabled: bool
    chart: str
    # None when the install is disabled.
    chart_version: str | None
    namespace: str
    repository: str


@dataclass(frozen=True)
class InstallConfig:
    """The `psmdb-tls:install` key."""

    cert_manager: ChartInstall
    operator: ChartInstall
    # Create the cluster namespace (psmdb-tls:cluster.namespace).
    create_namespace: bool


def load_install(value: Any, cluster: ClusterConfig) -> InstallConfig:
    """Parse and validate `psmdb-tls:install`; an absent key installs nothing."""
    section = Section(INSTALL_KEY, value if value is not None else {})
    cert_manager = _parse_chart(
        section.section("certManager", {}),
        chart=CERT_MANAGER_CHART,
        namespace=CERT_MANAGER_NAMESPACE,
        repository=CERT_MANAGER_REPOSITORY,
        example_version="v1.19.3",
    )
    operator = _parse_chart(
        section.section("operator", {}),
        chart=OPERATOR_CHART,
        namespace=cluster.namespace,
        repository=OPERATOR_REPOSITORY,
        example_version="1.22.0",
    )
    if operator.enabled:
        _check_operator_version(section.path("operator.chartVersion"), operator, cluster)
    create_namespace = section.boolean("createNamespace", False)
    section.finish()
    return InstallConfig(
        cert_manager=cert_manager, operator=operator, create_namespace=create_namespace
    )


def _parse_chart(
    section: Section, *, chart: str, namespace: str, repository: str, example_version: str
) -> ChartInstall:
    enabled = section.boolean("enabled", False)
    version = section.raw("chartVersion")
    if version is None and enabled:
        raise ConfigError(
            section.path("chartVersion"),
            None,
            f"An enabled install needs an exact {chart} chart version, such as "
            f"{example_version}, so that every run installs the same release.",
        )
    if version is not None and (not isinstance(version, str) or not _CHART_VERSION.match(version)):
        raise ConfigError(
            section.path("chartVersion"),
            version,
            f"Expected an exact chart version such as {example_version}; ranges are not allowed.",
        )
    release_namespace = require_dns_label(
        section.path("namespace"), section.string("namespace", namespace)
    )
    repository_url = section.string("repository", repository)
    if not _REPOSITORY.match(repository_url):
        raise ConfigError(
            section.path("repository"),
            repository_url,
            "Expected a chart repository URL starting with https://, http:// or oci://.",
        )
    section.finish()
    return ChartInstall(
        enabled=enabled,
        chart=chart,
        chart_version=version if enabled else None,
        namespace=release_namespace,
        repository=repository_url,
    )


def _check_operator_version(key: str, operator: ChartInstall, cluster: ClusterConfig) -> None:
    """Reject an operator older than crVersion: it would not know the resource's version.

    A psmdb-operator chart X.Y.Z deploys operator X.Y (chart 1.22.0 has appVersion 1.22.0).
    """
    assert operator.chart_version is not None
    chart_version = operator.chart_version.removeprefix("v").split("-", 1)[0]
    chart_minor = parse_semver(key, chart_version)[:2]
    cr_minor = parse_semver("crVersion", cluster.cr_version)[:2]
    if chart_minor < cr_minor:
        raise ConfigError(
            key,
            operator.chart_version,
            f"This chart deploys operator {chart_minor[0]}.{chart_minor[1]}, older than "
            f"psmdb-tls:cluster.crVersion {cluster.cr_version}. Install an operator at least as "
            "new as crVersion, or lower crVersion.",
        )
