"""The policies in policy/, called on resources the real program registered under run_program.

Validation functions get pulumi-policy's own args objects, built by tests.policy_args the way
the engine sends properties. The tests at the end start the policy pack as the CLI does and
check over gRPC which violations production.json makes mandatory.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi_policy
import pytest

from policy.psmdb_tls_policy import (
    CERTIFICATE_EXPIRY,
    PACK_NAME,
    POLICIES,
)
from policy.psmdb_tls_policy.resource_policies import (
    validate_certificate_validity,
    validate_key_strength,
    validate_tls_mode,
    validate_tls_secret,
    validate_unsafe_flags,
)
from policy.psmdb_tls_policy.stack_policies import (
    make_validate_certificate_expiry,
    validate_certificates_managed,
    validate_certificates_verified,
)
from tests.cert_manager_runs import cert_manager_config
from tests.config_commands import apply_config_set, check_config, config_set_commands
from tests.configs import CLUSTER, NAMESPACE, base_config, with_tls
from tests.harness import REPO_ROOT, ProgramRun, RecordedResource, load_stack_config, run_program
from tests.policy_analyzer import (
    LEVEL_NAMES,
    PRODUCTION_CONFIG,
    analyzer_info,
    config_schema,
    configure,
    load_config_file,
    reconcile_config,
    running_policy_pack,
)
from tests.policy_args import (
    analyze_request,
    analyze_stack_request,
    collect,
    resource_args,
    stack_args,
)
from tests.program_views import CUSTOM_RESOURCE, LOCALLY_SIGNED, PRIVATE_KEY, SECRET, SELF_SIGNED

CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
# production.json by policy name, each entry in its long form ({"enforcementLevel": ...}).
PRODUCTION = {
    name: (entry if isinstance(entry, dict) else {"enforcementLevel": entry})
    for name, entry in load_config_file(PRODUCTION_CONFIG).items()
}


def production_limits(policy_name: str) -> dict[str, Any]:
    """Return the properties production.json gives a policy, as the CLI hands them to it."""
    entry = PRODUCTION[policy_name]
    return {key: value for key, value in entry.items() if key != "enforcementLevel"}


PRODUCTION_KEYS = production_limits("psmdb-tls-key-strength")
PRODUCTION_VALIDITY = production_limits("psmdb-tls-certificate-validity")


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    """Run a stack file of the repository as it is."""
    return run_program(load_stack_config(REPO_ROOT / f"Pulumi.{stack}.yaml"), stack=stack, now=NOW)


@functools.cache
def config_run(config_json: str) -> ProgramRun:
    return run_program(json.loads(config_json), now=NOW)


def run_config(config: dict[str, Any]) -> ProgramRun:
    """Run the program once per distinct config; tests only read the result."""
    return config_run(json.dumps(config, sort_keys=True))


def resources(run: ProgramRun, type_: str) -> list[RecordedResource]:
    found = run.find_all(type_)
    assert found, f"the run registered no {type_}"
    return found


def violations_for(validate: Any, run: ProgramRun, type_: str, **config: Any) -> list[str]:
    """Return the messages `validate` reports for every resource of `type_` in `run`."""
    return [
        message
        for resource in resources(run, type_)
        for message, _ in collect(validate, resource_args(resource, config=config))
    ]


def edited_inputs(resource: RecordedResource, edit: Any) -> dict[str, Any]:
    """Return a deep copy of the raw inputs after `edit` changed it in place."""
    inputs = copy.deepcopy(resource.raw_inputs)
    edit(inputs)
    return inputs


def single(messages: list[Any]) -> Any:
    assert len(messages) == 1, messages
    return messages[0]


# --- psmdb-tls-mode-required ------------------------------------------------------------------


def test_tls_mode_require_tls_passes():
    assert violations_for(validate_tls_mode, stack_run("prod"), CUSTOM_RESOURCE) == []


def test_tls_mode_prefer_tls_reported():
    message = single(violations_for(validate_tls_mode, stack_run("dev"), CUSTOM_RESOURCE))
    assert f"PerconaServerMongoDB {NAMESPACE}/{CLUSTER}" in message
    assert "'preferTLS'" in message
    assert "pulumi config set --path 'psmdb-tls:tls.mode' requireTLS" in message


def test_tls_mode_unset_reported_as_prefer():
    cluster = stack_run("prod").find(CUSTOM_RESOURCE)
    inputs = edited_inputs(cluster, lambda values: values["spec"]["tls"].pop("mode"))
    message = single(collect(validate_tls_mode, resource_args(cluster, inputs=inputs)))[0]
    assert "unset, which the operator treats as preferTLS" in message


def test_tls_mode_ignores_other_types():
    assert violations_for(validate_tls_mode, stack_run("dev"), SECRET) == []


# --- psmdb-tls-certificates-verified ----------------------------------------------------------


def test_verified_prod_passes():
    assert collect(validate_certificates_verified, stack_args(stack_run("prod"))) == []


def test_verified_pulumi_certificates_reported():
    run = run_config(base_config(allowInvalidCertificates=True))
    message, urn = single(collect(validate_certificates_verified, stack_args(run)))
    assert urn == run.find(CUSTOM_RESOURCE).urn
    assert "allowInvalidCertificates true," in message
    assert f"{CLUSTER}-ssl, {CLUSTER}-ssl-internal" in message
    assert re.search(rf"Secret {NAMESPACE}/{CLUSTER}-ssl[;)]", message)
    assert re.search(rf"Secret {NAMESPACE}/{CLUSTER}-ssl-internal[;)]", message)
    assert "pulumi config set --path 'psmdb-tls:tls.allowInvalidCertificates' false" in message


def test_verified_operator_certificates_pass():
    run = run_config(base_config(certificateSource="operator"))
    assert run.find(CUSTOM_RESOURCE).inputs["spec"]["tls"]["allowInvalidCertificates"] is True
    assert collect(validate_certificates_verified, stack_args(run)) == []


def test_verified_cert_manager_certificates_reported():
    run = run_config(cert_manager_config(allowInvalidCertificates=True))
    message, _ = single(collect(validate_certificates_verified, stack_args(run)))
    assert f"Certificate {NAMESPACE}/pulumi-{CLUSTER}-ssl-cert" in message


def test_verified_unset_reported():
    run = stack_run("prod")
    cluster = run.find(CUSTOM_RESOURCE)
    outputs = copy.deepcopy(cluster.raw_outputs)
    outputs["spec"]["tls"].pop("allowInvalidCertificates")
    args = stack_args(run, outputs={cluster.name: outputs})
    message, _ = single(collect(validate_certificates_verified, args))
    assert "unset, which the operator treats as true" in message


def test_verified_ignores_other_namespace_secrets():
    run = run_config(base_config(allowInvalidCertificates=True))
    moved = {}
    for secret in run.find_all(SECRET):
        outputs = copy.deepcopy(secret.raw_outputs)
        outputs["metadata"]["namespace"] = "elsewhere"
        moved[secret.name] = outputs
    assert collect(validate_certificates_verified, stack_args(run, outputs=moved)) == []


# --- psmdb-tls-certificates-managed -----------------------------------------------------------


def test_managed_program_certificates_pass():
    for run in (stack_run("prod"), run_config(cert_manager_config())):
        assert collect(validate_certificates_managed, stack_args(run)) == []


def test_managed_operator_certificates_reported():
    run = run_config(base_config(certificateSource="operator"))
    message, urn = single(collect(validate_certificates_managed, stack_args(run)))
    assert urn == run.find(CUSTOM_RESOURCE).urn
    assert f"PerconaServerMongoDB {NAMESPACE}/{CLUSTER}" in message
    assert f"{CLUSTER}-ssl, {CLUSTER}-ssl-internal, which this stack does not make" in message
    assert "spec.tls.allowInvalidCertificates is true." in message
    assert "pulumi config set --path 'psmdb-tls:tls.certificateSource' pulumi" in message


def test_managed_operator_verified_still_reported():
    # allowInvalidCertificates false does not make the operator's self-signed CA verifiable.
    run = run_config(base_config(certificateSource="operator", allowInvalidCertificates=False))
    message, _ = single(collect(validate_certificates_managed, stack_args(run)))
    assert "spec.tls.allowInvalidCertificates is false." in message


def test_managed_other_namespace_secrets_reported():
    run = run_config(base_config())
    moved = {}
    for secret in run.find_all(SECRET):
        outputs = copy.deepcopy(secret.raw_outputs)
        outputs["metadata"]["namespace"] = "elsewhere"
        moved[secret.name] = outputs
    assert len(collect(validate_certificates_managed, stack_args(run, outputs=moved))) == 1


def test_managed_first_preview_passes():
    preview = run_program(base_config(), now=NOW, preview=True)
    assert collect(validate_certificates_managed, stack_args(preview)) == []


# --- psmdb-tls-unsafe-flags-off ---------------------------------------------------------------


def test_unsafe_flags_prod_passes():
    assert violations_for(validate_unsafe_flags, stack_run("prod"), CUSTOM_RESOURCE) == []


def test_unsafe_flags_mode_disabled_reported():
    run = run_config(base_config(mode="disabled"))
    message = single(violations_for(validate_unsafe_flags, run, CUSTOM_RESOURCE))
    assert "spec.unsafeFlags.tls true" in message
    assert "pulumi config set --path 'psmdb-tls:tls.mode' requireTLS" in message


def test_unsafe_flags_allow_unsafe_configurations_reported():
    cluster = stack_run("prod").find(CUSTOM_RESOURCE)
    inputs = edited_inputs(
        cluster, lambda values: values["spec"].update(allowUnsafeConfigurations=True)
    )
    message = single(collect(validate_unsafe_flags, resource_args(cluster, inputs=inputs)))[0]
    assert "spec.allowUnsafeConfigurations true" in message
    assert "pulumi config rm --path 'psmdb-tls:cluster.spec.allowUnsafeConfigurations'" in message


# --- psmdb-tls-key-strength ---------------------------------------------------------------------


def test_key_strength_prod_passes_production_limits():
    assert (
        violations_for(validate_key_strength, stack_run("prod"), PRIVATE_KEY, **PRODUCTION_KEYS)
        == []
    )


def test_key_strength_rsa_2048_passes_default():
    assert violations_for(validate_key_strength, stack_run("dev"), PRIVATE_KEY) == []


def test_key_strength_rsa_2048_fails_production():
    messages = violations_for(
        validate_key_strength, stack_run("dev"), PRIVATE_KEY, **PRODUCTION_KEYS
    )
    assert len(messages) == 3
    # The keys register concurrently, so the CA key's message is found by name.
    ca_message = single([message for message in messages if "'my-cluster-name-ca-key'" in message])
    assert "PrivateKey 'my-cluster-name-ca-key' has a RSA 2048 bits key" in ca_message
    assert "at least 3072 bits" in ca_message
    assert "pulumi config set --path 'psmdb-tls:tls.keyAlgorithm' ECDSA-P384" in ca_message


@pytest.mark.parametrize(
    ("edit", "shown"),
    [
        (lambda values: values.pop("ecdsaCurve"), "ECDSA P224"),
        (lambda values: values.update(ecdsaCurve="P224"), "ECDSA P224"),
        (lambda values: values.update(algorithm="ED25519", ecdsaCurve=None), "ED25519 key"),
        (lambda values: values.update(algorithm="RSA", rsaBits=1024), "RSA 1024 bits"),
    ],
    ids=["curve-unset", "p224", "ed25519", "rsa-1024"],
)
def test_key_strength_weak_key_reported(edit, shown):
    key = stack_run("staging").find_all(PRIVATE_KEY)[0]
    inputs = edited_inputs(key, edit)
    message = single(collect(validate_key_strength, resource_args(key, inputs=inputs)))[0]
    assert shown in message


def test_key_strength_curve_outside_configured_list():
    key = stack_run("staging").find_all(PRIVATE_KEY)[0]
    config = {"allowedEcdsaCurves": ["P384", "P521"]}
    message = single(collect(validate_key_strength, resource_args(key, config=config)))[0]
    assert "ECDSA P256" in message
    assert "ECDSA on P384, P521" in message


def test_key_strength_cert_manager_rsa_fails_production():
    run = run_config(cert_manager_config())
    messages = violations_for(validate_key_strength, run, CERTIFICATE, **PRODUCTION_KEYS)
    assert len(messages) == 3
    assert all("RSA 2048 bits key (from spec.privateKey)" in message for message in messages)


def test_key_strength_cert_manager_default_key():
    certificate = run_config(cert_manager_config()).find_all(CERTIFICATE)[-1]
    inputs = edited_inputs(certificate, lambda values: values["spec"].pop("privateKey"))
    args = resource_args(certificate, inputs=inputs, config=PRODUCTION_KEYS)
    assert "RSA 2048 bits" in single(collect(validate_key_strength, args))[0]


def test_key_strength_cert_manager_ecdsa_passes_production():
    run = run_config(cert_manager_config(keyAlgorithm="ECDSA-P384"))
    assert violations_for(validate_key_strength, run, CERTIFICATE, **PRODUCTION_KEYS) == []


def test_key_strength_cert_manager_ed25519_reported():
    certificate = run_config(cert_manager_config()).find_all(CERTIFICATE)[-1]
    inputs = edited_inputs(
        certificate, lambda values: values["spec"]["privateKey"].update(algorithm="Ed25519")
    )
    message = single(collect(validate_key_strength, resource_args(certificate, inputs=inputs)))[0]
    assert "ED25519 key" in message


# --- psmdb-tls-certificate-validity -----------------------------------------------------------


def test_validity_dev_passes_default():
    run = stack_run("dev")
    assert violations_for(validate_certificate_validity, run, SELF_SIGNED) == []
    assert violations_for(validate_certificate_validity, run, LOCALLY_SIGNED) == []


def test_validity_dev_fails_production():
    run = stack_run("dev")
    ca = single(
        violations_for(validate_certificate_validity, run, SELF_SIGNED, **PRODUCTION_VALIDITY)
    )
    leaves = violations_for(
        validate_certificate_validity, run, LOCALLY_SIGNED, **PRODUCTION_VALIDITY
    )
    assert "is a CA certificate valid for 87600 hours (3650 days)" in ca
    assert "pulumi config set --path 'psmdb-tls:tls.caValidityHours' 43800" in ca
    assert len(leaves) == 2
    assert "is a leaf certificate valid for 8760 hours (365 days)" in leaves[0]
    assert "the limit is 4380 hours (182.5 days)" in leaves[0]
    assert "pulumi config set --path 'psmdb-tls:tls.certValidityHours' 4380" in leaves[0]


def test_validity_prod_passes_production():
    run = stack_run("prod")
    for type_ in (SELF_SIGNED, LOCALLY_SIGNED):
        assert (
            violations_for(validate_certificate_validity, run, type_, **PRODUCTION_VALIDITY) == []
        )


def test_validity_cert_manager_fails_production():
    run = run_config(cert_manager_config())
    messages = violations_for(
        validate_certificate_validity, run, CERTIFICATE, **PRODUCTION_VALIDITY
    )
    assert len(messages) == 3
    assert sum("spec.duration '87600h'" in message for message in messages) == 1
    assert sum("spec.duration '8760h'" in message for message in messages) == 2


@pytest.mark.parametrize(
    ("duration", "violations"),
    [("4380h0m0s", 0), ("4380h1m", 1), ("262800m", 0), ("forever", 1), (None, 0)],
    ids=["go-long-form", "one-minute-over", "minutes", "invalid", "cert-manager-default"],
)
def test_validity_cert_manager_durations(duration, violations):
    certificate = run_config(cert_manager_config()).find_all(CERTIFICATE)[-1]

    def set_duration(values: dict[str, Any]) -> None:
        values["spec"].pop("duration")
        if duration is not None:
            values["spec"]["duration"] = duration

    args = resource_args(
        certificate, inputs=edited_inputs(certificate, set_duration), config=PRODUCTION_VALIDITY
    )
    assert len(collect(validate_certificate_validity, args)) == violations


def test_validity_invalid_duration_message():
    certificate = run_config(cert_manager_config()).find_all(CERTIFICATE)[-1]
    inputs = edited_inputs(certificate, lambda values: values["spec"].update(duration="1y"))
    message = single(
        collect(validate_certificate_validity, resource_args(certificate, inputs=inputs))
    )[0]
    assert "invalid spec.duration '1y'" in message


def test_validity_config_numbers_as_floats():
    # Config properties cross gRPC as protobuf doubles.
    leaf = stack_run("prod").find_all(LOCALLY_SIGNED)[0]
    args = resource_args(leaf, config={"maxLeafValidityHours": 4380.0})
    assert collect(validate_certificate_validity, args) == []


def test_validity_config_fraction_rejected():
    leaf = stack_run("prod").find_all(LOCALLY_SIGNED)[0]
    args = resource_args(leaf, config={"maxLeafValidityHours": 4380.5})
    with pytest.raises(ValueError, match="maxLeafValidityHours must be a whole number"):
        collect(validate_certificate_validity, args)


# --- psmdb-tls-secret-format -------------------------------------------------------------------


def test_secret_format_program_secrets_pass():
    for run in (stack_run("prod"), run_config(cert_manager_config("pulumiCa"))):
        assert violations_for(validate_tls_secret, run, SECRET) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda values: values.update(type="Opaque"), "holds TLS keys but has type 'Opaque'"),
        (lambda values: values.pop("type"), "holds TLS keys but has no type (Opaque)"),
        (lambda values: values["stringData"]["value"].pop("tls.key"), "lacks the key(s) tls.key"),
        (
            lambda values: values["stringData"]["value"].update({"ca.crt": ""}),
            "empty value(s) for ca.crt",
        ),
    ],
    ids=["opaque", "no-type", "no-key", "empty-ca"],
)
def test_secret_format_problem_reported(edit, expected):
    secret = stack_run("prod").find_all(SECRET)[0]
    message = single(
        collect(validate_tls_secret, resource_args(secret, inputs=edited_inputs(secret, edit)))
    )[0]
    assert f"Secret {NAMESPACE}/psmdb-prod-ssl" in message
    assert expected in message
    assert "type kubernetes.io/tls and the keys ca.crt, tls.crt, tls.key" in message


def test_secret_format_data_field_passes():
    secret = stack_run("prod").find_all(SECRET)[0]

    def to_data(values: dict[str, Any]) -> None:
        string_data = values.pop("stringData")["value"]
        values["data"] = {key: "c2VjcmV0" for key in string_data}

    args = resource_args(secret, inputs=edited_inputs(secret, to_data))
    assert collect(validate_tls_secret, args) == []


def test_secret_format_other_secrets_ignored():
    secret = stack_run("prod").find_all(SECRET)[0]
    inputs = {
        "type": "Opaque",
        "metadata": {"name": "app-password"},
        "stringData": {"password": "x"},
    }
    assert collect(validate_tls_secret, resource_args(secret, inputs=inputs)) == []


def test_secret_format_preview_with_unknown_data():
    # A new certificate makes the whole stringData unknown in a preview. A kubernetes.io/tls
    # Secret passes, and a Secret of another type is recognized as a TLS Secret only in the
    # update, when the same check reads its keys.
    preview = run_program(
        load_stack_config(REPO_ROOT / "Pulumi.prod.yaml"), stack="prod", preview=True
    )
    secret = preview.find_all(SECRET)[0]
    assert collect(validate_tls_secret, resource_args(secret)) == []
    inputs = edited_inputs(secret, lambda values: values.update(type="Opaque"))
    assert collect(validate_tls_secret, resource_args(secret, inputs=inputs)) == []


# --- psmdb-tls-certificate-expiry -------------------------------------------------------------


def expiry_violations(
    run: ProgramRun, now: datetime, **config: Any
) -> list[tuple[str, str | None]]:
    validate = make_validate_certificate_expiry(clock=lambda: now)
    return collect(validate, stack_args(run, config=config))


def test_expiry_fresh_certificates_pass():
    assert expiry_violations(stack_run("dev"), NOW) == []


def test_expiry_leaves_within_30_days_reported():
    run = stack_run("dev")
    violations = expiry_violations(run, NOW + timedelta(days=365 - 10))
    assert len(violations) == 2
    message, urn = violations[0]
    assert urn in {resource.urn for resource in run.find_all(LOCALLY_SIGNED)}
    assert "expires on 2031-01-01T00:00:00Z, in 10 days (warning at 30 days)" in message
    assert "raise psmdb-tls:tls.rotation.certificates by one" in message


def test_expiry_ca_reported_with_rotation_fix():
    run = stack_run("dev")
    violations = expiry_violations(run, NOW + timedelta(days=3650 - 1))
    ca_urn = run.find(SELF_SIGNED).urn
    message = single([message for message, urn in violations if urn == ca_urn])
    assert "in 1 days" in message
    assert "rotate the CA with psmdb-tls:tls.caRotation" in message


def test_expiry_expired_certificate_reported():
    violations = expiry_violations(stack_run("dev"), NOW + timedelta(days=400))
    assert "expired on 2031-01-01T00:00:00Z" in violations[0][0]


def test_expiry_warning_days_configurable():
    run = stack_run("dev")
    later = NOW + timedelta(days=365 - 45)
    assert expiry_violations(run, later) == []
    assert len(expiry_violations(run, later, warningDays=60.0)) == 2


def test_expiry_first_preview_sees_unknown_end_times():
    preview = run_program(base_config(), now=NOW, preview=True)
    assert expiry_violations(preview, NOW + timedelta(days=3650)) == []


def test_expiry_preview_skips_certificates_it_reissues():
    # Within earlyRenewalHours the preview replaces both leaves, so only kept ones count.
    first = run_config(base_config())
    later = NOW + timedelta(days=365 - 20)
    preview = run_program(base_config(), now=later, state=first.state, preview=True)
    assert expiry_violations(preview, later) == []


def test_expiry_preview_reports_kept_certificates():
    config = base_config(earlyRenewalHours=24)
    first = run_config(config)
    later = NOW + timedelta(days=365 - 20)
    preview = run_program(config, now=later, state=first.state, preview=True)
    assert len(expiry_violations(preview, later)) == 2


# --- Fix commands --------------------------------------------------------------------------------


def test_fix_commands_use_real_config_keys():
    dev = stack_run("dev")
    unverified = run_config(base_config(allowInvalidCertificates=True))
    operator_made = run_config(base_config(certificateSource="operator"))
    messages = [
        *violations_for(validate_tls_mode, dev, CUSTOM_RESOURCE),
        *violations_for(validate_key_strength, dev, PRIVATE_KEY, **PRODUCTION_KEYS),
        *violations_for(validate_certificate_validity, dev, SELF_SIGNED, **PRODUCTION_VALIDITY),
        *violations_for(validate_certificate_validity, dev, LOCALLY_SIGNED, **PRODUCTION_VALIDITY),
        *[
            message
            for message, _ in collect(validate_certificates_verified, stack_args(unverified))
        ],
        *[
            message
            for message, _ in collect(validate_certificates_managed, stack_args(operator_made))
        ],
    ]
    commands = [command for message in messages for command in config_set_commands(message)]
    keys = {".".join(path) for _, path, _ in commands}
    assert keys == {
        "mode",
        "keyAlgorithm",
        "caValidityHours",
        "certValidityHours",
        "allowInvalidCertificates",
        "certificateSource",
    }
    for key, path, raw in commands:
        check_config(apply_config_set(base_config(), key, path, raw))


# --- The pack, production.json and enforcement -------------------------------------------------


def test_policy_names_unique():
    names = [policy.name for policy in POLICIES]
    assert len(set(names)) == len(names)


def test_production_config_names_every_policy():
    assert set(PRODUCTION) == {policy.name for policy in POLICIES}


def test_production_config_levels():
    for policy in POLICIES:
        expected = "advisory" if policy is CERTIFICATE_EXPIRY else "mandatory"
        assert PRODUCTION[policy.name]["enforcementLevel"] == expected, policy.name


def test_policies_advisory_by_default():
    for policy in POLICIES:
        assert policy.enforcement_level in (None, pulumi_policy.EnforcementLevel.ADVISORY)


def test_policy_requirements_pinned_to_installed():
    pins = dict(
        line.split("==") for line in (REPO_ROOT / "policy" / "requirements.txt").read_text().split()
    )
    project_pins = dict(
        line.split("==") for line in (REPO_ROOT / "requirements.txt").read_text().split()
    )
    assert pins["pulumi-policy"] == pulumi_policy.version.VERSION
    assert pins["pulumi"] == project_pins["pulumi"]


@pytest.fixture(scope="module")
def pack():
    with running_policy_pack() as stub:
        yield stub


def test_pack_info(pack):
    info = analyzer_info(pack)
    assert info.name == PACK_NAME
    assert [policy.name for policy in info.policies] == [policy.name for policy in POLICIES]


def test_pack_production_config_valid(pack):
    info = analyzer_info(pack)
    reconciled = reconcile_config(info, load_config_file(PRODUCTION_CONFIG))
    assert reconciled["psmdb-tls-key-strength"].properties["minimumRsaBits"] == 3072
    assert reconciled["psmdb-tls-certificate-expiry"].properties["warningDays"] == 30


def test_pack_rejects_weaker_config(pack):
    info = analyzer_info(pack)
    schema = config_schema(next(p for p in info.policies if p.name == "psmdb-tls-key-strength"))
    assert schema["properties"]["minimumRsaBits"]["minimum"] == 2048
    with pytest.raises(ValueError, match="psmdb-tls-key-strength"):
        reconcile_config(info, {"psmdb-tls-key-strength": {"minimumRsaBits": 1024}})


def levels(response: Any) -> dict[str, str]:
    """Return policy name to enforcement level for the diagnostics of an analyzer response."""
    return {item.policyName: LEVEL_NAMES[item.enforcementLevel] for item in response.diagnostics}


def test_pack_default_config_advisory(pack):
    configure(pack, reconcile_config(analyzer_info(pack)))
    cluster = stack_run("dev").find(CUSTOM_RESOURCE)
    response = pack.Analyze(analyze_request(cluster), timeout=30)
    assert levels(response) == {"psmdb-tls-mode-required": "advisory"}
    assert re.search(r"spec\.tls\.mode 'preferTLS'", response.diagnostics[0].message)


def test_pack_production_config_mandatory(pack):
    configure(pack, reconcile_config(analyzer_info(pack), load_config_file(PRODUCTION_CONFIG)))
    cluster = stack_run("dev").find(CUSTOM_RESOURCE)
    response = pack.Analyze(analyze_request(cluster), timeout=30)
    assert levels(response) == {"psmdb-tls-mode-required": "mandatory"}


def test_pack_production_limits_applied(pack):
    configure(pack, reconcile_config(analyzer_info(pack), load_config_file(PRODUCTION_CONFIG)))
    key = stack_run("dev").find_all(PRIVATE_KEY)[0]
    response = pack.Analyze(analyze_request(key), timeout=30)
    assert levels(response) == {"psmdb-tls-key-strength": "mandatory"}


def test_pack_production_stack_passes(pack):
    configure(pack, reconcile_config(analyzer_info(pack), load_config_file(PRODUCTION_CONFIG)))
    run = stack_run("prod")
    for resource in run.resources:
        if resource.custom:
            assert pack.Analyze(analyze_request(resource), timeout=30).diagnostics == []
    stack = pack.AnalyzeStack(
        analyze_stack_request(r for r in run.resources if r.custom), timeout=30
    )
    assert list(stack.diagnostics) == []


def test_pack_stack_policy_mandatory_in_production(pack):
    configure(pack, reconcile_config(analyzer_info(pack), load_config_file(PRODUCTION_CONFIG)))
    run = run_config(with_tls(base_config(), allowInvalidCertificates=True, mode="requireTLS"))
    request = analyze_stack_request(r for r in run.resources if r.custom)
    response = pack.AnalyzeStack(request, timeout=30)
    assert levels(response) == {"psmdb-tls-certificates-verified": "mandatory"}
    assert response.diagnostics[0].urn == run.find(CUSTOM_RESOURCE).urn


def test_pack_operator_certificates_advisory_by_default(pack):
    configure(pack, reconcile_config(analyzer_info(pack)))
    run = run_config(base_config(certificateSource="operator", mode="requireTLS"))
    response = pack.AnalyzeStack(
        analyze_stack_request(r for r in run.resources if r.custom), timeout=30
    )
    assert levels(response) == {"psmdb-tls-certificates-managed": "advisory"}


def test_pack_operator_certificates_mandatory_in_production(pack):
    configure(pack, reconcile_config(analyzer_info(pack), load_config_file(PRODUCTION_CONFIG)))
    run = run_config(base_config(certificateSource="operator", mode="requireTLS"))
    assert run.find(CUSTOM_RESOURCE).inputs["spec"]["tls"]["allowInvalidCertificates"] is True
    response = pack.AnalyzeStack(
        analyze_stack_request(r for r in run.resources if r.custom), timeout=30
    )
    assert levels(response) == {"psmdb-tls-certificates-managed": "mandatory"}
