"""Stack validations: checks that need several resources, run after the preview or the update.

The engine passes every resource of the stack with its outputs, as they are after the run.
During `pulumi preview` that means: resources the run keeps unchanged carry the outputs stored
in the state, and resources it creates, updates or replaces carry the provider's preview
outputs, where computed values such as pulumi-tls's validityEndTime are unknown. A mandatory
violation reported during `pulumi up` arrives after the changes were applied, so run a preview
with the pack first (`pulumi up` without --skip-preview does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .resource_values import (
    CERTIFICATE_TYPE,
    PSMDB_TYPE,
    PULUMI_TLS_CERT_TYPES,
    ROTATE_CA_SECTION,
    ROTATE_LEAVES_SECTION,
    SECRET_TYPE,
    TLS_CONFIG,
    config_whole_number,
    describe,
    doc_section,
    kubernetes_name,
    lookup,
    parse_timestamp,
)

DEFAULT_WARNING_DAYS = 30


def _tls_secret_names(cluster: PolicyResource) -> tuple[str | None, set[str]]:
    """Return the namespace and the two TLS Secret names a PerconaServerMongoDB reads.

    Unset names take the operator's defaults, `<name>-ssl` and `<name>-ssl-internal`.
    """
    name = lookup(cluster.props, "metadata", "name")
    namespace = lookup(cluster.props, "metadata", "namespace")
    ssl = lookup(cluster.props, "spec", "secrets", "ssl") or f"{name}-ssl"
    ssl_internal = lookup(cluster.props, "spec", "secrets", "sslInternal") or f"{name}-ssl-internal"
    return namespace, {ssl, ssl_internal}


def _same_namespace(namespace: str | None, other: str | None) -> bool:
    """Compare namespaces, treating an unset one (the provider's default) as matching."""
    return namespace is None or other is None or namespace == other


def _writes_tls_secret(
    resource: PolicyResource, namespace: str | None, secret_names: set[str]
) -> bool:
    """Return whether a resource is one of the Secrets, or a Certificate that writes one."""
    try:
        if resource.resource_type == SECRET_TYPE:
            name = lookup(resource.props, "metadata", "name")
        elif resource.resource_type == CERTIFICATE_TYPE:
            name = lookup(resource.props, "spec", "secretName")
        else:
            return False
        other_namespace = lookup(resource.props, "metadata", "namespace")
    except UnknownValueError:
        return False
    return name in secret_names and _same_namespace(namespace, other_namespace)


def _secret_target_unknown(resource: PolicyResource) -> bool:
    """Return whether a Secret's or Certificate's target name or namespace is unknown."""
    if resource.resource_type not in (SECRET_TYPE, CERTIFICATE_TYPE):
        return False
    try:
        lookup(resource.props, "metadata", "name")
        lookup(resource.props, "metadata", "namespace")
        lookup(resource.props, "spec", "secretName")
    except UnknownValueError:
        return True
    return False


def validate_certificates_managed(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Report a PerconaServerMongoDB whose TLS Secrets this stack does not make.

    With neither a Secret nor a cert-manager Certificate for them in the stack
    (certificateSource operator), the operator makes its own self-signed CA and certificates.
    No stack output contains that CA, so clients cannot verify the members, and the expiry policy
    does not see those certificates. A preview where a Secret's or Certificate's name is still
    unknown reports nothing, because it cannot tell which Secrets the stack makes.
    """
    if any(_secret_target_unknown(resource) for resource in args.resources):
        return
    for cluster in args.resources:
        if cluster.resource_type != PSMDB_TYPE:
            continue
        try:
            allowed = lookup(cluster.props, "spec", "tls", "allowInvalidCertificates")
            namespace, secret_names = _tls_secret_names(cluster)
        except UnknownValueError:
            continue
        if any(
            _writes_tls_secret(resource, namespace, secret_names) for resource in args.resources
        ):
            continue
        value_text = (
            "unset, which the operator treats as true" if allowed is None else json.dumps(allowed)
        )
        report_violation(
            f"{describe(cluster.resource_type, cluster.name, cluster.props)} reads the TLS "
            f"Secrets {', '.join(sorted(secret_names))}, which this stack does not make, so the "
            "operator makes self-signed certificates for them: no stack output contains their CA, "
            "clients cannot verify them, and spec.tls.allowInvalidCertificates is "
            f"{value_text}. Fix: deploy the cluster in a new stack with pulumi config set "
            f"--path '{TLS_CONFIG}.certificateSource' pulumi (or cert-manager) and "
            f"pulumi config set --path '{TLS_CONFIG}.allowInvalidCertificates' false. A deployed "
            "stack cannot change its certificate source.",
            cluster.urn,
        )


def validate_certificates_verified(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Report a PerconaServerMongoDB that skips certificate checks on certificates this stack makes.

    spec.tls.allowInvalidCertificates must be false when the stack has a Secret or a cert-manager
    Certificate for either TLS Secret of the resource. When it has neither, the operator makes
    self-signed certificates whose names clients cannot verify, and true is allowed.
    """
    for cluster in args.resources:
        if cluster.resource_type != PSMDB_TYPE:
            continue
        try:
            allowed = lookup(cluster.props, "spec", "tls", "allowInvalidCertificates")
            namespace, secret_names = _tls_secret_names(cluster)
        except UnknownValueError:
            continue
        if allowed is False:
            continue
        makers = [
            f"{resource.resource_type.rsplit(':', 1)[-1]} {kubernetes_name(resource.props)}"
            for resource in args.resources
            if _writes_tls_secret(resource, namespace, secret_names)
        ]
        if not makers:
            continue
        value_text = (
            "unset, which the operator treats as true" if allowed is None else json.dumps(allowed)
        )
        report_violation(
            f"{describe(cluster.resource_type, cluster.name, cluster.props)} has "
            f"spec.tls.allowInvalidCertificates {value_text}, so mongod and mongos accept peer "
            "certificates they cannot verify, although this stack makes the certificates of "
            f"{', '.join(sorted(secret_names))} ({'; '.join(makers)}). Fix: pulumi config set "
            f"--path '{TLS_CONFIG}.allowInvalidCertificates' false, then pulumi up.",
            cluster.urn,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _expiry_fix(resource: PolicyResource) -> str:
    if resource.props.get("isCaCertificate") is True:
        return (
            f"rotate the CA with {TLS_CONFIG}.caRotation, one pulumi up per phase "
            f"({doc_section(ROTATE_CA_SECTION)}). pulumi up never re-issues a CA by itself."
        )
    return (
        "run pulumi up, which re-issues a member certificate within earlyRenewalHours of its "
        f"expiry. To re-issue at once, raise {TLS_CONFIG}.rotation.certificates by one "
        f"({doc_section(ROTATE_LEAVES_SECTION)})."
    )


def _certificates(resources: Iterable[PolicyResource]) -> Iterable[tuple[PolicyResource, Any]]:
    """Yield each pulumi-tls certificate with its validityEndTime, skipping unknown ones."""
    for resource in resources:
        if resource.resource_type not in PULUMI_TLS_CERT_TYPES:
            continue
        try:
            end_time = resource.props.get("validityEndTime")
        except UnknownValueError:
            # Created or replaced by this preview: its expiry is known only after the update.
            continue
        yield resource, end_time


def make_validate_certificate_expiry(
    clock: Callable[[], datetime] = _utc_now,
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """Return the expiry validation, reading the current time from `clock` (aware datetimes).

    It reads the validityEndTime outputs of pulumi-tls certificates. In a preview these are
    known, from the state, for every certificate the run keeps, and unknown for those it
    re-issues, which get a new expiry anyway. So it reports the CA, which pulumi up never
    re-issues, and any member certificate whose early renewal did not happen.
    cert-manager Certificates are not checked: cert-manager renews them in the cluster, and
    their status in the state is only as fresh as the last `pulumi refresh`.
    """

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        warning_days = config_whole_number(args.get_config(), "warningDays", DEFAULT_WARNING_DAYS)
        now = clock()
        for resource, end_text in _certificates(args.resources):
            end_time = parse_timestamp(end_text)
            if end_time is None:
                continue
            remaining = end_time - now
            if remaining > timedelta(days=warning_days):
                continue
            when = (
                f"expired on {end_text}"
                if remaining <= timedelta(0)
                else f"expires on {end_text}, in {remaining.days} days"
            )
            report_violation(
                f"{describe(resource.resource_type, resource.name, resource.props)} {when} "
                f"(warning at {warning_days} days). Fix: {_expiry_fix(resource)}",
                resource.urn,
            )

    return validate


validate_certificate_expiry = make_validate_certificate_expiry()
