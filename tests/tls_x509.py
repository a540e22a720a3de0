"""X.509 and key encoding as terraform-provider-tls produces it through Go's crypto libraries.

Every function here reproduces one upstream or Go standard-library behaviour with
``cryptography``. From Go: PEM framing (encoding/pem), subject attribute order and string types
(pkix.Name.ToRDNSequence, encoding/asn1), and SAN order and criticality, KeyUsage encoding,
SKI/AKI rules and signature hashes (x509.CreateCertificate). From upstream: resource ids
(hashForState), serials, the CA subject check and subject key ids.
Sources: terraform-provider-tls commit d72d90e1 (internal/provider/common_cert.go,
common_key.go, resource_*.go) and stored copies of Go's crypto/x509/x509.go.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
import warnings
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier

from tests.emulation_common import ProviderError, ProviderRequest

ECDSA_CURVES: dict[str, ec.EllipticCurve] = {
    "P224": ec.SECP224R1(),
    "P256": ec.SECP256R1(),
    "P384": ec.SECP384R1(),
    "P521": ec.SECP521R1(),
}

# Bit positions of Go's x509.KeyUsage constants.
KEY_USAGE_BITS = {
    "digital_signature": 0,
    "content_commitment": 1,
    "key_encipherment": 2,
    "data_encipherment": 3,
    "key_agreement": 4,
    "cert_signing": 5,
    "crl_signing": 6,
    "encipher_only": 7,
    "decipher_only": 8,
}

# OIDs Go's crypto/x509 writes for each x509.ExtKeyUsage constant.
EXTENDED_KEY_USAGE_OIDS = {
    "any_extended": "2.5.29.37.0",
    "server_auth": "1.3.6.1.5.5.7.3.1",
    "client_auth": "1.3.6.1.5.5.7.3.2",
    "code_signing": "1.3.6.1.5.5.7.3.3",
    "email_protection": "1.3.6.1.5.5.7.3.4",
    "ipsec_end_system": "1.3.6.1.5.5.7.3.5",
    "ipsec_tunnel": "1.3.6.1.5.5.7.3.6",
    "ipsec_user": "1.3.6.1.5.5.7.3.7",
    "timestamping": "1.3.6.1.5.5.7.3.8",
    "ocsp_signing": "1.3.6.1.5.5.7.3.9",
    "microsoft_server_gated_crypto": "1.3.6.1.4.1.311.10.3.3",
    "netscape_server_gated_crypto": "2.16.840.1.113730.4.1",
    "microsoft_commercial_code_signing": "1.3.6.1.4.1.311.2.1.22",
    "microsoft_kernel_code_signing": "1.3.6.1.4.1.311.61.1.1",
}

SUBJECT_FIELDS = (
    "commonName",
    "organization",
    "organizationalUnit",
    "streetAddresses",
    "locality",
    "province",
    "country",
    "postalCode",
    "serialNumber",
    "emailAddress",
)

EMAIL_ADDRESS_OID = ObjectIdentifier("1.2.840.113549.1.9.1")

PEM_BLOCK = re.compile(r"-----BEGIN ([^-\n]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)

PEM_PREAMBLES = {
    "PUBLIC KEY",
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "CERTIFICATE",
    "CERTIFICATE REQUEST",
}

# Characters Go's encoding/asn1 accepts in a PrintableString when it picks a string type for a
# distinguished-name value. Any other character makes it a UTF8String.
PRINTABLE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '()+,-./:=?")

PrivateKeyType = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

PublicKeyType = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def pem_encode(block_type: str, der: bytes) -> str:
    """Encode like Go's pem.EncodeToMemory: 64-column base64 and a trailing newline."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[index : index + 64] for index in range(0, len(body), 64)]
    return f"-----BEGIN {block_type}-----\n" + "\n".join(lines) + f"\n-----END {block_type}-----\n"


def first_pem_block(text: str) -> tuple[str, bytes] | None:
    """Return the type and bytes of the first PEM block, as Go's pem.Decode finds it."""
    match = PEM_BLOCK.search(text)
    if match is None:
        return None
    body = "".join(match.group(2).split())
    try:
        return match.group(1), base64.b64decode(body, validate=True)
    except ValueError:
        return None


