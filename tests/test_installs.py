"""psmdb-tls:install: the namespace, cert-manager and operator installs and what waits for them."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from components.config_reader import ConfigError
from tests.cert_manager_runs import CUSTOM_RESOURCE_TYPE, cert_manager_config
from tests.configs import NAMESPACE, base_config, with_tls
from tests.harness import ProgramFailed, ProgramRun, RecordedResource, run_program

INSTALL = "psmdb-tls:install"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
ISSUER_TYPES = (
    "kubernetes:cert-manager.io/v1:Issuer",
    "kubernetes:cert-manager.io/v1:ClusterIssuer",
)
CERTIFICATE_TYPE = "kubernetes:cert-manager.io/v1:Certificate"
ALL_INSTALLS = {
    "certManager": {"enabled": True, "chartVersion": "v1.19.3"},
    "operator": {"enabled": True, "chartVersion": "1.22.0"},
    "createNamespace": True,
}
# Configs by test id: every certificate source, and every cert-manager issuer way.
SOURCES = {
    "pulumi": lambda: base_config(),
    "operator": lambda: with_tls(base_config(), certificateSource="operator"),
    "cert-manager-selfSigned": lambda: cert_manager_config("selfSigned"),
    "cert-manager-pulumiCa": lambda: cert_manager_config("pulumiCa"),
    "cert-manager-existing": lambda: cert_manager_config("existing-clusterissuer"),
}


def with_install(config: dict[str, Any], install: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(config)
    result[INSTALL] = copy.deepcopy(install)
    return result


@functools.cache
def installed_run(source: str) -> ProgramRun:
    return run_program(with_install(SOURCES[source](), ALL_INSTALLS))


def release(run: ProgramRun, name: str) -> RecordedResource:
    return run.find(RELEASE_TYPE, name)


def namespaced_objects(run: ProgramRun) -> list[RecordedResource]:
    """Return the Kubernetes objects and Helm releases placed in the cluster namespace."""
    placed = []
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or resource.type == NAMESPACE_TYPE:
            continue
        if resource.type == RELEASE_TYPE:
            namespace = resource.inputs.get("namespace")
        else:
            namespace = (resource.inputs.get("metadata") or {}).get("namespace")
        if namespace == NAMESPACE:
            placed.append(resource)
    return placed


def test_nothing_installed_by_default():
    run = run_program(base_config())
    assert run.find_all(RELEASE_TYPE) == []
    assert run.find_all(NAMESPACE_TYPE) == []


def test_cert_manager_release_inputs():
    inputs = release(installed_run("pulumi"), "cert-manager").inputs
    assert inputs["chart"] == "cert-manager"
    assert inputs["version"] == "v1.19.3"
    assert inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert inputs["namespace"] == "cert-manager"
    assert inputs["createNamespace"] is True


def test_cert_manager_release_waits_for_webhook():
    inputs = release(installed_run("pulumi"), "cert-manager").inputs
    assert inputs["values"]["crds"]["enabled"] is True
    assert inputs["values"]["startupapicheck"]["enabled"] is True
    assert inputs["skipAwait"] is False
    assert inputs["waitForJobs"] is True


def test_operator_release_inputs():
    inputs = release(installed_run("pulumi"), "psmdb-operator").inputs
    assert inputs["chart"] == "psmdb-operator"
    assert inputs["version"] == "1.22.0"
    assert inputs["repositoryOpts"] == {"repo": "https://percona.github.io/percona-helm-charts/"}
    assert inputs["skipAwait"] is False


def test_operator_watches_own_namespace():
    inputs = release(installed_run("pulumi"), "psmdb-operator").inputs
    assert inputs["namespace"] == NAMESPACE
    # The chart watches its release namespace unless watchNamespace is set.
    assert "watchNamespace" not in inputs.get("values", {})
    assert inputs["createNamespace"] is False


def test_operator_elsewhere_watches_cluster():
    install = copy.deepcopy(ALL_INSTALLS)
    install["operator"]["namespace"] = "psmdb-operator"
    inputs = release(run_program(with_install(base_config(), install)), "psmdb-operator").inputs
    assert inputs["namespace"] == "psmdb-operator"
    assert inputs["values"]["watchNamespace"] == NAMESPACE
    assert inputs["createNamespace"] is True


def release_with_repository(name: str, repository: str) -> dict[str, Any]:
    """Return the inputs of release `name` installed from `repository`."""
    install = copy.deepcopy(ALL_INSTALLS)
    config_key = {"cert-manager": "certManager", "psmdb-operator": "operator"}[name]
    install[config_key]["repository"] = repository
    return release(run_program(with_install(base_config(), install)), name).inputs


def test_chart_repository_override_used():
    inputs = release_with_repository("cert-manager", "https://127.0.0.1:8443/charts")
    assert inputs["chart"] == "cert-manager"
    assert inputs["repositoryOpts"] == {"repo": "https://127.0.0.1:8443/charts"}


@pytest.mark.parametrize("name", ["cert-manager", "psmdb-operator"])
@pytest.mark.parametrize(
    "repository", ["oci://127.0.0.1:5000/charts", "oci://127.0.0.1:5000/charts/"]
)
def test_oci_chart_referenced_in_chart(name, repository):
    # pulumi-kubernetes pulls from an OCI registry only when `chart` is the full oci://
    # reference, because it looks up a registry in repositoryOpts.repo as a classic repository.
    inputs = release_with_repository(name, repository)
    assert inputs["chart"] == f"oci://127.0.0.1:5000/charts/{name}"
    assert inputs.get("repositoryOpts") is None


def test_oci_chart_keeps_exact_version():
    inputs = release_with_repository("cert-manager", "oci://127.0.0.1:5000/charts")
    assert inputs["version"] == "v1.19.3"


@pytest.mark.parametrize("chart_version", ["v1.15.0", "v1.19.3", "1.15.0", "v2.0.0-alpha.1"])
def test_cert_manager_version_accepted(chart_version):
    install = {"certManager": {"enabled": True, "chartVersion": chart_version}}
    inputs = release(run_program(with_install(base_config(), install)), "cert-manager").inputs
    assert inputs["version"] == chart_version


def test_namespace_created_with_cluster_name():
    namespace = installed_run("pulumi").find(NAMESPACE_TYPE)
    assert namespace.inputs["metadata"]["name"] == NAMESPACE


def test_namespace_retained_on_delete():
    namespace = installed_run("pulumi").find(NAMESPACE_TYPE)
    assert namespace.options.retain_on_delete is True


def test_namespace_kept_when_unmanaged():
    """Turning createNamespace off removes the namespace from the state, not the cluster."""
    first = installed_run("pulumi")
    stored = first.state.get(NAMESPACE_TYPE, "cluster-namespace")
    assert stored is not None
    assert stored.retain_on_delete is True

    install = {**ALL_INSTALLS, "createNamespace": False}
    second = run_program(with_install(base_config(), install), state=first.state)
    # NOTE: the emulated engine reports a retained delete as a plain "delete". The engine
    # skips the provider's Delete call for it, as the stored retain_on_delete above requests.
    assert second.operation(NAMESPACE_TYPE, "cluster-namespace") == "delete"
    assert second.state.get(NAMESPACE_TYPE, "cluster-namespace") is None


def test_namespace_not_created_unless_asked():
    install = {**ALL_INSTALLS, "createNamespace": False}
    run = run_program(with_install(base_config(), install))
    assert run.find_all(NAMESPACE_TYPE) == []


@pytest.mark.parametrize("source", SOURCES)
def test_namespaced_objects_depend_on_namespace(source):
    run = installed_run(source)
    namespace = run.find(NAMESPACE_TYPE)
    placed = namespaced_objects(run)
    assert placed, "no object placed in the cluster namespace"
    for resource in placed:
        assert namespace.urn in resource.dependencies, f"{resource.type} {resource.name}"


@pytest.mark.parametrize("source", SOURCES)
def test_custom_resource_depends_on_operator(source):
    run = installed_run(source)
    operator = release(run, "psmdb-operator")
    assert operator.urn in run.find(CUSTOM_RESOURCE_TYPE).dependencies


@pytest.mark.parametrize("source", SOURCES)
def test_custom_resource_depends_on_cert_manager(source):
    run = installed_run(source)
    cert_manager = release(run, "cert-manager")
    assert cert_manager.urn in run.find(CUSTOM_RESOURCE_TYPE).dependencies


@pytest.mark.parametrize("source", ["cert-manager-selfSigned", "cert-manager-pulumiCa"])
def test_issuers_depend_on_cert_manager(source):
    run = installed_run(source)
    cert_manager = release(run, "cert-manager")
    issuers = [resource for type_ in ISSUER_TYPES for resource in run.find_all(type_)]
    assert issuers, "no issuer registered"
    for issuer in issuers:
        assert cert_manager.urn in issuer.dependencies, issuer.name


@pytest.mark.parametrize(
    "source", ["cert-manager-selfSigned", "cert-manager-pulumiCa", "cert-manager-existing"]
)
def test_certificates_depend_on_cert_manager(source):
    run = installed_run(source)
    cert_manager = release(run, "cert-manager")
    for certificate in run.find_all(CERTIFICATE_TYPE):
        assert cert_manager.urn in certificate.dependencies, certificate.name


def test_releases_use_program_provider():
    run = installed_run("pulumi")
    provider = run.find("pulumi:providers:kubernetes")
    for resource in run.find_all(RELEASE_TYPE):
        assert resource.provider.startswith(provider.urn), resource.name


# Invalid install config: each names the key and value and registers no resource.

INVALID_CASES = [
    (
        "cert-manager without version",
        {"certManager": {"enabled": True}},
        f"{INSTALL}.certManager.chartVersion",
        "v1.19.3",
    ),
    (
        "operator without version",
        {"operator": {"enabled": True}},
        f"{INSTALL}.operator.chartVersion",
        "1.22.0",
    ),
    (
        "version range",
        {"operator": {"enabled": True, "chartVersion": "~1.22"}},
        f"{INSTALL}.operator.chartVersion",
        "~1.22",
    ),
    (
        "version as number",
        {"operator": {"enabled": True, "chartVersion": 1.22}},
        f"{INSTALL}.operator.chartVersion",
        "1.22",
    ),
    (
        "operator older than crVersion",
        {"operator": {"enabled": True, "chartVersion": "1.21.0"}},
        f"{INSTALL}.operator.chartVersion",
        "1.21.0",
    ),
    (
        "enabled as string",
        {"certManager": {"enabled": "yes", "chartVersion": "v1.19.3"}},
        f"{INSTALL}.certManager.enabled",
        "yes",
    ),
    (
        "namespace not dns label",
        {"certManager": {"enabled": True, "chartVersion": "v1.19.3", "namespace": "Cert_Manager"}},
        f"{INSTALL}.certManager.namespace",
        "Cert_Manager",
    ),
    (
        "repository not url",
        {"operator": {"enabled": True, "chartVersion": "1.22.0", "repository": "percona"}},
        f"{INSTALL}.operator.repository",
        "percona",
    ),
    (
        "oci repository with tag",
        {
            "certManager": {
                "enabled": True,
                "chartVersion": "v1.19.3",
                "repository": "oci://127.0.0.1:5000/charts/cert-manager:v1.19.3",
            }
        },
        f"{INSTALL}.certManager.repository",
        "cert-manager:v1.19.3",
    ),
    (
        "oci repository with digest",
        {
            "operator": {
                "enabled": True,
                "chartVersion": "1.22.0",
                "repository": "oci://127.0.0.1:5000/charts@sha256:0123",
            }
        },
        f"{INSTALL}.operator.repository",
        "sha256:0123",
    ),
    (
        "cert-manager before crds.enabled",
        {"certManager": {"enabled": True, "chartVersion": "v1.14.7"}},
        f"{INSTALL}.certManager.chartVersion",
        "v1.14.7",
    ),
    (
        "cert-manager 1.15 pre-release",
        {"certManager": {"enabled": True, "chartVersion": "v1.15.0-beta.1"}},
        f"{INSTALL}.certManager.chartVersion",
        "v1.15.0-beta.1",
    ),
    (
        "cert-manager major 0",
        {"certManager": {"enabled": True, "chartVersion": "v0.16.1"}},
        f"{INSTALL}.certManager.chartVersion",
        "v0.16.1",
    ),
    ("unknown install key", {"certmanager": {"enabled": True}}, f"{INSTALL}.certmanager", "true"),
    ("create namespace string", {"createNamespace": "true"}, f"{INSTALL}.createNamespace", "true"),
    ("install not mapping", ["certManager"], INSTALL, "certManager"),
    ("install plain string", "certManager", INSTALL, "certManager"),
]


@pytest.mark.parametrize(
    ("install", "key", "shown"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_install_rejected(install, key, shown):
    with pytest.raises(ProgramFailed) as failure:
        run_program(with_install(base_config(), install))
    error = failure.value.error
    assert isinstance(error, ConfigError)
    assert error.key == key
    assert shown in str(error)
    assert failure.value.run.resources == []


def test_old_cert_manager_error_names_minimum():
    install = {"certManager": {"enabled": True, "chartVersion": "v1.14.7"}}
    with pytest.raises(ProgramFailed) as failure:
        run_program(with_install(base_config(), install))
    message = str(failure.value.error)
    assert "v1.15.0 or later" in message
    assert "crds.enabled" in message
