"""cert-manager Issuers and Certificates that issue and renew the member certificates in the cluster.

Pulumi owns the objects that ask for certificates; cert-manager issues them into the Secrets the
PerconaServerMongoDB resource names and renews them. None of these objects has an owner
reference to the resource, and none uses a name the operator gives its own cert-manager objects
(`<cluster>-psmdb-ca-issuer`, `<cluster>-psmdb-issuer`, `<cluster>-ca-cert`, `<cluster>-ssl`,
`<cluster>-ssl-internal`): the operator overwrites objects of those names. Every name here starts
with `pulumi-<cluster>-` and ends in a suffix no operator name of the same kind ends in, so even
the objects of a cluster named `pulumi-<cluster>` in the same namespace cannot collide with them.
The operator then counts the Secrets as user-provided (their Issuer is not controlled by the
resource) and leaves them alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.certificates import CertificateAuthority
from components.config import KEY_ALGORITHMS, Settings
from components.config_cert_manager import (
    CERT_MANAGER_GROUP,
    IssuerReference,
    ca_secret_name,
    hours,
)
from components.tls_secret import tls_secret

API_VERSION = "cert-manager.io/v1"
# Members serve connections and authenticate to each other as clients with the same
# certificate, and the operator's probes and agents present the external one as a client.
MEMBER_USAGES = ["digital signature", "key encipherment", "server auth", "client auth"]
CA_USAGES = ["digital signature", "cert sign", "crl sign"]
# pulumi-kubernetes (experimental from 4.18.0) waits until the Certificate reports Ready, which
# cert-manager sets once the Secret contains a valid certificate. Resources that depend on a
# Certificate are therefore created only after its Secret exists.
WAIT_FOR_READY = {"pulumi.com/waitFor": "condition=Ready"}


@dataclass(frozen=True)
class ObjectNames:
    """Names of the cert-manager objects and the CA Secret this program creates for one cluster."""

    self_signed_issuer: str
    ca_certificate: str
    ca_secret: str
    ca_issuer: str
    ssl_certificate: str
    ssl_internal_certificate: str


def object_names(cluster_name: str) -> ObjectNames:
    prefix = f"pulumi-{cluster_name}"
    return ObjectNames(
        self_signed_issuer=f"{prefix}-selfsigned-issuer",
        ca_certificate=f"{prefix}-ca",
        ca_secret=ca_secret_name(cluster_name),
        ca_issuer=f"{prefix}-member-issuer",
        ssl_certificate=f"{prefix}-ssl-cert",
        ssl_internal_certificate=f"{prefix}-ssl-internal-cert",
    )


def member_issuer_reference(settings: Settings) -> IssuerReference:
    """Return the issuer that signs the member certificates: the given one, or the CA Issuer."""
    cert_manager = settings.tls.cert_manager
    assert cert_manager is not None, "certificateSource is not cert-manager"
    if cert_manager.issuer_ref is not None:
        return cert_manager.issuer_ref
    name = object_names(settings.cluster.name).ca_issuer
    return IssuerReference(name=name, kind="Issuer", group=CERT_MANAGER_GROUP)


def private_key_spec(key_algorithm: str, rotation_policy: str) -> dict[str, Any]:
    """Return a Certificate's `privateKey` for a KEY_ALGORITHMS name such as RSA-2048."""
    algorithm, rsa_bits, ecdsa_curve = KEY_ALGORITHMS[key_algorithm]
    size = rsa_bits if rsa_bits is not None else int(str(ecdsa_curve).removeprefix("P"))
    return {"algorithm": algorithm, "size": size, "rotationPolicy": rotation_policy}


def ca_certificate_spec(settings: Settings) -> dict[str, Any]:
    """Return the spec of the CA Certificate that the self-signed Issuer signs."""
    tls = settings.tls
    assert tls.cert_manager is not None
    names = object_names(settings.cluster.name)
    return {
        "secretName": names.ca_secret,
        "isCA": True,
        "commonName": f"{settings.cluster.name} CA",
        "subject": {"organizations": [tls.organization]},
        "usages": list(CA_USAGES),
        "duration": hours(tls.ca_validity_hours),
        "renewBefore": hours(tls.cert_manager.ca_renew_before_hours),
        # Since cert-manager 1.18 the default policy (Always) makes a new key at every renewal,
        # which would give the cluster a new trust root in the middle of a rolling restart. With
        # Never the renewed CA keeps its key and subject, so certificates it signed before the
        # renewal still verify against it.
        "privateKey": private_key_spec(tls.key_algorithm, "Never"),
        "issuerRef": {
            "name": names.self_signed_issuer,
            "kind": "Issuer",
            "group": CERT_MANAGER_GROUP,
        },
    }


def member_certificate_spec(
    settings: Settings,
    secret_name: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
) -> dict[str, Any]:
    """Return the spec of a member Certificate that writes the Secret `secret_name`."""
    tls = settings.tls
    spec: dict[str, Any] = {
        "secretName": secret_name,
        "commonName": settings.cluster.name,
        # MongoDB x509 member authentication needs the same non-empty O on every member.
        "subject": {"organizations": [tls.organization]},
        "dnsNames": list(dns_names),
        "usages": list(MEMBER_USAGES),
        "duration": hours(tls.cert_validity_hours),
        "renewBefore": hours(tls.early_renewal_hours),
        # Explicit, because the default changed in cert-manager 1.18: a new member key at
        # every renewal.
        "privateKey": private_key_spec(tls.key_algorithm, "Always"),
        "issuerRef": member_issuer_reference(settings).to_spec(),
    }
    if ip_addresses:
        spec["ipAddresses"] = list(ip_addresses)
    return spec


