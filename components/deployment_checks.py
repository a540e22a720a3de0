"""Checks of a config against the stack's deployed state, for changes that cannot be applied.

Each check raises ConfigError before any resource is registered, naming the key and the way
to make the change, instead of letting `pulumi up` stop halfway on a protected CA or delete a
running cluster.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config_model import CLUSTER_KEY, TLS_KEY, Settings
from components.config_reader import ConfigError
from components.lifecycle import CaSettings, PreviousDeployment


def makes_pulumi_ca(settings: Settings) -> bool:
    """Tell whether this config has a CA made by pulumi-tls (source pulumi, or issuer pulumiCa)."""
    tls = settings.tls
    if tls.certificate_source == "pulumi":
        return True
    return tls.cert_manager is not None and tls.cert_manager.issuer == "pulumiCa"


def configured_ca_settings(settings: Settings) -> CaSettings:
    return CaSettings(
        key_algorithm=settings.tls.key_algorithm, validity_hours=settings.tls.ca_validity_hours
    )


def check_cluster_identity(settings: Settings, previous: PreviousDeployment | None) -> None:
    """Reject a new cluster name or namespace: both would delete the running cluster."""
    if previous is None:
        return
    cluster = settings.cluster
    for key, deployed, configured in (
        ("name", previous.cluster_name, cluster.name),
        ("namespace", previous.namespace, cluster.namespace),
    ):
        if deployed is not None and deployed != configured:
            raise ConfigError(
                f"{CLUSTER_KEY}.{key}",
                configured,
                f"This stack runs the cluster with {key} {deployed}. Changing it would delete "
                "that cluster and create a new one. Keep the deployed value, or deploy the new "
                "cluster in a new stack.",
            )


def check_organization(settings: Settings, previous: PreviousDeployment | None) -> None:
    """Reject a new subject O: members with the old and new O fail x509 member authentication."""
    if previous is None or previous.organization is None:
        return
    if previous.organization != settings.tls.organization:
        raise ConfigError(
            f"{TLS_KEY}.organization",
            settings.tls.organization,
            f"The deployed member certificates carry O={previous.organization}. MongoDB x509 "
            "member authentication needs the same O on every member, so members restarted with "
            "the new value would be rejected by the others during the rolling restart. Keep "
            "the deployed value, or move to the new one in a new stack.",
        )


def trust_source(source: str | None, issuer: str | None) -> str:
    """Describe where the certificates come from, such as "cert-manager issuer selfSigned"."""
    return f"cert-manager issuer {issuer}" if source == "cert-manager" else str(source)


def check_certificate_source(settings: Settings, previous: PreviousDeployment | None) -> None:
    """Reject a switch of certificate source or cert-manager issuer on a deployed stack.

    Every switch either changes the CA members trust in one run, or hands the TLS Secrets to
    another owner. The previous owner deletes or keeps them while the new one writes them, so
    the update fails on objects that already exist, or leaves the operator without them.
    """
    if previous is None or previous.certificate_source is None:
        return
    tls = settings.tls
    same_source = previous.certificate_source == tls.certificate_source
    configured_issuer = tls.cert_manager.issuer if tls.cert_manager is not None else None
    if same_source and (tls.certificate_source != "cert-manager" or configured_issuer is None):
        return
    # Deployments made before the issuer was recorded have no certManagerIssuerType output.
    if same_source and previous.cert_manager_issuer in (None, configured_issuer):
        return
    deployed = trust_source(previous.certificate_source, previous.cert_manager_issuer)
    configured = trust_source(tls.certificate_source, configured_issuer)
    raise ConfigError(
        f"{TLS_KEY}.certManager.issuer" if same_source else f"{TLS_KEY}.certificateSource",
        configured_issuer if same_source else tls.certificate_source,
        f"This stack's certificates come from {deployed}. Switching to {configured} would "
        "change the CA members trust in one run, or fail on TLS Secrets the previous source "
        "created. Deploy the new source in a new stack.",
    )


def deployed_ca_settings(
    settings: Settings, previous: PreviousDeployment | None
) -> Mapping[int, CaSettings]:
    """Return the settings of each deployed CA generation, rejecting changes to the current one.

    A CA keeps the settings it was made with, because new ones would replace it. New settings
    apply to the next generation, so they go together with the start of a CA rotation.
    """
    if previous is None:
        return {}
    current = settings.tls.ca_rotation.generation
    deployed = previous.ca_settings.get(current)
    configured = configured_ca_settings(settings)
    if deployed is not None and makes_pulumi_ca(settings):
        for name, old, new in (
            ("keyAlgorithm", deployed.key_algorithm, configured.key_algorithm),
            ("caValidityHours", deployed.validity_hours, configured.validity_hours),
        ):
            if old == new:
                continue
            if settings.tls.certificate_source != "pulumi":
                remedy = (
                    "CA rotation is available for certificateSource pulumi only, so keep the "
                    "deployed value, or deploy the new one in a new stack."
                )
            elif settings.tls.ca_rotation.rotating:
                remedy = (
                    f"Keep {old} until this rotation reaches phase complete, then start the "
                    f"next one (generation {current + 1} phase trustBoth) with the new value."
                )
            else:
                remedy = (
                    f"Apply the new value with a CA rotation: set caRotation to generation "
                    f"{current + 1} phase trustBoth in the same run."
                )
            raise ConfigError(
                f"{TLS_KEY}.{name}",
                new,
                f"CA generation {current} was made with {name} {old}, and the CA is protected "
                f"against replacement. {remedy}",
            )
    return dict(previous.ca_settings)
