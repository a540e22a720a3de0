"""Typed views of what one run of the program registered: Secrets, certificates, the CR."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from tests.harness import ProgramRun, RecordedResource
from tests.tls_checks import Identity

SECRET = "kubernetes:core/v1:Secret"
CUSTOM_RESOURCE = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"


@dataclass(frozen=True)
class TlsSecret:
    """The data of one kubernetes.io/tls Secret as the program registered it."""

    name: str
    ca_bundle_pem: str
    cert_pem: str
    # Left out of repr, so that a failing test never prints a private key.
    key_pem: str = field(repr=False)

    @property
    def key_digest(self) -> str:
        """SHA-256 of the private key PEM, to compare keys without showing them."""
        return digest(self.key_pem)

    @property
    def identity(self) -> Identity:
        return Identity(cert_pem=self.cert_pem, key_pem=self.key_pem)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())


def tls_secret(run: ProgramRun, secret_name: str) -> TlsSecret:
    """Return the registered Secret whose metadata.name is `secret_name`."""
    for resource in run.find_all(SECRET):
        if resource.inputs["metadata"]["name"] == secret_name:
            data = resource.inputs["stringData"]
            return TlsSecret(
                name=secret_name,
                ca_bundle_pem=data["ca.crt"],
                cert_pem=data["tls.crt"],
                key_pem=data["tls.key"],
            )
    raise LookupError(f"no Secret named {secret_name!r} was registered")


def digest(text: str) -> str:
    """Return the SHA-256 hex digest of a text, to compare secrets in asserts without printing them."""
    return hashlib.sha256(text.encode()).hexdigest()


def custom_resource(run: ProgramRun) -> RecordedResource:
    return run.find(CUSTOM_RESOURCE)


def custom_resource_object(run: ProgramRun) -> dict[str, Any]:
    """Return the CR as the API server would receive it: apiVersion, kind, metadata, spec."""
    inputs = custom_resource(run).inputs
    return {
        "apiVersion": inputs["apiVersion"],
        "kind": inputs["kind"],
        "metadata": inputs["metadata"],
        "spec": inputs["spec"],
    }


def san_dns_names(certificate: x509.Certificate) -> list[str]:
    extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return extension.value.get_values_for_type(x509.DNSName)


def organization(name: x509.Name) -> list[str]:
    return [
        attribute.value for attribute in name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    ]  # type: ignore[misc]
