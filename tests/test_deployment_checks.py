"""Config changes a deployed stack cannot apply are rejected up front, naming the way to do them."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.configs import CLUSTER, base_config, with_cluster, with_tls
from tests.harness import ProgramFailed, ProgramRun, run_program
from tests.program_views import tls_secret

SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


def deploy(*configs) -> list[ProgramRun]:
    runs: list[ProgramRun] = []
    for config in configs:
        runs.append(run_program(config, state=runs[-1].state if runs else None))
    return runs


def rejected(first: dict, second: dict) -> ProgramFailed:
    """Deploy `first`, then return the failure of running `second` on the same stack."""
    (deployed,) = deploy(first)
    with pytest.raises(ProgramFailed) as failure:
        run_program(second, state=deployed.state)
    return failure.value


def assert_nothing_managed(failure: ProgramFailed) -> None:
    assert [resource.type for resource in failure.run.resources] == [STACK_REFERENCE]


def rotation(generation: int, phase: str, **tls) -> dict:
    return with_tls(base_config(**tls), caRotation={"generation": generation, "phase": phase})


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (with_cluster(base_config(), name="renamed-cluster"), "psmdb-tls:cluster.name"),
        (with_cluster(base_config(), namespace="psmdb-prod"), "psmdb-tls:cluster.namespace"),
        (base_config(organization="Example Inc"), "psmdb-tls:tls.organization"),
        (base_config(keyAlgorithm="ECDSA-P256"), "psmdb-tls:tls.keyAlgorithm"),
        (base_config(caValidityHours=43800), "psmdb-tls:tls.caValidityHours"),
        (base_config(certificateSource="operator"), "psmdb-tls:tls.certificateSource"),
        (
            with_tls(
                base_config(certificateSource="cert-manager"), certManager={"issuer": "selfSigned"}
            ),
            "psmdb-tls:tls.certificateSource",
        ),
    ],
    ids=[
        "name",
        "namespace",
        "organization",
        "key-algorithm",
        "ca-validity",
        "to-operator",
        "to-cert-manager",
    ],
)
def test_unapplicable_change_rejected(change, key):
    failure = rejected(base_config(), change)
    assert failure.error.key == key
    assert_nothing_managed(failure)


def test_key_algorithm_hint_names_rotation():
    failure = rejected(base_config(), base_config(keyAlgorithm="ECDSA-P256"))
    assert "generation 2 phase trustBoth" in str(failure.error)


def test_key_algorithm_changes_with_rotation():
    _, second = deploy(base_config(), rotation(2, "trustBoth", keyAlgorithm="ECDSA-P256"))
    assert second.operation(SELF_SIGNED, f"{CLUSTER}-ca-cert") == "same"
    assert second.operation(SELF_SIGNED, f"{CLUSTER}-ca-2-cert") == "create"
    bundle = tls_secret(second, f"{CLUSTER}-ssl").ca_bundle_pem.encode()
    new_ca, old_ca = x509.load_pem_x509_certificates(bundle)
    assert isinstance(new_ca.public_key(), ec.EllipticCurvePublicKey)
    assert not isinstance(old_ca.public_key(), ec.EllipticCurvePublicKey)


def test_rotated_ca_keeps_its_settings():
    runs = deploy(
        base_config(),
        rotation(2, "trustBoth", keyAlgorithm="ECDSA-P256"),
        rotation(2, "newLeaves", keyAlgorithm="ECDSA-P256"),
        rotation(2, "complete", keyAlgorithm="ECDSA-P256"),
    )
    assert runs[-1].stack_outputs["caSettings"] == {
        "2": {"keyAlgorithm": "ECDSA-P256", "validityHours": 87600}
    }


def cert_manager(issuer: str, **fields) -> dict:
    return with_tls(
        base_config(certificateSource="cert-manager"), certManager={"issuer": issuer, **fields}
    )


EXISTING = {"issuerRef": {"name": "corporate-ca", "kind": "ClusterIssuer"}}


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        (base_config(certificateSource="operator"), base_config(), "certificateSource"),
        (cert_manager("selfSigned"), base_config(), "certificateSource"),
        (
            base_config(certificateSource="operator"),
            cert_manager("selfSigned"),
            "certificateSource",
        ),
        (cert_manager("selfSigned"), cert_manager("existing", **EXISTING), "certManager.issuer"),
        (cert_manager("pulumiCa"), cert_manager("selfSigned"), "certManager.issuer"),
        (base_config(), cert_manager("pulumiCa"), "certificateSource"),
        (cert_manager("pulumiCa"), base_config(), "certificateSource"),
    ],
    ids=[
        "operator-to-pulumi",
        "self-signed-to-pulumi",
        "operator-to-cert-manager",
        "self-signed-to-existing",
        "pulumi-ca-to-self-signed",
        "pulumi-to-pulumi-ca",
        "pulumi-ca-to-pulumi",
    ],
)
def test_source_switch_rejected(first, second, key):
    failure = rejected(first, second)
    assert failure.error.key == f"psmdb-tls:tls.{key}"
    assert "new stack" in str(failure.error)
    assert_nothing_managed(failure)


def test_older_cert_manager_deployment_rerun():
    (deployed,) = deploy(cert_manager("selfSigned"))
    # Deployments made before the issuer was recorded lack this output.
    deployed.state.outputs.pop("certManagerIssuerType")
    rerun = run_program(cert_manager("selfSigned"), state=deployed.state)
    assert rerun.errors == []


def test_pulumi_ca_key_change_says_new_stack():
    with_new_key = with_tls(cert_manager("pulumiCa"), keyAlgorithm="ECDSA-P256")
    (deployed,) = deploy(cert_manager("pulumiCa"))
    with pytest.raises(ProgramFailed) as failure:
        run_program(with_new_key, state=deployed.state)
    message = str(failure.value.error)
    assert failure.value.error.key == "psmdb-tls:tls.keyAlgorithm"
    assert "certificateSource pulumi only" in message
    assert "trustBoth" not in message


def test_unchanged_settings_pass():
    _, second = deploy(base_config(keyAlgorithm="RSA-3072"), base_config(keyAlgorithm="RSA-3072"))
    assert second.operation(SELF_SIGNED, f"{CLUSTER}-ca-cert") == "same"


def test_key_change_mid_rotation_says_finish():
    runs = deploy(base_config(), rotation(2, "trustBoth"))
    with pytest.raises(ProgramFailed) as failure:
        run_program(rotation(2, "newLeaves", keyAlgorithm="ECDSA-P256"), state=runs[-1].state)
    message = str(failure.value.error)
    assert failure.value.error.key == "psmdb-tls:tls.keyAlgorithm"
    assert "until this rotation reaches phase complete" in message
