"""PsmdbTls: TLS for one Percona Operator for MongoDB cluster, end to end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from components.cert_manager import CertManagerTls, CertManagerTlsArgs
from components.certificates import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    MemberCertificate,
    MemberCertificateArgs,
)
from components.cluster_resource import API_VERSION, KIND, OPERATOR_ANNOTATIONS, build_spec
from components.config import Settings
from components.installs import Installs
from components.lifecycle import CaSettings
from components.sans import member_dns_names, member_ip_addresses
from components.tls_secret import tls_secret


def sha256_fingerprint(cert_pem: str) -> str:
    """Return the SHA-256 fingerprint of a PEM certificate as colon-separated hex, as openssl does."""
    digest = x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def ca_resource_name(name: str, generation: int) -> str:
    """Name the CA of a generation; generation 1 keeps the name it had before any rotation."""
    return f"{name}-ca" if generation == 1 else f"{name}-ca-{generation}"


@dataclass
class PsmdbTlsArgs:
    settings: Settings
    # What this run installs (namespace, cert-manager, operator) for the objects here to wait for.
    installs: Installs = field(default_factory=Installs)
    # Settings of the CA generations already deployed; each keeps them, since new ones would
    # replace it.
    deployed_ca_settings: Mapping[int, CaSettings] = field(default_factory=dict)


class PsmdbTls(pulumi.ComponentResource):
    """The CA, both member certificates, their Secrets and the PerconaServerMongoDB resource.

    With `tls.certificateSource: operator` only the custom resource is created and the operator
    makes its own certificates. With `cert-manager`, CertManagerTls creates the objects that ask
    cert-manager for them, and for issuer pulumiCa the CA is made here. Mode `disabled` keeps
    the CA and Secrets, so turning TLS back on later keeps the CA that clients already trust.
    During a CA rotation two CAs exist and both Secrets' ca.crt contains the CA bundle, new CA
    first.
    """

    cas: dict[int, CertificateAuthority]
    external: MemberCertificate | None
    internal: MemberCertificate | None
    secrets: list[k8s.core.v1.Secret]
    ca_bundle_pem: pulumi.Output[str] | None
    cert_manager: CertManagerTls | None
    custom_resource: k8s.apiextensions.CustomResource
    dns_names: list[str]
    ip_addresses: list[str]

    def __init__(self, name: str, args: PsmdbTlsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("psmdb-tls:index:PsmdbTls", name, None, opts)
        self._settings = settings = args.settings
        cluster = settings.cluster
        tls = settings.tls
        self.dns_names = member_dns_names(cluster, tls)
        self.ip_addresses = member_ip_addresses(cluster, tls)
        self.cas = {}
        self.external = self.internal = None
        self.secrets = []
        self.ca_bundle_pem = None
        self.cert_manager = None
        self._installs = args.installs
        self._deployed_ca_settings = args.deployed_ca_settings

        if tls.pulumi_owns_certificates:
            self._create_certificates(name)
        elif tls.cert_manager is not None:
            self._create_cert_manager_objects(name)

        self.custom_resource = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=API_VERSION,
            kind=KIND,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=cluster.name, namespace=cluster.namespace),
            spec=build_spec(settings),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*self.secrets, *self._custom_resource_dependencies()],
                ignore_changes=[
                    f'metadata.annotations["{annotation}"]' for annotation in OPERATOR_ANNOTATIONS
                ],
            ),
        )
        self.register_outputs({"dnsNames": self.dns_names})

    def _create_certificates(self, name: str) -> None:
        cluster = self._settings.cluster
        tls = self._settings.tls
        rotation = tls.ca_rotation
        generations = sorted(set(rotation.trusted_generations), reverse=True)
        for generation in generations:
            # In newLeaves nothing is signed by the old CA any more, and it must be unprotected
            # one run before `complete` removes it.
            retiring = rotation.phase == "newLeaves" and generation < rotation.generation
            self.cas[generation] = self._certificate_authority(name, generation, not retiring)
        # Every PEM output of pulumi-tls ends with a newline, so joining makes a valid bundle.
        self.ca_bundle_pem = pulumi.Output.all(
            *[self.cas[generation].certificate.cert_pem for generation in generations]
        ).apply(lambda pems: "".join(pems))

        signer = self.cas[rotation.signing_generation]
        self.external = self._member_certificate(f"{name}-ssl", signer)
        self.internal = self._member_certificate(f"{name}-ssl-internal", signer)
        labels = {
            "app.kubernetes.io/instance": cluster.name,
            "app.kubernetes.io/managed-by": "pulumi",
        }
        for resource_name, certificate, secret_name in (
            (f"{name}-ssl", self.external, cluster.ssl_secret_name),
            (f"{name}-ssl-internal", self.internal, cluster.ssl_internal_secret_name),
        ):
            self.secrets.append(
                tls_secret(
                    f"{resource_name}-secret",
                    secret_name=secret_name,
                    namespace=cluster.namespace,
                    ca_bundle_pem=self.ca_bundle_pem,
                    cert_pem=certificate.certificate.cert_pem,
                    key_pem=certificate.key.private_key_pem,
                    labels=labels,
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=self._installs.namespace_dependencies
                    ),
                )
            )

    def _certificate_authority(
        self, name: str, generation: int, protect: bool
    ) -> CertificateAuthority:
        """Create the CA of a generation, with the settings it was deployed with if it exists."""
        tls = self._settings.tls
        deployed = self._deployed_ca_settings.get(generation)
        return CertificateAuthority(
            ca_resource_name(name, generation),
            CertificateAuthorityArgs(
                common_name=f"{self._settings.cluster.name} CA {generation}",
                organization=tls.organization,
                key_algorithm=deployed.key_algorithm if deployed else tls.key_algorithm,
                validity_hours=deployed.validity_hours if deployed else tls.ca_validity_hours,
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def ca_settings(self) -> dict[int, CaSettings]:
        """Return the settings of every CA this run keeps, by generation."""
        tls = self._settings.tls
        configured = CaSettings(
            key_algorithm=tls.key_algorithm, validity_hours=tls.ca_validity_hours
        )
        return {
            generation: self._deployed_ca_settings.get(generation, configured)
            for generation in sorted(self.cas)
        }

    def _member_certificate(self, name: str, signer: CertificateAuthority) -> MemberCertificate:
        tls = self._settings.tls
        return MemberCertificate(
            name,
            MemberCertificateArgs(
                ca_cert_pem=signer.certificate.cert_pem,
                ca_private_key_pem=signer.key.private_key_pem,
                common_name=self._settings.cluster.name,
                organization=tls.organization,
                key_algorithm=tls.key_algorithm,
                dns_names=self.dns_names,
                ip_addresses=self.ip_addresses,
                validity_hours=tls.cert_validity_hours,
                early_renewal_hours=tls.early_renewal_hours,
                rotation=tls.rotation.certificates,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @property
    def current_ca(self) -> CertificateAuthority | None:
        """The CA of the configured generation: the new CA while a rotation runs."""
        return self.cas.get(self._settings.tls.ca_rotation.generation)

    @property
    def previous_ca(self) -> CertificateAuthority | None:
        """The CA being rotated out, while a rotation runs."""
        rotation = self._settings.tls.ca_rotation
        return self.cas.get(rotation.generation - 1) if rotation.rotating else None

    def _create_cert_manager_objects(self, name: str) -> None:
        cluster = self._settings.cluster
        tls = self._settings.tls
        assert tls.cert_manager is not None
        ca = None
        if tls.cert_manager.issuer == "pulumiCa":
            # The same resource as the generation 1 CA of certificateSource pulumi. A deployed
            # stack cannot switch between the two, because the TLS Secrets change owner.
            ca = self.cas[1] = self._certificate_authority(name, 1, protect=True)
            self.ca_bundle_pem = ca.certificate.cert_pem
        self.cert_manager = CertManagerTls(
            f"{name}-cert-manager",
            CertManagerTlsArgs(
                settings=self._settings,
                dns_names=self.dns_names,
                ip_addresses=self.ip_addresses,
                labels={
                    "app.kubernetes.io/instance": cluster.name,
                    "app.kubernetes.io/managed-by": "pulumi",
                },
                ca=ca,
                dependencies=self._installs.cert_manager_dependencies,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _custom_resource_dependencies(self) -> list[pulumi.Resource]:
        """Return the installs and cert-manager Certificates to create the custom resource after."""
        certificates = self.cert_manager.certificates if self.cert_manager is not None else []
        return [*self._installs.custom_resource_dependencies, *certificates]
