"""Emulation of the pulumi-tls provider (a bridge of hashicorp/terraform-provider-tls).

This module contains the resource side: input validation and defaults, which input changes force
replacement, the renewal window, and which outputs each resource returns. ``tls_x509`` makes
the keys, CSRs and certificates the way upstream does. Facts come from terraform-provider-tls
commit d72d90e1 (April 2026). pulumi-tls 5.6.2 pins a newer upstream commit that adds
write-only key inputs (``privateKeyPemWo``); their handling here follows the docstrings of the
pulumi-tls 5.6.2 Python SDK.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.output import Unknown

from tests.emulation_common import CreateResult, DiffResult, ProviderError, ProviderRequest
from tests.property_values import changed_paths, is_unknown
from tests.tls_x509 import (
    ECDSA_CURVES,
    EXTENDED_KEY_USAGE_OIDS,
    KEY_USAGE_BITS,
    SUBJECT_FIELDS,
    PrivateKeyType,
    algorithm_name,
    first_pem_block,
    generate_key,
    hash_for_state,
    parse_private_key,
    pem_encode,
    private_key_pems,
    public_key_outputs,
    sign_certificate,
    signature_hash,
    subject_alternative_names,
    subject_from_csr,
    subject_from_inputs,
)

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"

ALGORITHMS = ("RSA", "ECDSA", "ED25519")
ALLOWED_USES = tuple(sorted([*KEY_USAGE_BITS, *EXTENDED_KEY_USAGE_OIDS]))

# Upstream's plan modifier replaces on a changed PEM input only when the value in state matches
# this pattern, which is upstream's test for a PEM document.
PEM_IN_STATE = re.compile(r"^-----BEGIN [A-Za-z ]+-----\n(.|\s)+\n-----END [A-Za-z ]+-----\n?\Z")

SECRET_OUTPUTS = {
    PRIVATE_KEY: frozenset({"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"}),
    SELF_SIGNED_CERT: frozenset({"privateKeyPem", "privateKeyPemWo"}),
    CERT_REQUEST: frozenset({"privateKeyPem", "privateKeyPemWo"}),
    LOCALLY_SIGNED_CERT: frozenset({"caPrivateKeyPem", "caPrivateKeyPemWo"}),
}

# Outputs the provider computes at create time. A preview of a create leaves them unknown.
COMPUTED_OUTPUTS = {
    PRIVATE_KEY: (
        "privateKeyPem",
        "privateKeyPemPkcs8",
        "privateKeyOpenssh",
        "publicKeyPem",
        "publicKeyOpenssh",
        "publicKeyFingerprintMd5",
        "publicKeyFingerprintSha256",
    ),
    SELF_SIGNED_CERT: ("certPem", "keyAlgorithm", "validityStartTime", "validityEndTime"),
    CERT_REQUEST: ("certRequestPem", "keyAlgorithm"),
    LOCALLY_SIGNED_CERT: ("certPem", "caKeyAlgorithm", "validityStartTime", "validityEndTime"),
}

# Write-only inputs are never stored, so they are neither echoed nor diffed.
WRITE_ONLY_INPUTS = frozenset({"privateKeyPemWo", "caPrivateKeyPemWo"})
PEM_INPUTS = frozenset({"privateKeyPem", "caPrivateKeyPem", "caCertPem", "certRequestPem"})
CERTIFICATE_TYPES = frozenset({SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT})


class TlsEmulation:
    """The four pulumi-tls resources: PrivateKey, SelfSignedCert, CertRequest, LocallySignedCert."""

    def handles(self, type_: str) -> bool:
        """Return True for the four pulumi-tls resource tokens."""
        return type_ in SECRET_OUTPUTS

    def secret_outputs(self, type_: str) -> frozenset[str]:
        """Return the outputs the pulumi-tls schema marks secret for ``type_``."""
        return SECRET_OUTPUTS[type_]

    def check(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Validate inputs like the provider's schema validators and fill in its defaults."""
        checker = _InputChecker(type_, name, dict(inputs))
        if type_ == PRIVATE_KEY:
            checker.require("algorithm")
            checker.one_of("algorithm", ALGORITHMS)
            checker.default("rsaBits", 2048)
            checker.integer("rsaBits")
            checker.default("ecdsaCurve", "P224")
            checker.one_of("ecdsaCurve", tuple(ECDSA_CURVES))
            return checker.inputs

        if type_ == CERT_REQUEST:
            checker.exactly_one_key("privateKeyPem", "privateKeyPemWo")
            checker.san_lists()
            checker.subject()
            return checker.inputs

        if type_ == SELF_SIGNED_CERT:
            checker.exactly_one_key("privateKeyPem", "privateKeyPemWo")
            checker.san_lists()
            checker.subject()
            checker.default("setAuthorityKeyId", False)
            checker.boolean("setAuthorityKeyId")
        else:
            checker.require("caCertPem")
            checker.require("certRequestPem")
            checker.exactly_one_key("caPrivateKeyPem", "caPrivateKeyPemWo")

        checker.require("validityPeriodHours")
        checker.integer("validityPeriodHours", minimum=0)
        checker.require("allowedUses")
        checker.allowed_uses()
        checker.default("earlyRenewalHours", 0)
        checker.integer("earlyRenewalHours", minimum=0)
        checker.default("isCaCertificate", False)
        checker.boolean("isCaCertificate")
        checker.integer("maxPathLength", minimum=-1)
        checker.default("setSubjectKeyId", False)
        checker.boolean("setSubjectKeyId")
        return checker.inputs

    def diff(
        self,
        request: ProviderRequest,
        old_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
    ) -> DiffResult:
        """Apply upstream's plan modifiers. Every input except earlyRenewalHours forces replacement.

        A changed PEM input replaces only when the stored value is a PEM document, and a
        certificate inside its renewal window (now >= validityEndTime - earlyRenewalHours) is
        replaced even when no input changed.
        """
        result = DiffResult()
        old = {key: value for key, value in old_inputs.items() if key not in WRITE_ONLY_INPUTS}
        new = {key: value for key, value in request.inputs.items() if key not in WRITE_ONLY_INPUTS}
        for path in changed_paths(old, new):
            result.changed.append(path)
            key = path[0]
            if key == "earlyRenewalHours":
                continue
            stored = old.get(key)
            if key in PEM_INPUTS and isinstance(stored, str) and not PEM_IN_STATE.match(stored):
                continue
            result.replace.append(path)
            result.reasons.append(f"{key} changed")
        if request.type in CERTIFICATE_TYPES and _in_renewal_window(request, old_outputs):
            result.changed.append(("readyForRenewal",))
            result.replace.append(("readyForRenewal",))
            result.reasons.append("certificate is inside its renewal window")
        return result

    def create(self, request: ProviderRequest) -> CreateResult:
        """Generate the key, CSR or certificate. In a preview, computed outputs stay unknown."""
        echoed = {k: v for k, v in request.inputs.items() if k not in WRITE_ONLY_INPUTS}
        if request.type in CERTIFICATE_TYPES:
            echoed["readyForRenewal"] = _planned_ready_for_renewal(request.inputs)
        if request.preview:
            for key in COMPUTED_OUTPUTS[request.type]:
                echoed[key] = Unknown()
            return CreateResult(id="", outputs=echoed)
        if request.type == PRIVATE_KEY:
            return _create_private_key(request, echoed)
        if request.type == CERT_REQUEST:
            return _create_cert_request(request, echoed)
        if request.type == SELF_SIGNED_CERT:
            return _create_self_signed_cert(request, echoed)
        return _create_locally_signed_cert(request, echoed)

    def update(
        self, request: ProviderRequest, old_id: str, old_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Copy the planned inputs into state and keep every generated value, as upstream does."""
        outputs = dict(old_outputs)
        for key, value in request.inputs.items():
            if key not in WRITE_ONLY_INPUTS:
                outputs[key] = value
        if request.type in CERTIFICATE_TYPES:
            outputs["readyForRenewal"] = _planned_ready_for_renewal(request.inputs)
        return outputs

    def get_public_key(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Emulate the ``tls:index/getPublicKey:getPublicKey`` function."""
        token = "tls:index/getPublicKey:getPublicKey"
        present = [
            k for k in ("privateKeyPem", "privateKeyOpenssh") if arguments.get(k) is not None
        ]
        if len(present) != 1:
            raise ProviderError(
                token,
                "invoke",
                "privateKeyPem",
                "exactly one of 'privateKeyPem' or 'privateKeyOpenssh' is required",
            )
        request = ProviderRequest(
            type=token, name="invoke", urn="", inputs=arguments, now=datetime.now(), preview=False
        )
        if present[0] == "privateKeyPem":
            key = parse_private_key(request, "privateKeyPem")
        else:
            try:
                key = serialization.load_ssh_private_key(
                    arguments["privateKeyOpenssh"].encode("ascii"), password=None
                )  # type: ignore[assignment]
            except (ValueError, TypeError) as error:
                raise ProviderError(
                    token, "invoke", "privateKeyOpenssh", f"failed to parse openssh key: {error}"
                ) from error
        resource_id, outputs = public_key_outputs(key)
        return {**arguments, "algorithm": algorithm_name(key), "id": resource_id, **outputs}


class _InputChecker:
    """Schema validation for one registration. Every failure raises ProviderError."""

    def __init__(self, type_: str, name: str, inputs: dict[str, Any]) -> None:
        self.type = type_
        self.name = name
        self.inputs = inputs

    def fail(self, property_: str, detail: str) -> ProviderError:
        return ProviderError(self.type, self.name, property_, detail)

    def require(self, key: str) -> None:
        if self.inputs.get(key) is None:
            raise self.fail(key, "missing required input")

    def default(self, key: str, value: Any) -> None:
        if self.inputs.get(key) is None:
            self.inputs[key] = value

    def exactly_one_key(self, plain_key: str, write_only_key: str) -> None:
        has_plain = self.inputs.get(plain_key) is not None
        has_write_only = self.inputs.get(write_only_key) is not None
        if has_plain == has_write_only:
            raise self.fail(
                plain_key, f"exactly one of '{plain_key}' or '{write_only_key}' is required"
            )
        version_key = f"{write_only_key}Version"
        if has_write_only and self.inputs.get(version_key) is None:
            raise self.fail(version_key, f"required when '{write_only_key}' is set")
        if not has_write_only and self.inputs.get(version_key) is not None:
            raise self.fail(version_key, f"only valid together with '{write_only_key}'")
        self.integer(version_key)

    def one_of(self, key: str, choices: Sequence[str]) -> None:
        value = self.inputs.get(key)
        if value is None or is_unknown(value):
            return
        if value not in choices:
            raise self.fail(key, f"value {value!r} is not one of: {', '.join(choices)}")

    def integer(self, key: str, minimum: int | None = None) -> None:
        value = self.inputs.get(key)
        if value is None or is_unknown(value):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise self.fail(key, f"expected an integer, got {value!r}")
        number = int(value)
        if minimum is not None and number < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {number}")
        self.inputs[key] = number

    def boolean(self, key: str) -> None:
        value = self.inputs.get(key)
        if value is None or is_unknown(value):
            return
        if not isinstance(value, bool):
            raise self.fail(key, f"expected a boolean, got {value!r}")

    def string_list(self, key: str, min_length: int = 0) -> None:
        value = self.inputs.get(key)
        if value is None or is_unknown(value):
            return
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        for index, item in enumerate(value):
            if is_unknown(item):
                continue
            if not isinstance(item, str):
                raise self.fail(f"{key}[{index}]", f"expected a string, got {item!r}")
            if len(item) < min_length:
                raise self.fail(f"{key}[{index}]", f"must be at least {min_length} character long")

    def san_lists(self) -> None:
        self.string_list("dnsNames")
        self.string_list("ipAddresses", min_length=1)
        self.string_list("uris", min_length=1)

    def allowed_uses(self) -> None:
        self.string_list("allowedUses")
        value = self.inputs.get("allowedUses")
        if not isinstance(value, list):
            return
        for index, item in enumerate(value):
            if isinstance(item, str) and item not in ALLOWED_USES:
                raise self.fail(
                    f"allowedUses[{index}]",
                    f"value {item!r} is not one of: {', '.join(ALLOWED_USES)}",
                )

    def subject(self) -> None:
        value = self.inputs.get("subject")
        if value is None or is_unknown(value):
            return
        if not isinstance(value, dict):
            raise self.fail("subject", f"expected an object, got {value!r}")
        for key, item in value.items():
            if key not in SUBJECT_FIELDS:
                raise self.fail(
                    f"subject.{key}", f"unknown field; expected one of: {', '.join(SUBJECT_FIELDS)}"
                )
            if key == "streetAddresses":
                if not isinstance(item, list) or not all(isinstance(s, str) for s in item):
                    raise self.fail("subject.streetAddresses", "expected a list of strings")
            elif not is_unknown(item) and not isinstance(item, str):
                raise self.fail(f"subject.{key}", f"expected a string, got {item!r}")


def _planned_ready_for_renewal(inputs: dict[str, Any]) -> bool:
    """The value upstream's readyForRenewal plan modifier sets for a new plan."""
    validity = inputs.get("validityPeriodHours")
    early = inputs.get("earlyRenewalHours")
    if is_unknown(validity) or is_unknown(early):
        return False
    if validity == 0:
        return True
    return early is not None and early >= validity


def _in_renewal_window(request: ProviderRequest, old_outputs: dict[str, Any]) -> bool:
    end_text = old_outputs.get("validityEndTime")
    early = request.inputs.get("earlyRenewalHours", 0)
    if not isinstance(end_text, str) or is_unknown(early):
        return False
    end = datetime.fromisoformat(end_text)
    return request.now >= end - timedelta(hours=early)


# --- resources ------------------------------------------------------------------------------


def _create_private_key(request: ProviderRequest, outputs: dict[str, Any]) -> CreateResult:
    key = generate_key(request)
    outputs.update(private_key_pems(key))
    resource_id, public = public_key_outputs(key)
    outputs.update(public)
    return CreateResult(id=resource_id, outputs=outputs)


def _private_key_input(request: ProviderRequest, plain_key: str) -> tuple[str, PrivateKeyType]:
    key = plain_key if request.inputs.get(plain_key) is not None else f"{plain_key}Wo"
    return key, parse_private_key(request, key)


def _create_cert_request(request: ProviderRequest, outputs: dict[str, Any]) -> CreateResult:
    _, key = _private_key_input(request, "privateKeyPem")
    subject = subject_from_inputs(request.inputs.get("subject")) or x509.Name([])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    sans = subject_alternative_names(request)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = builder.sign(key, signature_hash(key))  # type: ignore[arg-type]
    csr_der = csr.public_bytes(serialization.Encoding.DER)
    outputs.update(
        certRequestPem=pem_encode("CERTIFICATE REQUEST", csr_der),
        keyAlgorithm=algorithm_name(key),
    )
    return CreateResult(id=hash_for_state(csr_der), outputs=outputs)


def _create_self_signed_cert(request: ProviderRequest, outputs: dict[str, Any]) -> CreateResult:
    _, key = _private_key_input(request, "privateKeyPem")
    subject = subject_from_inputs(request.inputs.get("subject")) or x509.Name([])
    serial, cert_pem, start, end = sign_certificate(
        request,
        subject=subject,
        public_key=key.public_key(),
        issuer=subject,
        issuer_key_id=None,
        signing_key=key,
        sans=subject_alternative_names(request),
        allow_authority_key_id=True,
    )
    outputs.update(
        certPem=cert_pem,
        keyAlgorithm=algorithm_name(key),
        validityStartTime=start,
        validityEndTime=end,
    )
    return CreateResult(id=serial, outputs=outputs)


def _load_pem_document(request: ProviderRequest, key: str, block_type: str) -> bytes:
    block = first_pem_block(request.inputs[key])
    if block is None:
        raise ProviderError(
            request.type, request.name, key, f"failed to decode PEM of type {block_type!r}"
        )
    if block[0] != block_type:
        raise ProviderError(
            request.type,
            request.name,
            key,
            f"invalid PEM type - expected {block_type!r}, got {block[0]!r}",
        )
    return block[1]


def _create_locally_signed_cert(request: ProviderRequest, outputs: dict[str, Any]) -> CreateResult:
    csr_der = _load_pem_document(request, "certRequestPem", "CERTIFICATE REQUEST")
    try:
        csr = x509.load_der_x509_csr(csr_der)
    except ValueError as error:
        raise ProviderError(
            request.type, request.name, "certRequestPem", f"failed to parse CSR: {error}"
        ) from error
    ca_key_property, ca_key = _private_key_input(request, "caPrivateKeyPem")
    ca_der = _load_pem_document(request, "caCertPem", "CERTIFICATE")
    try:
        ca_cert = x509.load_der_x509_certificate(ca_der)
    except ValueError as error:
        raise ProviderError(
            request.type, request.name, "caCertPem", f"failed to parse certificate: {error}"
        ) from error
    ca_public = ca_cert.public_key()
    if ca_public != ca_key.public_key():
        raise ProviderError(
            request.type,
            request.name,
            ca_key_property,
            "Failed to create certificate: x509: provided PrivateKey doesn't match parent's "
            "PublicKey",
        )

    result_warnings: list[str] = []
    try:
        ca_is_ca = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca_is_ca = False
    if not ca_is_ca:
        result_warnings.append(
            "Potentially Invalid Certificate Authority: Certificate provided as Authority does "
            "not appear to be a valid Certificate Authority. The resulting certificate might "
            "fail certificate validation."
        )
    try:
        ca_key_id: bytes | None = ca_cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        ca_key_id = None

    sans: list[x509.GeneralName] = []
    try:
        requested = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        requested = None
    if requested is not None:
        # Go copies DNS names, IP addresses and URIs from the CSR (e-mail SANs are dropped).
        sans.extend(x509.DNSName(v) for v in requested.get_values_for_type(x509.DNSName))
        for address in requested.get_values_for_type(x509.IPAddress):
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            sans.append(x509.IPAddress(address))
        uris = requested.get_values_for_type(x509.UniformResourceIdentifier)
        sans.extend(x509.UniformResourceIdentifier(v) for v in uris)

    serial, cert_pem, start, end = sign_certificate(
        request,
        subject=subject_from_csr(csr.subject),
        public_key=csr.public_key(),  # type: ignore[arg-type]
        issuer=ca_cert.subject,
        issuer_key_id=ca_key_id,
        signing_key=ca_key,
        sans=sans,
        allow_authority_key_id=False,
    )
    outputs.update(
        certPem=cert_pem,
        caKeyAlgorithm=algorithm_name(ca_key),
        validityStartTime=start,
        validityEndTime=end,
    )
    return CreateResult(id=serial, outputs=outputs, warnings=result_warnings)
