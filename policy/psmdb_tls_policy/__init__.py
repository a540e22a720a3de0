"""The psmdb-tls policies, importable without the Pulumi CLI.

Every policy is advisory unless the policy pack config raises it: production stacks pass
policy/production.json with `--policy-pack-config`, which makes all but the expiry warning
mandatory and sets stricter limits. Config properties and their defaults are in each policy's
config schema; the CLI fills in the defaults and checks the config against the schema.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from .resource_policies import (
    DEFAULT_MAX_CA_VALIDITY_HOURS,
    DEFAULT_MAX_LEAF_VALIDITY_HOURS,
    DEFAULT_MINIMUM_RSA_BITS,
    ECDSA_CURVES,
    validate_certificate_validity,
    validate_key_strength,
    validate_tls_mode,
    validate_tls_secret,
    validate_unsafe_flags,
)
from .stack_policies import (
    DEFAULT_WARNING_DAYS,
    validate_certificate_expiry,
    validate_certificates_managed,
    validate_certificates_verified,
)

PACK_NAME = "psmdb-tls"

TLS_MODE = ResourceValidationPolicy(
    name="psmdb-tls-mode-required",
    description="A PerconaServerMongoDB must set spec.tls.mode to requireTLS.",
    validate=validate_tls_mode,
)
CERTIFICATES_VERIFIED = StackValidationPolicy(
    name="psmdb-tls-certificates-verified",
    description=(
        "A PerconaServerMongoDB must set spec.tls.allowInvalidCertificates to false when the "
        "stack makes its TLS Secrets (as Secrets or cert-manager Certificates)."
    ),
    validate=validate_certificates_verified,
)
CERTIFICATES_MANAGED = StackValidationPolicy(
    name="psmdb-tls-certificates-managed",
    description=(
        "The stack must make the TLS Secrets of each PerconaServerMongoDB (as Secrets or "
        "cert-manager Certificates), rather than leave self-signed certificates to the operator."
    ),
    validate=validate_certificates_managed,
)
UNSAFE_FLAGS = ResourceValidationPolicy(
    name="psmdb-tls-unsafe-flags-off",
    description=(
        "A PerconaServerMongoDB must not set spec.unsafeFlags.tls or "
        "spec.allowUnsafeConfigurations to true."
    ),
    validate=validate_unsafe_flags,
)
KEY_STRENGTH = ResourceValidationPolicy(
    name="psmdb-tls-key-strength",
    description=(
        "pulumi-tls private keys and cert-manager Certificate keys must be RSA of at least "
        "minimumRsaBits bits or ECDSA on one of allowedEcdsaCurves."
    ),
    validate=validate_key_strength,
    config_schema=PolicyConfigSchema(
        properties={
            "minimumRsaBits": {
                "type": "integer",
                "minimum": DEFAULT_MINIMUM_RSA_BITS,
                "default": DEFAULT_MINIMUM_RSA_BITS,
            },
            "allowedEcdsaCurves": {
                "type": "array",
                "items": {"type": "string", "enum": list(ECDSA_CURVES)},
                "minItems": 1,
                "default": list(ECDSA_CURVES),
            },
        }
    ),
)
CERTIFICATE_VALIDITY = ResourceValidationPolicy(
    name="psmdb-tls-certificate-validity",
    description=(
        "pulumi-tls certificates (validityPeriodHours) and cert-manager Certificates (duration) "
        "must not be valid longer than maxLeafValidityHours, or maxCaValidityHours for a CA."
    ),
    validate=validate_certificate_validity,
    config_schema=PolicyConfigSchema(
        properties={
            "maxLeafValidityHours": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_LEAF_VALIDITY_HOURS,
            },
            "maxCaValidityHours": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_CA_VALIDITY_HOURS,
            },
        }
    ),
)
SECRET_FORMAT = ResourceValidationPolicy(
    name="psmdb-tls-secret-format",
    description=(
        "A TLS Secret must have type kubernetes.io/tls and non-empty ca.crt, tls.crt and tls.key."
    ),
    validate=validate_tls_secret,
)
CERTIFICATE_EXPIRY = StackValidationPolicy(
    name="psmdb-tls-certificate-expiry",
    description="A pulumi-tls certificate should not expire within warningDays days.",
    validate=validate_certificate_expiry,
    # Advisory in every stack (production.json keeps it so): as a mandatory check, an expiring
    # CA would block the very runs that rotate it.
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={
            "warningDays": {"type": "integer", "minimum": 1, "default": DEFAULT_WARNING_DAYS}
        }
    ),
)

POLICIES: list[Policy] = [
    TLS_MODE,
    CERTIFICATES_VERIFIED,
    CERTIFICATES_MANAGED,
    UNSAFE_FLAGS,
    KEY_STRENGTH,
    CERTIFICATE_VALIDITY,
    SECRET_FORMAT,
    CERTIFICATE_EXPIRY,
]

__all__ = [
    "CERTIFICATES_MANAGED",
    "CERTIFICATES_VERIFIED",
    "CERTIFICATE_EXPIRY",
    "CERTIFICATE_VALIDITY",
    "KEY_STRENGTH",
    "PACK_NAME",
    "POLICIES",
    "SECRET_FORMAT",
    "TLS_MODE",
    "UNSAFE_FLAGS",
]