def _go_trim_space(data: bytes) -> bytes:
    """Trim white space like Go's strings.TrimSpace does for DER data.

    Trailing ASCII and Unicode white space is removed. DER starts with a tag byte such as 0x30,
    so only ASCII white space is checked at the start.
    """
    ascii_space = b" \t\n\v\f\r"
    unicode_space = {"\u0085", "\u00a0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f"}
    unicode_space |= {"\u3000", *(chr(code) for code in range(0x2000, 0x200B))}
    while data:
        if data[-1] in ascii_space:
            data = data[:-1]
            continue
        tails = (data[-width:] for width in (2, 3) if len(data) >= width)
        space = next((t for t in tails if t.decode("utf-8", "replace") in unicode_space), None)
        if space is None:
            break
        data = data[: -len(space)]
    return data.lstrip(ascii_space)


def hash_for_state(data: bytes) -> str:
    """Return upstream's hashForState id, the hex SHA-1 of the value after strings.TrimSpace."""
    if not data:
        return ""
    return hashlib.sha1(_go_trim_space(data)).hexdigest()


def format_time(moment: datetime) -> str:
    """Format like Go's time.MarshalText (RFC 3339 with trailing zero fraction digits removed)."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def algorithm_name(key: PrivateKeyType | PublicKeyType) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RSA"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ECDSA"
    return "ED25519"


def parse_private_key(request: ProviderRequest, key: str) -> PrivateKeyType:
    """Parse a private key PEM like upstream's parsePrivateKeyPEM. Errors name the input ``key``."""
    text = request.inputs[key]
    failure = "Failed to parse private key PEM"
    block = first_pem_block(text) if isinstance(text, str) else None
    if block is None:
        raise ProviderError(request.type, request.name, key, f"{failure}: no PEM block found")
    block_type, der = block

    if block_type not in PEM_PREAMBLES:
        raise ProviderError(
            request.type, request.name, key, f"{failure}: unsupported PEM type {block_type!r}"
        )
    expected: dict[str, tuple[type, ...]] = {
        "RSA PRIVATE KEY": (rsa.RSAPrivateKey,),
        "EC PRIVATE KEY": (ec.EllipticCurvePrivateKey,),
        "PRIVATE KEY": (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey),
    }
    if block_type not in expected:
        raise ProviderError(
            request.type,
            request.name,
            key,
            f"{failure}: unable to determine parser for PEM type {block_type!r}",
        )

    try:
        private_key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as error:
        raise ProviderError(request.type, request.name, key, f"{failure}: {error}") from error
    if not isinstance(private_key, expected[block_type]):
        raise ProviderError(
            request.type,
            request.name,
            key,
            f"{failure}: {type(private_key).__name__} is not supported in a {block_type!r} block",
        )
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name not in {
        curve.name for curve in ECDSA_CURVES.values()
    }:
        raise ProviderError(
            request.type,
            request.name,
            key,
            f"{failure}: unsupported curve {private_key.curve.name}",
        )
    return private_key  # type: ignore[return-value]  # narrowed by the isinstance check above