@dataclass
class CertManagerTlsArgs:
    settings: Settings
    dns_names: Sequence[str]
    ip_addresses: Sequence[str]
    labels: Mapping[str, str]
    # The pulumi-tls CA that backs the CA Issuer; required for issuer `pulumiCa`.
    ca: CertificateAuthority | None = None
    # What every object here waits for: the cluster namespace and the cert-manager install
    # when this program creates them.
    dependencies: Sequence[pulumi.Resource] = field(default_factory=list)


class CertManagerTls(pulumi.ComponentResource):
    """The Issuers, the CA and the two member Certificates for one cluster.

    Issuer `selfSigned`: a self-signed Issuer, a CA Certificate it signs and a CA Issuer backed
    by that CA's Secret. Issuer `pulumiCa`: the pulumi-tls CA in a Secret and a CA Issuer backed
    by it. Issuer `existing`: no issuer is created. Then two Certificates write the ssl and
    sslInternal Secrets, each created after the issuer that signs it.
    """

    issuer_reference: IssuerReference
    issuers: list[k8s.apiextensions.CustomResource]
    ca_certificate: k8s.apiextensions.CustomResource | None
    ca_secret: k8s.core.v1.Secret | None
    certificates: list[k8s.apiextensions.CustomResource]

    def __init__(
        self, name: str, args: CertManagerTlsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("psmdb-tls:certmanager:CertManagerTls", name, None, opts)
        self._args = args
        settings = args.settings
        cert_manager = settings.tls.cert_manager
        assert cert_manager is not None, "certificateSource is not cert-manager"
        self._names = object_names(settings.cluster.name)
        self.issuer_reference = member_issuer_reference(settings)
        self.issuers = []
        self.ca_certificate = None
        self.ca_secret = None

        signer: list[pulumi.Resource] = []
        if cert_manager.issuer == "selfSigned":
            signer = [self._self_signed_ca(name)]
        elif cert_manager.issuer == "pulumiCa":
            if args.ca is None:
                raise ValueError("issuer pulumiCa needs the pulumi-tls CA in CertManagerTlsArgs.ca")
            signer = [self._pulumi_ca(name, args.ca)]

        cluster = settings.cluster
        self.certificates = [
            self._custom_resource(
                f"{name}-{suffix}",
                "Certificate",
                certificate_name,
                member_certificate_spec(settings, secret_name, args.dns_names, args.ip_addresses),
                depends_on=signer,
                annotations=WAIT_FOR_READY,
            )
            for suffix, certificate_name, secret_name in (
                ("ssl", self._names.ssl_certificate, cluster.ssl_secret_name),
                (
                    "ssl-internal",
                    self._names.ssl_internal_certificate,
                    cluster.ssl_internal_secret_name,
                ),
            )
        ]
        self.register_outputs(
            {"issuerKind": self.issuer_reference.kind, "issuerName": self.issuer_reference.name}
        )

    def _self_signed_ca(self, name: str) -> k8s.apiextensions.CustomResource:
        """Create the self-signed Issuer, the CA Certificate and the CA Issuer; return the last."""
        names = self._names
        self_signed = self._custom_resource(
            f"{name}-selfsigned-issuer", "Issuer", names.self_signed_issuer, {"selfSigned": {}}
        )
        self.ca_certificate = self._custom_resource(
            f"{name}-ca",
            "Certificate",
            names.ca_certificate,
            ca_certificate_spec(self._args.settings),
            depends_on=[self_signed],
            annotations=WAIT_FOR_READY,
        )
        ca_issuer = self._custom_resource(
            f"{name}-member-issuer",
            "Issuer",
            names.ca_issuer,
            {"ca": {"secretName": names.ca_secret}},
            depends_on=[self.ca_certificate],
        )
        self.issuers = [self_signed, ca_issuer]
        return ca_issuer

    def _pulumi_ca(self, name: str, ca: CertificateAuthority) -> k8s.apiextensions.CustomResource:
        """Store the pulumi-tls CA in a Secret and create the CA Issuer backed by it."""
        settings = self._args.settings
        # tls_secret makes the whole stringData a Pulumi secret, and the CA key is one already.
        self.ca_secret = tls_secret(
            f"{name}-ca-secret",
            secret_name=self._names.ca_secret,
            namespace=settings.cluster.namespace,
            ca_bundle_pem=ca.certificate.cert_pem,
            cert_pem=ca.certificate.cert_pem,
            key_pem=ca.key.private_key_pem,
            labels=dict(self._args.labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.dependencies)),
        )
        ca_issuer = self._custom_resource(
            f"{name}-member-issuer",
            "Issuer",
            self._names.ca_issuer,
            {"ca": {"secretName": self._names.ca_secret}},
            depends_on=[self.ca_secret],
        )
        self.issuers = [ca_issuer]
        return ca_issuer

    def _custom_resource(
        self,
        resource_name: str,
        kind: str,
        object_name: str,
        spec: dict[str, Any],
        *,
        depends_on: Sequence[pulumi.Resource] = (),
        annotations: Mapping[str, str] | None = None,
    ) -> k8s.apiextensions.CustomResource:
        settings = self._args.settings
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=API_VERSION,
            kind=kind,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=object_name,
                namespace=settings.cluster.namespace,
                labels=dict(self._args.labels),
                annotations=dict(annotations) if annotations else None,
            ),
            spec=spec,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self._args.dependencies, *depends_on]
            ),
        )
