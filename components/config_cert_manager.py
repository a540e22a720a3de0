"""The `psmdb-tls:tls.certManager` key: how cert-manager issues the member certificates.

Durations reuse the keys of `psmdb-tls:tls`, so a key means the same thing for every
certificate source: `certValidityHours` is the member Certificates' `duration`,
`earlyRenewalHours` their `renewBefore` and `caValidityHours` the CA Certificate's `duration`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.config_reader import ConfigError, Section, require_dns_subdomain

CERT_MANAGER_SOURCE = "cert-manager"
CERT_MANAGER_KEY = "certManager"
CERT_MANAGER_GROUP = "cert-manager.io"

# selfSigned: a self-signed Issuer signs a CA Certificate, and a CA Issuer backed by that CA's
# Secret signs the members. pulumiCa: the pulumi-tls CA, stored in a Secret, backs the CA
# Issuer. existing: an Issuer or ClusterIssuer made outside this program signs the members.
ISSUER_TYPES = ("selfSigned", "pulumiCa", "existing")
ISSUER_KINDS = ("Issuer", "ClusterIssuer")
EXTERNAL_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
# The issuers for which this program creates the CA Secret that backs the member issuer.
ISSUERS_WITH_CA_SECRET = ("selfSigned", "pulumiCa")

# cert-manager's renewBefore of a CA that it renews. 730h is the value the Percona operator
# gives its own CA Certificate.
DEFAULT_CA_RENEW_BEFORE_HOURS = 730


@dataclass(frozen=True)
class IssuerReference:
    """A cert-manager `issuerRef`: name, kind (Issuer or ClusterIssuer) and API group."""

    name: str
    kind: str
    group: str

    def to_spec(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "group": self.group}


@dataclass(frozen=True)
class CertManagerConfig:
    """The `psmdb-tls:tls.certManager` key."""

    issuer: str
    # Set only for issuer `existing`.
    issuer_ref: IssuerReference | None
    # renewBefore of the CA Certificate; used only with issuer `selfSigned`.
    ca_renew_before_hours: int


def ca_secret_name(cluster_name: str) -> str:
    """Return the name of the CA Secret created for ISSUERS_WITH_CA_SECRET."""
    return f"pulumi-{cluster_name}-ca"


def hours(value: int) -> str:
    """Format whole hours as a Go duration string, the form cert-manager and the operator read."""
    return f"{value}h"


def parse_cert_manager(
    tls: Section,
    source: str,
    *,
    ca_validity_hours: int,
    early_renewal_hours: int,
) -> CertManagerConfig | None:
    """Parse `certManager` from the `psmdb-tls:tls` section, or None for other sources.

    Raises ConfigError when the key is set for another certificate source, and for values
    cert-manager would reject only later, in the cluster.
    """
    if source != CERT_MANAGER_SOURCE:
        if tls.has(CERT_MANAGER_KEY):
            raise ConfigError(
                tls.path(CERT_MANAGER_KEY),
                tls.raw(CERT_MANAGER_KEY),
                f"It applies only to certificateSource: {CERT_MANAGER_SOURCE}, and this stack "
                f"uses {source}. Remove the key or change the source.",
            )
        return None

    # cert-manager rejects a Certificate whose renewBefore is under 5 minutes, so 0 hours
    # (which pulumi-tls accepts as "never early") is not valid here.
    if early_renewal_hours < 1:
        raise ConfigError(
            tls.path("earlyRenewalHours"),
            early_renewal_hours,
            "It becomes the member Certificates' renewBefore, which cert-manager requires to be "
            "at least 5 minutes: set at least 1.",
        )

    section = tls.section(CERT_MANAGER_KEY, {})
    issuer = section.string("issuer", "selfSigned", ISSUER_TYPES)
    issuer_ref = _parse_issuer_ref(section, issuer)
    ca_renew_before = _parse_ca_renew_before(section, issuer, ca_validity_hours)
    section.finish()
    return CertManagerConfig(
        issuer=issuer, issuer_ref=issuer_ref, ca_renew_before_hours=ca_renew_before
    )


def _parse_issuer_ref(section: Section, issuer: str) -> IssuerReference | None:
    if issuer != "existing":
        if section.has("issuerRef"):
            raise ConfigError(
                section.path("issuerRef"),
                section.raw("issuerRef"),
                f"issuerRef names an issuer made outside this program and applies only to "
                f"issuer: existing. With issuer: {issuer} this program creates the issuers.",
            )
        return None
    if not section.has("issuerRef"):
        raise ConfigError(
            section.path("issuerRef"),
            None,
            "issuer: existing needs issuerRef with the name (and kind Issuer or ClusterIssuer) "
            "of the issuer that signs the member certificates.",
        )
    reference = section.section("issuerRef")
    name = require_dns_subdomain(reference.path("name"), reference.string("name"))
    group = require_dns_subdomain(
        reference.path("group"), reference.string("group", CERT_MANAGER_GROUP)
    )
    if group == CERT_MANAGER_GROUP:
        kind = reference.string("kind", "Issuer", ISSUER_KINDS)
    else:
        # An external issuer (another API group, such as awspca.cert-manager.io) names its own
        # kinds, such as AWSPCAClusterIssuer.
        kind = reference.string("kind")
        if not EXTERNAL_KIND.match(kind):
            raise ConfigError(
                reference.path("kind"),
                kind,
                "Expected a Kubernetes kind: a letter, then letters and digits.",
            )
    reference.finish()
    return IssuerReference(name=name, kind=kind, group=group)


def _parse_ca_renew_before(section: Section, issuer: str, ca_validity_hours: int) -> int:
    if issuer != "selfSigned":
        if section.has("caRenewBeforeHours"):
            raise ConfigError(
                section.path("caRenewBeforeHours"),
                section.raw("caRenewBeforeHours"),
                "It is the renewBefore of the CA Certificate that only issuer: selfSigned "
                f"creates; with issuer: {issuer} cert-manager does not renew the CA.",
            )
        return DEFAULT_CA_RENEW_BEFORE_HOURS
    renew_before = section.integer("caRenewBeforeHours", DEFAULT_CA_RENEW_BEFORE_HOURS, minimum=1)
    # cert-manager rejects a Certificate whose duration is not longer than its renewBefore.
    if ca_validity_hours <= renew_before:
        raise ConfigError(
            section.path("caRenewBeforeHours"),
            renew_before,
            f"It must be shorter than tls.caValidityHours ({ca_validity_hours}), the CA "
            "Certificate's duration, or cert-manager rejects the CA Certificate. Lower it or "
            "raise caValidityHours.",
        )
    return renew_before