def signature_hash(key: PrivateKeyType) -> hashes.HashAlgorithm | None:
    """Return the hash of Go's default signature algorithm for the key (None for Ed25519)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name == "secp384r1":
            return hashes.SHA384()
        if key.curve.name == "secp521r1":
            return hashes.SHA512()
        return hashes.SHA256()
    return None


def _subject_key_id(public_key: PublicKeyType) -> bytes:
    """Return upstream's generateSubjectKeyID: SHA-1 of the key as Go's asn1 package marshals it."""
    if isinstance(public_key, rsa.RSAPublicKey):
        data = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        data = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # asn1.Marshal of an ed25519.PublicKey ([]byte) is an OCTET STRING.
        data = bytes([0x04, len(raw)]) + raw
    return hashlib.sha1(data).digest()


def _name_attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute:
    string_type = _ASN1Type.PrintableString if set(value) <= PRINTABLE else _ASN1Type.UTF8String
    with warnings.catch_warnings():
        # Go does not check lengths (e.g. a three-letter country), and neither does upstream.
        warnings.simplefilter("ignore")
        return x509.NameAttribute(oid, value, string_type, _validate=False)


def _go_name(fields: dict[str, list[str]], email: str | None) -> x509.Name:
    """Build a Name in the order of Go's pkix.Name.ToRDNSequence, a list as one multi-valued RDN."""
    order = [
        ("country", NameOID.COUNTRY_NAME),
        ("province", NameOID.STATE_OR_PROVINCE_NAME),
        ("locality", NameOID.LOCALITY_NAME),
        ("streetAddresses", NameOID.STREET_ADDRESS),
        ("postalCode", NameOID.POSTAL_CODE),
        ("organization", NameOID.ORGANIZATION_NAME),
        ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
        ("commonName", NameOID.COMMON_NAME),
        ("serialNumber", NameOID.SERIAL_NUMBER),
    ]
    rdns = []
    for key, oid in order:
        values = fields.get(key) or []
        if key in ("commonName", "serialNumber"):
            values = [value for value in values if value]
        if values:
            rdns.append(x509.RelativeDistinguishedName([_name_attribute(oid, v) for v in values]))
    if email is not None:
        attribute = x509.NameAttribute(EMAIL_ADDRESS_OID, email, _ASN1Type.IA5String)
        rdns.append(x509.RelativeDistinguishedName([attribute]))
    return x509.Name(rdns)


def subject_from_inputs(subject: dict[str, Any] | None) -> x509.Name | None:
    """Build the Name upstream's createSubjectDistinguishedNames builds (None without a subject)."""
    if subject is None:
        return None
    fields: dict[str, list[str]] = {}
    for key in SUBJECT_FIELDS:
        value = subject.get(key)
        if value is None or key == "emailAddress":
            continue
        fields[key] = list(value) if isinstance(value, list) else [value]
    return _go_name(fields, subject.get("emailAddress"))


def subject_from_csr(name: x509.Name) -> x509.Name:
    """Round-trip a CSR subject through Go's pkix.Name, which keeps only its known fields."""
    by_oid = {
        NameOID.COUNTRY_NAME: "country",
        NameOID.STATE_OR_PROVINCE_NAME: "province",
        NameOID.LOCALITY_NAME: "locality",
        NameOID.STREET_ADDRESS: "streetAddresses",
        NameOID.POSTAL_CODE: "postalCode",
        NameOID.ORGANIZATION_NAME: "organization",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnit",
        NameOID.COMMON_NAME: "commonName",
        NameOID.SERIAL_NUMBER: "serialNumber",
    }
    fields: dict[str, list[str]] = {}
    for attribute in name:
        key = by_oid.get(attribute.oid)
        if key is None or not isinstance(attribute.value, str):
            continue
        if key in ("commonName", "serialNumber"):
            fields[key] = [attribute.value]
        else:
            fields.setdefault(key, []).append(attribute.value)
    return _go_name(fields, None)


def _ascii_only(request: ProviderRequest, key: str, index: int, value: str) -> None:
    if not value.isascii():
        raise ProviderError(
            request.type,
            request.name,
            f"{key}[{index}]",
            f"x509: {value!r} cannot be encoded as an IA5String",
        )


def subject_alternative_names(request: ProviderRequest) -> list[x509.GeneralName]:
    """Return the DNS names, IP addresses and URIs in the order Go's marshalSANs writes them."""
    names: list[x509.GeneralName] = []
    for index, dns_name in enumerate(request.inputs.get("dnsNames") or []):
        _ascii_only(request, "dnsNames", index, dns_name)
        names.append(x509.DNSName(dns_name))
    for index, text in enumerate(request.inputs.get("ipAddresses") or []):
        names.append(x509.IPAddress(parse_ip(request, index, text)))
    for index, uri in enumerate(request.inputs.get("uris") or []):
        if uri.startswith(":") or any(ord(char) < 0x20 or ord(char) == 0x7F for char in uri):
            raise ProviderError(
                request.type, request.name, f"uris[{index}]", f"Failed to parse {uri!r}"
            )
        _ascii_only(request, "uris", index, uri)
        names.append(x509.UniformResourceIdentifier(uri))
    return names


