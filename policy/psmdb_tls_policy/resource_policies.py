"""Resource validations: each checks one resource's inputs before the engine creates or updates it.

Every function takes pulumi-policy's ResourceValidationArgs and report_violation callback, and
ignores resource types it does not cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .resource_values import (
    CA_SETTINGS_SECTION,
    CERTIFICATE_TYPE,
    PRIVATE_KEY_TYPE,
    PSMDB_TYPE,
    PULUMI_TLS_CERT_TYPES,
    SECRET_TYPE,
    SWITCH_MODE_SECTION,
    TLS_CONFIG,
    TLS_SECRET_KEYS,
    TLS_SECRET_TYPE,
    config_whole_number,
    describe,
    doc_section,
    format_hours,
    go_duration_hours,
    lookup,
    whole_number,
)

REQUIRED_MODE = "requireTLS"
MODE_FIX = (
    f"pulumi config set --path '{TLS_CONFIG}.mode' {REQUIRED_MODE}, then pulumi up. Coming from "
    f"mode disabled, pause the cluster around the change ({doc_section(SWITCH_MODE_SECTION)})."
)

DEFAULT_MINIMUM_RSA_BITS = 2048
ECDSA_CURVES = ("P256", "P384", "P521")
# pulumi-tls's ecdsaCurve default, which is weaker than any curve allowed here.
PULUMI_TLS_DEFAULT_CURVE = "P224"
# cert-manager's defaults for an unset privateKey.algorithm and privateKey.size.
CERT_MANAGER_DEFAULT_ALGORITHM = "RSA"
CERT_MANAGER_DEFAULT_SIZES = {"RSA": 2048, "ECDSA": 256}
KEY_FIX = (
    f"pulumi config set --path '{TLS_CONFIG}.keyAlgorithm' ECDSA-P384 (or RSA-3072, RSA-4096) "
    "before the stack's first pulumi up. On a deployed stack a new CA key algorithm applies "
    f"through a CA rotation: see {doc_section(CA_SETTINGS_SECTION)}."
)

DEFAULT_MAX_LEAF_VALIDITY_HOURS = 8760
DEFAULT_MAX_CA_VALIDITY_HOURS = 87600
# cert-manager's default Certificate duration (90 days) when spec.duration is unset.
CERT_MANAGER_DEFAULT_DURATION_HOURS = 2160.0


def validate_tls_mode(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Report a PerconaServerMongoDB whose spec.tls.mode is not requireTLS."""
    if args.resource_type != PSMDB_TYPE:
        return
    mode = lookup(args.props, "spec", "tls", "mode")
    if mode == REQUIRED_MODE:
        return
    mode_text = "unset, which the operator treats as preferTLS" if mode is None else repr(mode)
    report_violation(
        f"{describe(args.resource_type, args.name, args.props)} has spec.tls.mode {mode_text}, "
        f"so mongod and mongos accept connections without TLS. Fix: {MODE_FIX}",
        None,
    )


def validate_unsafe_flags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Report a PerconaServerMongoDB that lets the operator run without TLS.

    spec.unsafeFlags.tls: true is what permits mode disabled. The deprecated
    spec.allowUnsafeConfigurations: true makes the operator set every unsafe flag and force mode
    disabled (Percona operator 1.16.0 and later, for any crVersion).
    """
    if args.resource_type != PSMDB_TYPE:
        return
    resource = describe(args.resource_type, args.name, args.props)
    if lookup(args.props, "spec", "unsafeFlags", "tls") is True:
        report_violation(
            f"{resource} has spec.unsafeFlags.tls true, which allows mode disabled: mongod then "
            f"runs without TLS. This program sets it only for {TLS_CONFIG}.mode disabled. "
            f"Fix: {MODE_FIX}",
            None,
        )
    if lookup(args.props, "spec", "allowUnsafeConfigurations") is True:
        report_violation(
            f"{resource} has spec.allowUnsafeConfigurations true, which makes the operator set "
            "spec.unsafeFlags.tls and switch TLS off. Fix: remove it, for example with pulumi "
            "config rm --path 'psmdb-tls:cluster.spec.allowUnsafeConfigurations', then pulumi up.",
            None,
        )


def _key_limits(config: Mapping[str, Any]) -> tuple[int, tuple[str, ...]]:
    minimum_bits = config_whole_number(config, "minimumRsaBits", DEFAULT_MINIMUM_RSA_BITS)
    curves = config.get("allowedEcdsaCurves", ECDSA_CURVES)
    return minimum_bits, tuple(str(curve) for curve in curves)


def _key_of(args: ResourceValidationArgs) -> tuple[str, int | str] | None:
    """Return the (algorithm, RSA bits or ECDSA curve) of a key this policy covers, else None.

    Unset fields take the defaults of pulumi-tls and cert-manager. Algorithm names are
    normalized to RSA, ECDSA and ED25519.
    """
    if args.resource_type == PRIVATE_KEY_TYPE:
        algorithm = str(args.props.get("algorithm") or "").upper()
        if algorithm == "RSA":
            return algorithm, whole_number(args.props.get("rsaBits", 2048)) or 0
        if algorithm == "ECDSA":
            return algorithm, str(args.props.get("ecdsaCurve") or PULUMI_TLS_DEFAULT_CURVE)
        return algorithm, ""
    if args.resource_type == CERTIFICATE_TYPE:
        private_key = lookup(args.props, "spec", "privateKey") or {}
        algorithm = str(private_key.get("algorithm") or CERT_MANAGER_DEFAULT_ALGORITHM).upper()
        size = whole_number(private_key.get("size", CERT_MANAGER_DEFAULT_SIZES.get(algorithm, 0)))
        if algorithm == "ECDSA":
            return algorithm, f"P{size}"
        if algorithm == "RSA":
            return algorithm, size or 0
        return algorithm, ""
    return None


def validate_key_strength(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Report a pulumi-tls PrivateKey or cert-manager Certificate key below the allowed strength."""
    key = _key_of(args)
    if key is None:
        return
    minimum_bits, curves = _key_limits(args.get_config())
    algorithm, strength = key
    if algorithm == "RSA" and isinstance(strength, int) and strength >= minimum_bits:
        return
    if algorithm == "ECDSA" and strength in curves:
        return
    field = "spec.privateKey" if args.resource_type == CERTIFICATE_TYPE else "its inputs"
    key_text = f"{algorithm or 'unset algorithm'} {strength}" + (
        " bits" if algorithm == "RSA" else ""
    )
    report_violation(
        f"{describe(args.resource_type, args.name, args.props)} has a {key_text.strip()} key "
        f"(from {field}); keys must be RSA of at least {minimum_bits} bits or ECDSA on "
        f"{', '.join(curves)}. Fix: {KEY_FIX}",
        None,
    )


