"""Optional installs: the cluster namespace, cert-manager and the Percona operator.

The Helm releases are `kubernetes.helm.v3.Release` resources, which run the charts' hooks and
wait like `helm install --wait`. Resources that need what an install provides depend on it:
Issuers and Certificates on cert-manager, the PerconaServerMongoDB resource on the operator
(whose chart installs the CRD), and everything in the cluster namespace on that namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config import ClusterConfig
from components.config_install import ChartInstall, InstallConfig

CERT_MANAGER_RELEASE = "cert-manager"
OPERATOR_RELEASE = "psmdb-operator"
# Seconds Helm may take for an install or upgrade, hooks included.
RELEASE_TIMEOUT_SECONDS = 600


@dataclass
class Installs:
    """The resources this run installs; each is None when its install is disabled."""

    namespace: k8s.core.v1.Namespace | None = None
    cert_manager: k8s.helm.v3.Release | None = None
    operator: k8s.helm.v3.Release | None = None

    @property
    def namespace_dependencies(self) -> list[pulumi.Resource]:
        """What every object in the cluster namespace must be created after."""
        return [self.namespace] if self.namespace is not None else []

    @property
    def cert_manager_dependencies(self) -> list[pulumi.Resource]:
        """What every Issuer, ClusterIssuer and Certificate must be created after."""
        installed = [self.cert_manager] if self.cert_manager is not None else []
        return [*self.namespace_dependencies, *installed]

    @property
    def custom_resource_dependencies(self) -> list[pulumi.Resource]:
        """What the PerconaServerMongoDB resource must be created after.

        cert-manager is included for every certificate source: the operator checks for
        cert-manager when it first reconciles the resource and then keeps the path it chose.
        """
        installed = [release for release in (self.operator,) if release is not None]
        return [*self.cert_manager_dependencies, *installed]


def create_installs(
    config: InstallConfig, cluster: ClusterConfig, opts: pulumi.ResourceOptions
) -> Installs:
    """Register the enabled installs. `opts` carries the Kubernetes provider."""
    installs = Installs()
    if config.create_namespace:
        installs.namespace = _cluster_namespace(cluster, opts)
    if config.cert_manager.enabled:
        installs.cert_manager = _cert_manager_release(config.cert_manager, cluster, installs, opts)
    if config.operator.enabled:
        installs.operator = _operator_release(config.operator, cluster, installs, opts)
    return installs


def _cluster_namespace(
    cluster: ClusterConfig, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Namespace:
    # Deleting a Namespace deletes everything in it, the database's PersistentVolumeClaims
    # included. With retain_on_delete, turning createNamespace off or destroying the stack
    # removes the Namespace from the stack's state but leaves it in the cluster.
    # NOTE: turning createNamespace on again then fails with AlreadyExists (pulumi-kubernetes
    # 4.29.0 and later create with a plain create). Import the Namespace first:
    # `pulumi import kubernetes:core/v1:Namespace cluster-namespace <namespace>`.
    return k8s.core.v1.Namespace(
        "cluster-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=cluster.namespace,
            labels={"app.kubernetes.io/managed-by": "pulumi"},
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )


def _release_options(
    install: ChartInstall, cluster: ClusterConfig, installs: Installs, opts: pulumi.ResourceOptions
) -> tuple[bool, pulumi.ResourceOptions]:
    """Return Helm's create_namespace flag and the release's options.

    A release in the cluster namespace waits for that namespace when this program creates it,
    and otherwise expects it to exist. Helm creates any other release namespace.
    """
    in_cluster_namespace = install.namespace == cluster.namespace
    depends_on = installs.namespace_dependencies if in_cluster_namespace else []
    return not in_cluster_namespace, pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=depends_on)
    )


def _repository_options(install: ChartInstall) -> k8s.helm.v3.RepositoryOptsArgs | None:
    """Return the release's repositoryOpts, or None for a chart in an OCI registry."""
    if install.repository_url is None:
        return None
    return k8s.helm.v3.RepositoryOptsArgs(repo=install.repository_url)


def _cert_manager_release(
    install: ChartInstall, cluster: ClusterConfig, installs: Installs, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    create_namespace, release_opts = _release_options(install, cluster, installs, opts)
    # Issuers and Certificates go through cert-manager's admission webhook, which can refuse
    # requests for a while after its Deployment reports ready: its serving certificate and the
    # caBundle of the webhook configurations are injected after start. The wait relies on the
    # chart's post-install hook Job `startupapicheck`, which runs `check api --wait` and
    # succeeds once the API server can create cert-manager objects through the webhook. With
    # skip_await=False Helm runs that hook after the Deployments are ready and fails the
    # install when the Job fails, so this release is created only once the webhook serves.
    # wait_for_jobs=True also waits for Jobs that are not hooks. Upgrades do not run the hook
    # (it is post-install only) and rely on the Deployments' rollout.
    values = {
        # keep: the CRDs outlive the release, because deleting them would delete every
        # Certificate and Issuer in the cluster. Charts before v1.15.0 lack both values, and
        # load_install rejects them.
        "crds": {"enabled": True, "keep": True},
        "startupapicheck": {"enabled": True, "timeout": "5m"},
    }
    return _release(
        CERT_MANAGER_RELEASE, install, create_namespace, values, release_opts, wait_for_jobs=True
    )


def _operator_release(
    install: ChartInstall, cluster: ClusterConfig, installs: Installs, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    create_namespace, release_opts = _release_options(install, cluster, installs, opts)
    values: dict[str, object] = {}
    # The chart watches its own namespace by default, with a namespaced Role. Setting
    # watchNamespace makes its RBAC a ClusterRole, so it is set only when the two differ.
    if install.namespace != cluster.namespace:
        values["watchNamespace"] = cluster.namespace
    # NOTE: Helm installs the chart's crds/ folder on the first install only and never
    # upgrades it. Moving to a newer operator needs its CRD applied by hand first, as the
    # Percona upgrade guide describes.
    return _release(OPERATOR_RELEASE, install, create_namespace, values, release_opts)


def _release(
    name: str,
    install: ChartInstall,
    create_namespace: bool,
    values: dict[str, object],
    opts: pulumi.ResourceOptions,
    wait_for_jobs: bool = False,
) -> k8s.helm.v3.Release:
    """Create a Helm release of a pinned chart that Pulumi waits for until it is ready."""
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=name,
            chart=install.chart_reference,
            version=install.chart_version,
            namespace=install.namespace,
            create_namespace=create_namespace,
            repository_opts=_repository_options(install),
            values=values,
            skip_await=False,
            wait_for_jobs=wait_for_jobs or None,
            timeout=RELEASE_TIMEOUT_SECONDS,
        ),
        opts=opts,
    )