def parse_ip(
    request: ProviderRequest, index: int, text: str
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse like Go's net.ParseIP. An IPv4-mapped IPv6 address becomes IPv4, as Go writes it."""
    try:
        if "%" in text:
            raise ValueError("zones are not accepted")
        address = ipaddress.ip_address(text)
    except ValueError as error:
        raise ProviderError(
            request.type, request.name, f"ipAddresses[{index}]", f"Failed to parse {text!r}"
        ) from error
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key_usage_extension(bits: int) -> x509.UnrecognizedExtension:
    """Encode the KeyUsage BIT STRING exactly as Go's marshalKeyUsage does."""

    def reverse(byte: int) -> int:
        return int(f"{byte:08b}"[::-1], 2)

    data = bytes([reverse(bits & 0xFF)])
    if bits >> 8:
        data += bytes([reverse((bits >> 8) & 0xFF)])
    last = data[-1]
    unused_bits = (last & -last).bit_length() - 1
    value = bytes([0x03, len(data) + 1, unused_bits]) + data
    return x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, value)


def sign_certificate(
    request: ProviderRequest,
    subject: x509.Name,
    public_key: PublicKeyType,
    issuer: x509.Name,
    issuer_key_id: bytes | None,
    signing_key: PrivateKeyType,
    sans: list[x509.GeneralName],
    allow_authority_key_id: bool,
) -> tuple[str, str, str, str]:
    """Sign a certificate like upstream's createCertificate on top of Go's CreateCertificate.

    Returns (id, certPem, validityStartTime, validityEndTime).
    """
    inputs = request.inputs
    is_ca = bool(inputs.get("isCaCertificate"))
    if is_ca and len(subject.rdns) == 0:
        raise ProviderError(
            request.type,
            request.name,
            "subject",
            "Invalid Certificate Subject: must contain at least one Distinguished Name when "
            "creating a Certificate Authority (CA)",
        )
    not_before = request.now
    not_after = not_before + timedelta(hours=inputs["validityPeriodHours"])
    serial = 0
    while serial == 0:
        serial = secrets.randbelow(1 << 128)

    max_path_length = inputs.get("maxPathLength")
    path_length: int | None = None
    if max_path_length is not None and max_path_length >= 1:
        if not is_ca:
            raise ProviderError(
                request.type,
                request.name,
                "maxPathLength",
                "Failed to create certificate: x509: only CAs are allowed to specify MaxPathLen",
            )
        path_length = max_path_length

    subject_key_id: bytes | None = None
    if is_ca or inputs.get("setSubjectKeyId"):
        subject_key_id = _subject_key_id(public_key)
    self_signed_issuer_key_id = subject_key_id if issuer_key_id is None else issuer_key_id

    authority_key_id: bytes | None = None
    if allow_authority_key_id and inputs.get("setAuthorityKeyId"):
        if not self_signed_issuer_key_id:
            raise ProviderError(
                request.type,
                request.name,
                "setAuthorityKeyId",
                "Invalid Certificate Authority: Could not determine Authority Key Identifier",
            )
        authority_key_id = self_signed_issuer_key_id
    subject_der = subject.public_bytes()
    if issuer.public_bytes() != subject_der and issuer_key_id:
        authority_key_id = issuer_key_id

    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before.replace(microsecond=0))
        .not_valid_after(not_after.replace(microsecond=0))
    )
    key_usage_bits = 0
    extended_usages: list[ObjectIdentifier] = []
    for use in inputs["allowedUses"]:
        if use in KEY_USAGE_BITS:
            key_usage_bits |= 1 << KEY_USAGE_BITS[use]
        if use in EXTENDED_KEY_USAGE_OIDS:
            extended_usages.append(ObjectIdentifier(EXTENDED_KEY_USAGE_OIDS[use]))
    if key_usage_bits:
        builder = builder.add_extension(_key_usage_extension(key_usage_bits), critical=True)
    if extended_usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usages), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True
    )
    if subject_key_id:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(subject_key_id), critical=False)
    if authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(authority_key_id, None, None), critical=False
        )
    if sans:
        # Go follows RFC 5280 section 4.2.1.6 and marks the SAN critical for an empty subject.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(sans), critical=len(subject.rdns) == 0
        )
    certificate = builder.sign(signing_key, signature_hash(signing_key))  # type: ignore[arg-type]
    cert_pem = pem_encode("CERTIFICATE", certificate.public_bytes(serialization.Encoding.DER))
    return str(serial), cert_pem, format_time(not_before), format_time(not_after)


