"""Tests of the engine and provider emulation itself, run with small inline programs."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.emulation_common import ProviderError
from tests.harness import ProgramFailed, ProgramRun, load_stack_config, run_program
from tests.mock_engine import EngineError, EngineState

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
SECRET = "kubernetes:core/v1:Secret"
LEAF_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]


def chain_program(
    dns_names: tuple[str, ...] = ("db-0.example.svc", "db-1.example.svc"),
    early_renewal_hours: int = 0,
    trigger: object = None,
    ignore_dns_changes: bool = False,
    include_leaf: bool = True,
) -> Callable[[], None]:
    """Return a program: an ECDSA CA, then an RSA key, CSR and CA-signed leaf certificate."""

    def program() -> None:
        ca_key = tls.PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
        ca = tls.SelfSignedCert(
            "ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=24 * 365,
            allowed_uses=["cert_signing", "crl_signing"],
            subject=tls.SelfSignedCertSubjectArgs(common_name="test-ca", organization="Test"),
        )
        pulumi.export("caCert", ca.cert_pem)
        pulumi.export("caKey", ca_key.private_key_pem)
        if not include_leaf:
            return
        leaf_key = tls.PrivateKey("leaf-key", algorithm="RSA")
        csr = tls.CertRequest(
            "leaf-csr",
            private_key_pem=leaf_key.private_key_pem,
            dns_names=list(dns_names),
            ip_addresses=["10.0.0.7"],
            subject=tls.CertRequestSubjectArgs(common_name="db", organizational_unit="psmdb"),
            opts=pulumi.ResourceOptions(ignore_changes=["dnsNames"] if ignore_dns_changes else []),
        )
        tls.LocallySignedCert(
            "leaf",
            cert_request_pem=csr.cert_request_pem,
            ca_cert_pem=ca.cert_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            validity_period_hours=24 * 30,
            early_renewal_hours=early_renewal_hours,
            allowed_uses=LEAF_USES,
            opts=pulumi.ResourceOptions(replacement_trigger=trigger),
        )

    return program


def run(program: Callable[[], object], **options: Any) -> ProgramRun:
    """Run an inline program with no stack config."""
    options.setdefault("now", NOW)
    return run_program({}, program=program, **options)


def certificate(result: ProgramRun, type_: str, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(result.find(type_, name).outputs["certPem"].encode())


def digest(value: Any) -> str:
    """Return a SHA-256 digest, to compare values containing private keys without printing them."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def pem_frame(text: str) -> tuple[str, bool]:
    """Return a PEM document's type and whether its END line matches and ends with a newline.

    Only the frame is returned, so a failing assert never prints key material.
    """
    lines = text.split("\n")
    block_type = lines[0].removeprefix("-----BEGIN ").removesuffix("-----")
    return block_type, lines[-2:] == [f"-----END {block_type}-----", ""]


def state_digest(state: EngineState) -> str:
    return digest({urn: [r.id, r.outputs] for urn, r in state.resources.items()})


@pytest.fixture(scope="module")
def first() -> ProgramRun:
    return run(chain_program())


@pytest.fixture(scope="module")
def leaf(first: ProgramRun) -> x509.Certificate:
    return certificate(first, LOCALLY_SIGNED, "leaf")


@pytest.fixture(scope="module")
def ca(first: ProgramRun) -> x509.Certificate:
    return certificate(first, SELF_SIGNED, "ca")


# --- certificates -----------------------------------------------------------------------------


