"""psmdb-tls: TLS for a Percona Operator for MongoDB cluster, driven by stack config."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import CLUSTER_KEY, PROJECT, TLS_KEY, Settings, load_settings
from components.config_install import load_install
from components.deployment_checks import (
    check_certificate_source,
    check_cluster_identity,
    check_organization,
    deployed_ca_settings,
)
from components.installs import create_installs
from components.lifecycle import (
    PreviousDeployment,
    check_ca_rotation,
    check_mode_change,
    expiry_warnings,
)
from components.psmdb_tls import PsmdbTls, PsmdbTlsArgs, sha256_fingerprint


def read_config_value(config: pulumi.Config, key: str) -> Any:
    """Return a config value decoded from JSON, or the raw string when it is not JSON.

    Structured values arrive as JSON text. A plain string is passed on unchanged, so that
    load_settings can name the key and the value in its error.
    """
    raw = config.get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


config = pulumi.Config(PROJECT)
# Every value is checked here, before any resource is registered.
settings = load_settings(
    {
        CLUSTER_KEY: read_config_value(config, "cluster"),
        TLS_KEY: read_config_value(config, "tls"),
    }
)
install = load_install(read_config_value(config, "install"), settings.cluster)


async def read_previous_deployment() -> PreviousDeployment | None:
    """Read the outputs of this stack's previous deployment (none for a new stack)."""
    stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    # NOTE: this relies on a stack reference to the stack being updated returning the outputs of
    # its last completed update. The tests emulate that; it was not run against a real backend.
    reference = pulumi.StackReference("previous-deployment", stack_name=stack)
    outputs: dict[str, Any] | None = await reference.outputs.future()
    return PreviousDeployment.from_outputs(outputs or {})


def export_outputs(cluster_tls: PsmdbTls, settings: Settings) -> dict[str, Any]:
    """Return the stack outputs. No private key reaches any of them."""
    tls = settings.tls
    outputs: dict[str, Any] = {
        "clusterName": settings.cluster.name,
        "namespace": settings.cluster.namespace,
        "tlsMode": tls.mode,
        "paused": settings.cluster.pause,
        "certificateSource": tls.certificate_source,
        "sslSecretName": settings.cluster.ssl_secret_name,
        "sslInternalSecretName": settings.cluster.ssl_internal_secret_name,
        "dnsNames": cluster_tls.dns_names,
        "ipAddresses": cluster_tls.ip_addresses,
    }
    if tls.certificate_source != "operator":
        outputs["organization"] = tls.organization
    if cluster_tls.cas:
        # Read back by the next run, so that each CA keeps the settings it was made with.
        outputs["caSettings"] = {
            str(generation): {
                "keyAlgorithm": ca.key_algorithm,
                "validityHours": ca.validity_hours,
            }
            for generation, ca in cluster_tls.ca_settings().items()
        }
    if cluster_tls.cert_manager is not None:
        outputs.update(cert_manager_outputs(cluster_tls))

    current_ca = cluster_tls.current_ca
    if current_ca is None or cluster_tls.external is None or cluster_tls.internal is None:
        return outputs

    rotation: dict[str, Any] = {
        "generation": tls.ca_rotation.generation,
        "phase": tls.ca_rotation.phase,
        "caFingerprintSha256": current_ca.certificate.cert_pem.apply(sha256_fingerprint),
    }
    not_after: dict[str, Any] = {
        "ca": current_ca.certificate.validity_end_time,
        "ssl": cluster_tls.external.certificate.validity_end_time,
        "sslInternal": cluster_tls.internal.certificate.validity_end_time,
    }
    previous_ca = cluster_tls.previous_ca
    if previous_ca is not None:
        rotation["previousCaFingerprintSha256"] = previous_ca.certificate.cert_pem.apply(
            sha256_fingerprint
        )
        not_after["previousCa"] = previous_ca.certificate.validity_end_time

    outputs.update(
        {
            # The CA bundle clients should trust: both CAs while a rotation runs.
            "caCertificatePem": cluster_tls.ca_bundle_pem,
            "caFingerprintSha256": rotation["caFingerprintSha256"],
            "caRotation": rotation,
            "certificateNotAfter": not_after,
        }
    )
    return outputs


def cert_manager_outputs(cluster_tls: PsmdbTls) -> dict[str, Any]:
    """Return the outputs of certificateSource cert-manager: the issuer, and the pulumiCa CA."""
    assert cluster_tls.cert_manager is not None
    reference = cluster_tls.cert_manager.issuer_reference
    outputs: dict[str, Any] = {
        "certManagerIssuer": reference.to_spec(),
        # Read back by the next run, which rejects a switch to another issuer.
        "certManagerIssuerType": settings.tls.cert_manager.issuer
        if settings.tls.cert_manager
        else None,
    }
    ca = cluster_tls.current_ca
    if ca is not None:
        # Issuer pulumiCa: the trust root is known before cert-manager issues anything.
        outputs["caCertificatePem"] = ca.certificate.cert_pem
        outputs["caFingerprintSha256"] = ca.certificate.cert_pem.apply(sha256_fingerprint)
    return outputs


async def main() -> dict[str, Any]:
    # The previous deployment's outputs tell which rotation phase and TLS mode the cluster is
    # in. They are read before any resource is registered, so a skipped step fails cleanly.
    previous = await read_previous_deployment()
    check_cluster_identity(settings, previous)
    check_organization(settings, previous)
    check_certificate_source(settings, previous)
    check_ca_rotation(settings.tls.ca_rotation, previous)
    ca_settings = deployed_ca_settings(settings, previous)
    warnings = check_mode_change(settings.tls.mode, settings.cluster.pause, previous)
    if settings.tls.pulumi_owns_certificates:
        now = datetime.now(UTC)
        warnings += expiry_warnings(previous, now, settings.tls.cert_validity_hours)

    # Secrets change in place when certificates are re-issued. Without this the provider deletes
    # and recreates them, and the operator could find a Secret missing and make its own.
    kubernetes = k8s.Provider("kubernetes", enable_secret_mutable=True)
    installs = create_installs(
        install, settings.cluster, pulumi.ResourceOptions(provider=kubernetes)
    )
    cluster_tls = PsmdbTls(
        settings.cluster.name,
        PsmdbTlsArgs(settings=settings, installs=installs, deployed_ca_settings=ca_settings),
        opts=pulumi.ResourceOptions(providers={"kubernetes": kubernetes}),
    )
    for warning in warnings:
        pulumi.log.warn(warning, resource=cluster_tls.custom_resource)
    return export_outputs(cluster_tls, settings)


pulumi.run(main)