def generate_key(request: ProviderRequest) -> PrivateKeyType:
    algorithm = request.inputs["algorithm"]
    if algorithm == "RSA":
        bits = request.inputs["rsaBits"]
        # Go 1.24's rsa.GenerateKey and cryptography both reject keys under 1024 bits.
        if bits < 1024:
            raise ProviderError(
                request.type,
                request.name,
                "rsaBits",
                f"Unable to generate Key from configuration: crypto/rsa: {bits}-bit keys are "
                "insecure",
            )
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if algorithm == "ECDSA":
        return ec.generate_private_key(ECDSA_CURVES[request.inputs["ecdsaCurve"]])
    return ed25519.Ed25519PrivateKey.generate()


def private_key_pems(key: PrivateKeyType) -> dict[str, str]:
    """Return privateKeyPem (PKCS#1, SEC 1 or PKCS#8 by algorithm), its PKCS#8 and OpenSSH forms."""
    no_encryption = serialization.NoEncryption()
    der = serialization.Encoding.DER
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    pkcs8 = pem_encode(
        "PRIVATE KEY", key.private_bytes(der, serialization.PrivateFormat.PKCS8, no_encryption)
    )
    if isinstance(key, rsa.RSAPrivateKey):
        primary = pem_encode("RSA PRIVATE KEY", key.private_bytes(der, traditional, no_encryption))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        primary = pem_encode("EC PRIVATE KEY", key.private_bytes(der, traditional, no_encryption))
    else:
        primary = pkcs8
    openssh = ""
    if _supports_openssh(key):
        text = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, no_encryption
        ).decode("ascii")
        block = first_pem_block(text)
        if block is not None:
            openssh = pem_encode("OPENSSH PRIVATE KEY", block[1])
    return {"privateKeyPem": primary, "privateKeyPemPkcs8": pkcs8, "privateKeyOpenssh": openssh}


def _supports_openssh(key: PrivateKeyType | PublicKeyType) -> bool:
    # x/crypto/ssh has no P-224 support, so upstream leaves the OpenSSH outputs empty for it.
    curve_keys = (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)
    return not (isinstance(key, curve_keys) and key.curve.name == "secp224r1")


def public_key_outputs(key: PrivateKeyType) -> tuple[str, dict[str, str]]:
    """Return the id and public key outputs (PEM, OpenSSH, fingerprints) as upstream sets them."""
    public_key = key.public_key()
    public_der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    outputs = {
        "publicKeyPem": pem_encode("PUBLIC KEY", public_der),
        "publicKeyOpenssh": "",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
    }
    if _supports_openssh(public_key):
        authorized = public_key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        wire = base64.b64decode(authorized.split(b" ")[1])
        md5 = hashlib.md5(wire).hexdigest()
        sha256 = base64.b64encode(hashlib.sha256(wire).digest()).decode("ascii").rstrip("=")
        outputs["publicKeyOpenssh"] = authorized.decode("ascii") + "\n"
        outputs["publicKeyFingerprintMd5"] = ":".join(
            md5[index : index + 2] for index in range(0, len(md5), 2)
        )
        outputs["publicKeyFingerprintSha256"] = f"SHA256:{sha256}"
    return hash_for_state(public_der), outputs