def test_leaf_signed_by_ca(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    leaf.verify_directly_issued_by(ca)


def test_leaf_issuer_is_ca_subject(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    assert leaf.issuer == ca.subject


def test_leaf_subject_from_csr(leaf: x509.Certificate) -> None:
    assert leaf.subject.rfc4514_string() == "CN=db,OU=psmdb"


def test_leaf_key_usage(leaf: x509.Certificate) -> None:
    extension = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert extension.critical
    assert extension.value.digital_signature
    assert extension.value.key_encipherment
    assert not extension.value.key_cert_sign


def test_leaf_extended_key_usage(leaf: x509.Certificate) -> None:
    extension = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert not extension.critical
    assert list(extension.value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]


def test_leaf_sans_from_csr(leaf: x509.Certificate) -> None:
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["db-0.example.svc", "db-1.example.svc"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]


def test_leaf_not_a_ca(leaf: x509.Certificate) -> None:
    extension = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert extension.critical
    assert not extension.value.ca


def test_leaf_validity_from_clock(leaf: x509.Certificate) -> None:
    assert leaf.not_valid_before_utc == NOW
    assert leaf.not_valid_after_utc == NOW + timedelta(days=30)


def test_leaf_aki_is_ca_ski(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    authority = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    subject = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority.key_identifier == subject.digest


def test_ca_basic_constraints(ca: x509.Certificate) -> None:
    extension = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert extension.critical
    assert extension.value.ca
    assert extension.value.path_length is None


def test_ca_subject_order(ca: x509.Certificate) -> None:
    # Go writes O before CN, so RFC 4514 (most specific first) lists CN first.
    assert ca.subject.rfc4514_string() == "CN=test-ca,O=Test"
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "test-ca"


def test_validity_times_rfc3339(first: ProgramRun) -> None:
    outputs = first.find(LOCALLY_SIGNED, "leaf").outputs
    assert outputs["validityStartTime"] == "2026-03-01T12:00:00Z"
    assert outputs["validityEndTime"] == "2026-03-31T12:00:00Z"


def test_certificate_defaults_echoed(first: ProgramRun) -> None:
    outputs = first.find(LOCALLY_SIGNED, "leaf").outputs
    assert outputs["isCaCertificate"] is False
    assert outputs["setSubjectKeyId"] is False
    assert outputs["readyForRenewal"] is False
    assert "maxPathLength" not in outputs


def test_leaf_id_is_serial(first: ProgramRun, leaf: x509.Certificate) -> None:
    assert first.find(LOCALLY_SIGNED, "leaf").id == str(leaf.serial_number)


def path_length_program() -> None:
    """Two ED25519 CAs, maxPathLength 0 and 2, and a leaf with no subject."""
    key = tls.PrivateKey("key", algorithm="ED25519")
    for length in (0, 2):
        tls.SelfSignedCert(
            f"ca-{length}",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            max_path_length=length,
            validity_period_hours=1,
            allowed_uses=["cert_signing"],
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"ca-{length}"),
        )
    tls.SelfSignedCert(
        "no-subject",
        private_key_pem=key.private_key_pem,
        validity_period_hours=1,
        allowed_uses=["server_auth"],
        dns_names=["host.example"],
        set_subject_key_id=True,
        set_authority_key_id=True,
    )


@pytest.fixture(scope="module")
def path_lengths() -> ProgramRun:
    return run(path_length_program)


def test_path_length_zero_omitted(path_lengths: ProgramRun) -> None:
    # Go reads MaxPathLen 0 without MaxPathLenZero as "no limit", so no pathLen is written.
    constraints = certificate(path_lengths, SELF_SIGNED, "ca-0").extensions
    assert constraints.get_extension_for_class(x509.BasicConstraints).value.path_length is None


def test_path_length_two_written(path_lengths: ProgramRun) -> None:
    constraints = certificate(path_lengths, SELF_SIGNED, "ca-2").extensions
    assert constraints.get_extension_for_class(x509.BasicConstraints).value.path_length == 2


def test_empty_subject_san_critical(path_lengths: ProgramRun) -> None:
    extensions = certificate(path_lengths, SELF_SIGNED, "no-subject").extensions
    assert extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


def test_self_signed_aki_is_ski(path_lengths: ProgramRun) -> None:
    extensions = certificate(path_lengths, SELF_SIGNED, "no-subject").extensions
    authority = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    subject = extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority.key_identifier == subject.digest


def test_ed25519_ski_hashes_octet_string(path_lengths: ProgramRun) -> None:
    # Upstream hashes Go's asn1.Marshal of the key: an OCTET STRING (04 20) around 32 bytes.
    cert = certificate(path_lengths, SELF_SIGNED, "ca-0")
    raw = cert.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = hashlib.sha1(bytes([0x04, 0x20]) + raw).digest()
    assert (
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == expected
    )


def test_leaf_max_path_rejected() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        tls.SelfSignedCert(
            "cert",
            private_key_pem=key.private_key_pem,
            max_path_length=1,
            validity_period_hours=1,
            allowed_uses=["server_auth"],
        )

    error = failure_of(program).error
    assert isinstance(error, ProviderError)
    assert error.property == "maxPathLength"


def test_csr_signature_valid(first: ProgramRun) -> None:
    pem = first.find(CERT_REQUEST, "leaf-csr").outputs["certRequestPem"]
    request = x509.load_pem_x509_csr(pem.encode())
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=db,OU=psmdb"


# --- keys -------------------------------------------------------------------------------------


def test_rsa_key_formats(first: ProgramRun) -> None:
    outputs = first.find(PRIVATE_KEY, "leaf-key").outputs
    assert pem_frame(outputs["privateKeyPem"]) == ("RSA PRIVATE KEY", True)
    assert pem_frame(outputs["privateKeyPemPkcs8"]) == ("PRIVATE KEY", True)
    assert pem_frame(outputs["privateKeyOpenssh"]) == ("OPENSSH PRIVATE KEY", True)
    assert outputs["rsaBits"] == 2048
    assert outputs["ecdsaCurve"] == "P224"


def test_ecdsa_key_format(first: ProgramRun) -> None:
    outputs = first.find(PRIVATE_KEY, "ca-key").outputs
    assert pem_frame(outputs["privateKeyPem"]) == ("EC PRIVATE KEY", True)


def test_pem_lines_64_columns(first: ProgramRun) -> None:
    outputs = first.find(PRIVATE_KEY, "leaf-key").outputs
    body = outputs["privateKeyOpenssh"].splitlines()[1:-1]
    assert max(len(line) for line in body) == 64


def test_public_key_matches_private(first: ProgramRun) -> None:
    outputs = first.find(PRIVATE_KEY, "ca-key").outputs
    private = serialization.load_pem_private_key(outputs["privateKeyPem"].encode(), None)
    public = serialization.load_pem_public_key(outputs["publicKeyPem"].encode())
    assert private.public_key() == public


def test_key_fingerprint_format(first: ProgramRun) -> None:
    fingerprint = first.find(PRIVATE_KEY, "ca-key").outputs["publicKeyFingerprintSha256"]
    assert fingerprint.startswith("SHA256:")
    assert not fingerprint.endswith("=")


def test_get_public_key_matches() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ECDSA", ecdsa_curve="P384")
        public = tls.get_public_key_output(private_key_pem=key.private_key_pem)
        pulumi.export("fingerprint", public.public_key_fingerprint_sha256)

    result = run(program)
    expected = result.find(PRIVATE_KEY).outputs["publicKeyFingerprintSha256"]
    assert result.stack_outputs["fingerprint"] == expected


# --- secrets ----------------------------------------------------------------------------------


def test_private_key_outputs_secret(first: ProgramRun) -> None:
    secrets = first.find(PRIVATE_KEY, "ca-key").secret_outputs
    assert secrets == {"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"}


def test_secret_input_stays_secret(first: ProgramRun) -> None:
    request = first.find(CERT_REQUEST, "leaf-csr")
    assert request.is_secret("privateKeyPem")
    assert "privateKeyPem" in request.secret_outputs
    assert not request.is_output_secret("certRequestPem")


def test_secret_stack_output(first: ProgramRun) -> None:
    assert first.secret_stack_outputs == {"caKey"}


# --- successive runs --------------------------------------------------------------------------


def test_unchanged_rerun_same(first: ProgramRun) -> None:
    second = run(chain_program(), state=first.state)
    assert set(second.operations.values()) == {"same"}


def test_unchanged_rerun_same_outputs(first: ProgramRun) -> None:
    second = run(chain_program(), state=first.state)
    for resource in first.resources:
        again = second.find(resource.type, resource.name)
        assert digest(again.raw_outputs) == digest(resource.raw_outputs), resource.name


def test_dns_change_replaces_leaf(first: ProgramRun) -> None:
    second = run(chain_program(dns_names=("db-0.example.svc",)), state=first.state)
    assert dict(second.operations) == {
        "ca-key": "same",
        "ca": "same",
        "leaf-key": "same",
        "leaf-csr": "replace",
        "leaf": "replace",
    }


def test_replaced_leaf_new_serial(first: ProgramRun, leaf: x509.Certificate) -> None:
    second = run(chain_program(dns_names=("db-0.example.svc",)), state=first.state)
    assert certificate(second, LOCALLY_SIGNED, "leaf").serial_number != leaf.serial_number


def test_early_renewal_change_updates(first: ProgramRun) -> None:
    second = run(chain_program(early_renewal_hours=24), state=first.state)
    assert second.operations["leaf"] == "update"
    leaf_outputs = second.find(LOCALLY_SIGNED, "leaf").outputs
    assert leaf_outputs["certPem"] == first.find(LOCALLY_SIGNED, "leaf").outputs["certPem"]
    assert leaf_outputs["earlyRenewalHours"] == 24


def test_renewal_window_replaces(first: ProgramRun) -> None:
    later = NOW + timedelta(days=29)
    second = run(chain_program(early_renewal_hours=24), state=first.state, now=later)
    assert second.operations["leaf"] == "replace"
    assert second.operations["ca"] == "same"


def test_before_renewal_window_updates(first: ProgramRun) -> None:
    later = NOW + timedelta(days=28)
    second = run(chain_program(early_renewal_hours=24), state=first.state, now=later)
    assert second.operations["leaf"] == "update"


def test_renewed_leaf_starts_now(first: ProgramRun) -> None:
    later = NOW + timedelta(days=30)
    second = run(chain_program(), state=first.state, now=later)
    assert certificate(second, LOCALLY_SIGNED, "leaf").not_valid_before_utc == later


def test_trigger_change_replaces() -> None:
    first = run(chain_program(trigger="gen-1"))
    second = run(chain_program(trigger="gen-2"), state=first.state)
    assert second.operations["leaf"] == "replace"
    change = second.find(LOCALLY_SIGNED, "leaf").change
    assert change is not None
    assert change.reasons == ["replacementTrigger changed"]


def test_trigger_from_null_same(first: ProgramRun) -> None:
    second = run(chain_program(trigger="gen-1"), state=first.state)
    assert second.operations["leaf"] == "same"


def test_ignore_changes_keeps_old(first: ProgramRun) -> None:
    program = chain_program(dns_names=("other.example",), ignore_dns_changes=True)
    second = run(program, state=first.state)
    assert second.operations["leaf-csr"] == "same"


def test_removed_resources_deleted(first: ProgramRun) -> None:
    second = run(chain_program(include_leaf=False), state=first.state)
    assert second.operations["leaf"] == "delete"
    assert second.operations["leaf-key"] == "delete"
    assert second.state.get(LOCALLY_SIGNED, "leaf") is None


def test_preview_keeps_state(first: ProgramRun) -> None:
    preview = run(chain_program(dns_names=("x.example",)), state=first.state, preview=True)
    assert preview.operations["leaf"] == "replace"
    assert state_digest(preview.state) == state_digest(first.state)


def test_preview_create_unknown_outputs() -> None:
    preview = run(chain_program(), preview=True)
    assert preview.find(PRIVATE_KEY, "ca-key").id == ""
    assert len(preview.state) == 0
    assert type(preview.stack_outputs["caCert"]).__name__ == "Unknown"


# --- validation -------------------------------------------------------------------------------


def failure_of(program: Callable[[], object], **options: Any) -> ProgramFailed:
    with pytest.raises(ProgramFailed) as failure:
        run(program, **options)
    return failure.value


def test_unknown_allowed_use_rejected() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        tls.SelfSignedCert(
            "cert",
            private_key_pem=key.private_key_pem,
            validity_period_hours=1,
            allowed_uses=["tls"],
        )

    error = failure_of(program).error
    assert isinstance(error, ProviderError)
    assert error.property == "allowedUses[0]"
    assert "'tls'" in str(error)


def test_ca_without_subject_rejected() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        tls.SelfSignedCert(
            "cert",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=1,
            allowed_uses=["cert_signing"],
        )

    error = failure_of(program).error
    assert isinstance(error, ProviderError)
    assert error.property == "subject"


def test_missing_required_input_rejected() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        # An Output that resolves to None gets past the SDK's own check and reaches the provider.
        tls.SelfSignedCert(
            "cert",
            private_key_pem=key.private_key_pem,
            validity_period_hours=pulumi.Output.from_input(None),
            allowed_uses=["server_auth"],
        )

    failure = failure_of(program)
    assert isinstance(failure.error, ProviderError)
    assert failure.error.property == "validityPeriodHours"
    assert [r.name for r in failure.run.resources] == ["key", "cert"]


def test_unknown_algorithm_rejected() -> None:
    error = failure_of(lambda: tls.PrivateKey("key", algorithm="DSA")).error
    assert isinstance(error, ProviderError)
    assert error.property == "algorithm"


def test_protected_replace_fails() -> None:
    def program(curve: str) -> Callable[[], object]:
        options = pulumi.ResourceOptions(protect=True)
        return lambda: tls.PrivateKey("key", algorithm="ECDSA", ecdsa_curve=curve, opts=options)

    first = run(program("P256"))
    failure = failure_of(program("P384"), state=first.state)
    assert isinstance(failure.error, EngineError)
    assert "protect" in str(failure.error)


def test_failed_run_keeps_state(first: ProgramRun) -> None:
    def program() -> None:
        chain_program()()
        tls.PrivateKey("extra", algorithm="RSA", rsa_bits=512)

    failure = failure_of(program, state=first.state)
    assert isinstance(failure.error, ProviderError)
    assert failure.error.property == "rsaBits"
    assert set(failure.run.state.resources) == set(first.state.resources)


def test_protected_delete_fails() -> None:
    options = pulumi.ResourceOptions(protect=True)
    first = run(lambda: tls.PrivateKey("key", algorithm="ED25519", opts=options))
    failure = failure_of(lambda: None, state=first.state)
    assert isinstance(failure.error, EngineError)


def awaiting_key_program(**key_args: Any) -> Callable[[], None]:
    """Return a program that registers a PrivateKey with ``key_args``, then awaits.

    Like ``__main__.py``, it passes an async function to ``pulumi.run``. The await lets the
    registration start before the program returns, so a failed registration makes the SDK's
    ``wait_for_rpcs`` raise before it awaits the outputs it tracks, and they stay tracked.
    """

    async def main() -> dict[str, Any]:
        tls.PrivateKey("key", **key_args)
        await asyncio.sleep(0)
        return {}

    def program() -> None:
        pulumi.run(main)

    return program


def test_run_after_failure_succeeds() -> None:
    failure = failure_of(awaiting_key_program(algorithm="DSA"))
    assert isinstance(failure.error, ProviderError)
    assert failure.error.property == "algorithm"

    result = run(awaiting_key_program(algorithm="ED25519"))
    assert result.errors == []
    assert result.operations["key"] == "create"


def test_second_failure_reports_own_error() -> None:
    first = failure_of(awaiting_key_program(algorithm="DSA"))
    assert isinstance(first.error, ProviderError)
    assert first.error.property == "algorithm"

    second = failure_of(awaiting_key_program(algorithm="RSA", rsa_bits=512))
    assert isinstance(second.error, ProviderError)
    assert second.error.property == "rsaBits"


# --- kubernetes -------------------------------------------------------------------------------


def secret_program(data: str, mutable: bool | None) -> Callable[[], None]:
    """Return a program with one named Secret, through a provider when ``mutable`` is set."""

    def program() -> None:
        options = None
        if mutable is not None:
            provider = k8s.Provider("k8s", enable_secret_mutable=mutable)
            options = pulumi.ResourceOptions(provider=provider)
        k8s.core.v1.Secret(
            "ssl",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cluster1-ssl", namespace="psmdb"),
            string_data={"ca.crt": data},
            opts=options,
        )

    return program


def test_secret_data_change_replaces() -> None:
    first = run(secret_program("one", mutable=None))
    second = run(secret_program("two", mutable=None), state=first.state)
    assert second.operations["ssl"] == "replace"
    change = second.find(SECRET).change
    assert change is not None
    assert change.delete_before_replace


def test_mutable_secret_change_updates() -> None:
    first = run(secret_program("one", mutable=True))
    second = run(secret_program("two", mutable=True), state=first.state)
    assert second.operations["ssl"] == "update"


def test_mutable_from_stack_config() -> None:
    config = {"kubernetes:enableSecretMutable": "true"}
    first = run_program(config, program=secret_program("one", mutable=None))
    second = run_program(config, program=secret_program("two", mutable=None), state=first.state)
    assert second.operations["ssl"] == "update"


def test_secret_id_and_secrecy() -> None:
    result = run(secret_program("one", mutable=None))
    secret = result.find(SECRET)
    assert secret.id == "psmdb/cluster1-ssl"
    assert secret.is_secret("stringData", "ca.crt")
    assert secret.is_output_secret("stringData")


def test_secret_name_validated() -> None:
    def program() -> None:
        k8s.core.v1.Secret("bad", metadata={"name": "Cluster_SSL"}, string_data={"a": "b"})

    error = failure_of(program).error
    assert isinstance(error, ProviderError)
    assert error.property == "metadata.name"


def test_custom_resource_echoed() -> None:
    def program() -> None:
        k8s.apiextensions.CustomResource(
            "db",
            api_version="psmdb.percona.com/v1",
            kind="PerconaServerMongoDB",
            metadata={"name": "cluster1"},
            spec={"tls": {"mode": "requireTLS"}},
        )

    resource = run(program).find("kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB")
    assert resource.outputs["spec"] == {"tls": {"mode": "requireTLS"}}
    assert resource.id == "default/cluster1"


# --- monitor, harness -------------------------------------------------------------------------


def test_child_urn_has_parent_type() -> None:
    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Tls", "tls")
        tls.PrivateKey("key", algorithm="ED25519", opts=pulumi.ResourceOptions(parent=parent))

    result = run(program)
    key = result.find(PRIVATE_KEY, "key")
    assert (
        key.urn == "urn:pulumi:dev::psmdb-tls::test:index:Tls$tls:index/privateKey:PrivateKey::key"
    )
    assert key.parent == result.find("test:index:Tls").urn


def test_component_outputs_recorded() -> None:
    def program() -> None:
        component = pulumi.ComponentResource("test:index:Tls", "tls")
        component.register_outputs({"mode": "requireTLS"})

    assert run(program).find("test:index:Tls").registered_outputs == {"mode": "requireTLS"}


def test_options_recorded() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        tls.SelfSignedCert(
            "cert",
            private_key_pem=key.private_key_pem,
            validity_period_hours=1,
            allowed_uses=["server_auth"],
            opts=pulumi.ResourceOptions(protect=True, ignore_changes=["subject"]),
        )

    result = run(program)
    cert = result.find(SELF_SIGNED)
    assert cert.options.protect is True
    assert cert.options.ignore_changes == ["subject"]
    assert cert.options.additional_secret_outputs == ["privateKeyPem", "privateKeyPemWo"]
    assert cert.dependencies == [result.find(PRIVATE_KEY).urn]


def test_warning_tied_to_urn() -> None:
    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ED25519")
        pulumi.log.warn("rotate soon", resource=key)

    result = run(program)
    assert [(w.message, w.urn) for w in result.warnings] == [
        ("rotate soon", result.find(PRIVATE_KEY).urn)
    ]


def test_stack_reference_reads_previous() -> None:
    def program() -> None:
        reference = pulumi.StackReference(
            "previous", stack_name=f"{pulumi.get_organization()}/psmdb-tls/dev"
        )
        pulumi.export("before", reference.outputs.apply(lambda outputs: outputs.get("value")))
        pulumi.export("value", "v1")

    first = run(program)
    second = run(program, state=first.state)
    assert first.stack_outputs.get("before") is None
    assert second.stack_outputs["before"] == "v1"


def test_load_stack_config(tmp_path: Any) -> None:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text("config:\n  psmdb-tls:tls:\n    mode: requireTLS\n  replicas: 3\n")
    assert load_stack_config(path) == {
        "psmdb-tls:tls": {"mode": "requireTLS"},
        "psmdb-tls:replicas": 3,
    }
