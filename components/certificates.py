"""The CA and member certificates, made with pulumi-tls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_tls as tls

from components.config import KEY_ALGORITHMS

# A member certificate serves connections and authenticates as a client: members dial each
# other with it under x509 member authentication, and the operator's probes, backup and
# monitoring agents present the external certificate as their client certificate.
MEMBER_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
CA_USES = ["cert_signing", "crl_signing", "digital_signature"]


def private_key(name: str, key_algorithm: str, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    """Create a private key of one of the KEY_ALGORITHMS names, such as RSA-2048 or ECDSA-P256."""
    algorithm, rsa_bits, ecdsa_curve = KEY_ALGORITHMS[key_algorithm]
    return tls.PrivateKey(
        name,
        algorithm=algorithm,
        rsa_bits=rsa_bits,
        ecdsa_curve=ecdsa_curve,
        opts=opts,
    )


@dataclass
class CertificateAuthorityArgs:
    common_name: str
    organization: str
    key_algorithm: str
    validity_hours: int
    # Protected from deletion, unless it is an old CA on its way out of a rotation: Pulumi only
    # deletes a resource that was unprotected in the previous deployment.
    protect: bool = True


class CertificateAuthority(pulumi.ComponentResource):
    """A self-signed CA: its private key and certificate.

    The CA never renews by itself (no early renewal): a new CA is a new trust root, which the
    cluster and its clients must be moved to in steps (`tls.caRotation`).
    """

    key: tls.PrivateKey
    certificate: tls.SelfSignedCert

    def __init__(
        self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("psmdb-tls:tls:CertificateAuthority", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.key = private_key(f"{name}-key", args.key_algorithm, child)
        self.certificate = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=self.key.private_key_pem,
            is_ca_certificate=True,
            set_subject_key_id=True,
            allowed_uses=CA_USES,
            validity_period_hours=args.validity_hours,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=args.common_name, organization=args.organization
            ),
            opts=child,
        )
        self.register_outputs(
            {"certPem": self.certificate.cert_pem, "notAfter": self.certificate.validity_end_time}
        )


@dataclass
class MemberCertificateArgs:
    ca_cert_pem: pulumi.Input[str]
    ca_private_key_pem: pulumi.Input[str]
    common_name: str
    organization: str
    key_algorithm: str
    dns_names: Sequence[str]
    ip_addresses: Sequence[str] = field(default_factory=list)
    validity_hours: int = 8760
    early_renewal_hours: int = 720
    # A change of this value replaces the key, and with it the CSR and the certificate.
    rotation: int = 0


class MemberCertificate(pulumi.ComponentResource):
    """A member certificate: its own key, a CSR and the CA-signed certificate."""

    key: tls.PrivateKey
    request: tls.CertRequest
    certificate: tls.LocallySignedCert

    def __init__(
        self, name: str, args: MemberCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("psmdb-tls:tls:MemberCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key = private_key(
            f"{name}-key",
            args.key_algorithm,
            pulumi.ResourceOptions(parent=self, replacement_trigger=args.rotation),
        )
        self.request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=self.key.private_key_pem,
            dns_names=list(args.dns_names),
            ip_addresses=list(args.ip_addresses) or None,
            # MongoDB x509 member authentication requires the same non-empty O on every member.
            subject=tls.CertRequestSubjectArgs(
                common_name=args.common_name, organization=args.organization
            ),
            opts=child,
        )
        self.certificate = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=self.request.cert_request_pem,
            ca_cert_pem=args.ca_cert_pem,
            ca_private_key_pem=args.ca_private_key_pem,
            allowed_uses=MEMBER_USES,
            validity_period_hours=args.validity_hours,
            # NOTE: renewal relies on pulumi-tls replacing the certificate at plan time inside
            # this window, which a bridged release was once reported to skip. The program warns
            # when a certificate has expired anyway.
            early_renewal_hours=args.early_renewal_hours,
            opts=child,
        )
        self.register_outputs(
            {"certPem": self.certificate.cert_pem, "notAfter": self.certificate.validity_end_time}
        )
