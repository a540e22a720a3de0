"""Certificates issued from cert-manager `Certificate` specs with `cryptography`.

This emulates cert-manager's self-signed and CA issuers, so that tests can show that the
spec a program wrote yields a certificate that works in real TLS. It follows what those
issuers do with a spec, as the field descriptions of the cert-manager v1.21.1 Certificate CRD
state them: a new key per `privateKey` (algorithm and size), a CSR with the subject
(`subject.organizations`, `commonName`), the SANs (`dnsNames`, `ipAddresses`) and the `usages`
as keyUsage and extendedKeyUsage (default: digital signature and key encipherment; `isCA` adds
cert sign), basicConstraints from `isCA`, and a validity of `duration` from issuance. A renewal
keeps the key only with `rotationPolicy: Never` (the default is Always since cert-manager 1.18).

Not emulated: `literalSubject`, `nameConstraints`, `otherNames`, `emailAddresses`, `uris`,
`signatureAlgorithm` (the hash is always SHA-256), key encodings, how an issuer treats a
`duration` that outlasts its CA, and any issuer other than self-signed and CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.tls_checks import Identity

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# cert-manager usage names that map to keyUsage bits (cryptography's KeyUsage argument names).
KEY_USAGE_BITS = {
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
}
EXTENDED_KEY_USAGES = {
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
}
# cert-manager's usages when a spec sets none.
DEFAULT_USAGES = ("digital signature", "key encipherment")
CURVES = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}
_DURATION_PART = re.compile(r"(\d+)(h|m|s)")


def parse_duration(text: str) -> datetime.timedelta:
    """Parse a Go duration made of hours, minutes and seconds, such as 8760h or 2160h0m0s."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"unsupported duration {text!r}: expected parts such as 8760h, 30m, 10s")
    units = {"h": "hours", "m": "minutes", "s": "seconds"}
    total = datetime.timedelta()
    for number, unit in parts:
        total += datetime.timedelta(**{units[unit]: int(number)})
    return total


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its private key, as a cert-manager Secret's tls.crt and tls.key."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @property
    def identity(self) -> Identity:
        return Identity(self.cert_pem, self.key_pem)

    @staticmethod
    def from_pem(cert_pem: str, key_pem: str) -> IssuedCertificate:
        key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise TypeError(f"unsupported key type {type(key).__name__}")
        return IssuedCertificate(x509.load_pem_x509_certificate(cert_pem.encode("ascii")), key)


def new_private_key(private_key: Mapping[str, Any]) -> PrivateKey:
    """Generate a key for a spec's `privateKey`, with cert-manager's defaults (RSA, 2048)."""
    algorithm = private_key.get("algorithm", "RSA")
    if algorithm == "RSA":
        return rsa.generate_private_key(
            public_exponent=65537, key_size=int(private_key.get("size", 2048))
        )
    if algorithm == "ECDSA":
        return ec.generate_private_key(CURVES[int(private_key.get("size", 256))])
    raise ValueError(f"unsupported privateKey.algorithm {algorithm!r}")


def _subject(spec: Mapping[str, Any]) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)
        for organization in (spec.get("subject") or {}).get("organizations", [])
    ]
    if spec.get("commonName"):
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, spec["commonName"]))
    return x509.Name(attributes)


def _usages(spec: Mapping[str, Any]) -> tuple[x509.KeyUsage, list[x509.ObjectIdentifier]]:
    usages = list(spec.get("usages") or DEFAULT_USAGES)
    if spec.get("isCA") and "cert sign" not in usages:
        usages.append("cert sign")
    unknown = [
        usage
        for usage in usages
        if usage not in KEY_USAGE_BITS and usage not in EXTENDED_KEY_USAGES
    ]
    if unknown:
        raise ValueError(f"usages not emulated here: {unknown}")
    bits = {name: False for name in KEY_USAGE_BITS.values()}
    bits.update({KEY_USAGE_BITS[usage]: True for usage in usages if usage in KEY_USAGE_BITS})
    key_usage = x509.KeyUsage(**bits, encipher_only=False, decipher_only=False)
    extended = [EXTENDED_KEY_USAGES[usage] for usage in usages if usage in EXTENDED_KEY_USAGES]
    return key_usage, extended


def certificate_request(spec: Mapping[str, Any], key: PrivateKey) -> x509.CertificateSigningRequest:
    """Build the CSR cert-manager would send for `spec`, signed with `key`."""
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in spec.get("dnsNames", [])]
    names += [x509.IPAddress(ipaddress.ip_address(value)) for value in spec.get("ipAddresses", [])]
    key_usage, extended = _usages(spec)
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(spec))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(key_usage, critical=True)
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=bool(spec.get("isCA")), path_length=None), critical=True
    )
    return builder.sign(key, hashes.SHA256())


def sign(
    csr: x509.CertificateSigningRequest,
    spec: Mapping[str, Any],
    key: PrivateKey,
    issuer: IssuedCertificate | None,
    now: datetime.datetime | None = None,
) -> IssuedCertificate:
    """Sign `csr` for `spec`: self-signed with `key` when `issuer` is None, else by the CA."""
    now = now or datetime.datetime.now(datetime.UTC)
    not_after = now + parse_duration(spec.get("duration", "2160h"))
    public_key = csr.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer.certificate.subject if issuer else csr.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    for extension in csr.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    if issuer is not None:
        authority = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority.value),
            critical=False,
        )
    signing_key = issuer.key if issuer is not None else key
    return IssuedCertificate(builder.sign(signing_key, hashes.SHA256()), key)


def issue(
    spec: Mapping[str, Any],
    issuer: IssuedCertificate | None,
    now: datetime.datetime | None = None,
) -> IssuedCertificate:
    """Issue a first certificate for `spec` with a new key."""
    key = new_private_key(spec.get("privateKey") or {})
    return sign(certificate_request(spec, key), spec, key, issuer, now)


def renew(
    spec: Mapping[str, Any],
    current: IssuedCertificate,
    issuer: IssuedCertificate | None,
    now: datetime.datetime | None = None,
) -> IssuedCertificate:
    """Renew `current`: the same key with `rotationPolicy: Never`, a new key otherwise."""
    private_key = spec.get("privateKey") or {}
    # cert-manager 1.18 and later default to Always.
    if private_key.get("rotationPolicy", "Always") == "Never":
        key = current.key
    else:
        key = new_private_key(private_key)
    return sign(certificate_request(spec, key), spec, key, issuer, now)
