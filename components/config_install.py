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

# cert-manager chart v1.15.0 added the values crds.enabled and crds.keep (cert-manager v1.15.0
# release notes). Older charts install CRDs only with installCRDs, so with the values this
# program sets the release would come up without CRDs.
CERT_MANAGER_MIN_CHART_VERSION = (1, 15, 0)

# An exact chart version, with or without a leading "v": Helm would also take a range such as
# "~1.22", which lets a later run install a different version.
_CHART_VERSION = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
_HTTP_REPOSITORY = re.compile(r"^https?://[^\s/]+(/\S*)?$")
# An OCI registry host, optional port, and repository path without the chart name, tag or
# digest. Path components follow the OCI distribution spec: lowercase letters and digits,
# joined by ".", "_", "__" or dashes.
_OCI_REPOSITORY = re.compile(
    r"^oci://[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?$"
)
OCI_SCHEME = "oci://"


@dataclass(frozen=True)
class ChartInstall:
    """One Helm chart to install as a Pulumi-managed release."""

    enabled: bool
    chart: str
    # None when the install is disabled.
    chart_version: str | None
    namespace: str
    # A chart repository URL (https:// or http://), or an OCI registry path (oci://).
    repository: str

    @property
    def in_oci_registry(self) -> bool:
        return self.repository.startswith(OCI_SCHEME)

    @property
    def chart_reference(self) -> str:
        """The `chart` input of helm.v3.Release: the chart name, or its full oci:// reference.

        pulumi-kubernetes (`resolveChartName` in provider/pkg/provider/helm_release.go) pulls
        from an OCI registry only when `chart` starts with oci://. Given the registry as
        `repositoryOpts.repo`, it would look for the index.yaml of a classic chart repository
        there, which an OCI registry does not serve.
        """
        if self.in_oci_registry:
            return f"{self.repository.rstrip('/')}/{self.chart}"
        return self.chart

    @property
    def repository_url(self) -> str | None:
        """The `repositoryOpts.repo` input of helm.v3.Release, or None for an OCI registry."""
        return None if self.in_oci_registry else self.repository


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
    if cert_manager.enabled:
        _check_cert_manager_version(section.path("certManager.chartVersion"), cert_manager)
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
    repository_url = _parse_repository(section, repository)
    section.finish()
    return ChartInstall(
        enabled=enabled,
        chart=chart,
        chart_version=version if enabled else None,
        namespace=release_namespace,
        repository=repository_url,
    )


def _parse_repository(section: Section, default: str) -> str:
    repository = section.string("repository", default)
    if repository.startswith(OCI_SCHEME):
        if not _OCI_REPOSITORY.match(repository):
            raise ConfigError(
                section.path("repository"),
                repository,
                "Expected an OCI registry path such as oci://registry.example.com/charts, "
                "without the chart name, tag or digest: the chart is installed from "
                "<repository>/<chart name> at chartVersion.",
            )
    elif not _HTTP_REPOSITORY.match(repository):
        raise ConfigError(
            section.path("repository"),
            repository,
            "Expected a chart repository URL starting with https:// or http://, or an OCI "
            "registry path starting with oci://.",
        )
    return repository


def _version_parts(chart_version: str) -> tuple[tuple[int, int, int], bool]:
    """Split an exact chart version into (major, minor, patch) and whether it is a pre-release."""
    match = _CHART_VERSION.match(chart_version)
    assert match is not None, f"unchecked chart version {chart_version!r}"
    major, minor, patch, prerelease = match.groups()
    return (int(major), int(minor), int(patch)), prerelease is not None


def _check_cert_manager_version(key: str, cert_manager: ChartInstall) -> None:
    """Reject a cert-manager chart older than v1.15.0, whose values this program cannot set."""
    assert cert_manager.chart_version is not None
    version, prerelease = _version_parts(cert_manager.chart_version)
    # A pre-release of v1.15.0 comes before v1.15.0 in semver order, so it is rejected too.
    if version < CERT_MANAGER_MIN_CHART_VERSION or (
        version == CERT_MANAGER_MIN_CHART_VERSION and prerelease
    ):
        raise ConfigError(
            key,
            cert_manager.chart_version,
            "Expected cert-manager chart v1.15.0 or later, such as v1.19.3. Older charts "
            "install their CRDs from installCRDs instead of crds.enabled, which this program "
            "sets, so the release would come up without CRDs.",
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