def _validity_of(args: ResourceValidationArgs) -> tuple[float | None, bool, str] | None:
    """Return (hours, is a CA, where the value came from) for a certificate, else None."""
    if args.resource_type in PULUMI_TLS_CERT_TYPES:
        hours = whole_number(args.props.get("validityPeriodHours"))
        is_ca = args.props.get("isCaCertificate") is True
        return (None if hours is None else float(hours)), is_ca, "validityPeriodHours"
    if args.resource_type == CERTIFICATE_TYPE:
        duration = lookup(args.props, "spec", "duration")
        is_ca = lookup(args.props, "spec", "isCA") is True
        if duration is None:
            return CERT_MANAGER_DEFAULT_DURATION_HOURS, is_ca, "cert-manager's default duration"
        return go_duration_hours(duration), is_ca, f"spec.duration {duration!r}"
    return None


def validate_certificate_validity(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Report a certificate, CA or leaf, valid for longer than the configured maximum."""
    validity = _validity_of(args)
    if validity is None:
        return
    hours, is_ca, source = validity
    config = args.get_config()
    resource = describe(args.resource_type, args.name, args.props)

    if hours is None:
        report_violation(
            f"{resource} has an invalid {source}: expected a whole number of hours, or a "
            "duration such as 2160h. Fix: set it from the stack config "
            f"({TLS_CONFIG}.certValidityHours or caValidityHours).",
            None,
        )
        return

    if is_ca:
        kind, key = "a CA", "caValidityHours"
        limit = config_whole_number(config, "maxCaValidityHours", DEFAULT_MAX_CA_VALIDITY_HOURS)
    else:
        kind, key = "a leaf", "certValidityHours"
        limit = config_whole_number(config, "maxLeafValidityHours", DEFAULT_MAX_LEAF_VALIDITY_HOURS)
    if hours <= limit:
        return

    fix = f"pulumi config set --path '{TLS_CONFIG}.{key}' {limit}, then pulumi up."
    if is_ca:
        fix += (
            " On a deployed stack the CA is protected from replacement: see "
            f"{doc_section(CA_SETTINGS_SECTION)}."
        )
    report_violation(
        f"{resource} is {kind} certificate valid for {format_hours(hours)} (from {source}); "
        f"the limit is {format_hours(limit)}. Fix: {fix}",
        None,
    )


def _secret_entries(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the Secret's keys with their values from data and stringData, None if unknown.

    During a preview the whole stringData of a Secret whose certificate is new is unknown. A
    single unknown value is kept as None.
    """
    entries: dict[str, Any] = {}
    for field in ("data", "stringData"):
        try:
            values = props.get(field)
        except UnknownValueError:
            return None
        if not isinstance(values, Mapping):
            continue
        for key in values:
            try:
                entries[key] = values[key]
            except UnknownValueError:
                entries[key] = None
    return entries


def validate_tls_secret(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Report a TLS Secret that the Percona operator cannot read as one.

    A Secret counts as a TLS Secret when its type is kubernetes.io/tls or it has any of the keys
    ca.crt, tls.crt and tls.key. It must have that type and all three keys, none empty. A
    preview may not know the Secret's data yet. Then only a kubernetes.io/tls Secret is checked,
    for its type alone, and the update checks the keys before it creates the Secret.
    """
    if args.resource_type != SECRET_TYPE:
        return
    secret_type = args.props.get("type")
    entries = _secret_entries(args.props)
    has_tls_key = entries is not None and any(key in entries for key in TLS_SECRET_KEYS)
    if secret_type != TLS_SECRET_TYPE and not has_tls_key:
        return
    resource = describe(args.resource_type, args.name, args.props)
    fix = (
        f"Fix: give it type {TLS_SECRET_TYPE} and the keys {', '.join(TLS_SECRET_KEYS)} where it "
        "is defined, then pulumi up (the Secrets this program makes always have them)."
    )
    if secret_type != TLS_SECRET_TYPE:
        type_text = "no type (Opaque)" if secret_type is None else f"type {secret_type!r}"
        report_violation(f"{resource} holds TLS keys but has {type_text}. {fix}", None)
    if entries is None:
        # The keys are known only in the update, which runs this check again before it creates
        # the Secret. The type check above has run already.
        return
    missing = [key for key in TLS_SECRET_KEYS if key not in entries]
    if missing:
        report_violation(f"{resource} lacks the key(s) {', '.join(missing)}. {fix}", None)
    empty = [key for key in TLS_SECRET_KEYS if key in entries and entries[key] == ""]
    if empty:
        report_violation(f"{resource} has empty value(s) for {', '.join(empty)}. {fix}", None)
