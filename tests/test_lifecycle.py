"""Successive `pulumi up` runs of one stack: renewal, CA rotation, mode changes, stable diffs.

Each test runs the program several times under the emulated engine, passing the state of one
run to the next, and compares what the engine did with each resource.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from tests.configs import CLUSTER, NAMESPACE, base_config, replset, with_cluster, with_tls
from tests.harness import ProgramFailed, ProgramRun, run_program
from tests.program_views import CUSTOM_RESOURCE, SECRET, custom_resource, tls_secret
from tests.tls_checks import Identity, handshake

SSL = f"{CLUSTER}-ssl"
SSL_INTERNAL = f"{CLUSTER}-ssl-internal"
MEMBER = f"{CLUSTER}-rs0-1.{CLUSTER}-rs0.{NAMESPACE}.svc.cluster.local"
# Real handshakes check validity against the wall clock, so the runs start an hour ago.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

CA_RESOURCES = {f"{CLUSTER}-ca-key", f"{CLUSTER}-ca-cert"}
CA2_RESOURCES = {f"{CLUSTER}-ca-2-key", f"{CLUSTER}-ca-2-cert"}
LEAF_KEYS = {f"{CLUSTER}-ssl-key", f"{CLUSTER}-ssl-internal-key"}
LEAF_REQUESTS = {f"{CLUSTER}-ssl-csr", f"{CLUSTER}-ssl-internal-csr"}
LEAF_CERTS = {f"{CLUSTER}-ssl-cert", f"{CLUSTER}-ssl-internal-cert"}
SECRETS = {f"{CLUSTER}-ssl-secret", f"{CLUSTER}-ssl-internal-secret"}
CLUSTER_RESOURCE = f"{CLUSTER}-cluster"


def operations(run: ProgramRun) -> dict[str, str]:
    """Return what the engine did with each managed resource: name -> operation."""
    return {
        record.name: record.operation
        for record in run.operation_records.values()
        if record.operation != "read" and not record.type.startswith("psmdb-tls:")
    }


def changed(run: ProgramRun) -> dict[str, str]:
    """Return the resources the run changed, with the operation."""
    return {name: op for name, op in operations(run).items() if op != "same"}


def deploy(*configs, now: datetime = START) -> list[ProgramRun]:
    """Run the configs as successive updates of one stack and return every run."""
    runs: list[ProgramRun] = []
    for config in configs:
        state = runs[-1].state if runs else None
        runs.append(run_program(config, state=state, now=now))
    return runs


def member_handshake(server: Identity, server_trust: str, client: Identity, client_trust: str):
    """Member-to-member mutual TLS, each side trusting its own Secret's ca.crt."""
    return handshake(
        server,
        client_trust,
        MEMBER,
        client=client,
        server_trust_pem=server_trust,
        require_client_cert=True,
    )


def common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def ca_bundle_subjects(run: ProgramRun) -> list[str]:
    """Return the common names of the CAs in the internal Secret's ca.crt, in bundle order."""
    bundle = tls_secret(run, SSL_INTERNAL).ca_bundle_pem.encode()
    return [
        common_name(certificate.subject) for certificate in x509.load_pem_x509_certificates(bundle)
    ]


# --- Stable previews --------------------------------------------------------------------------


def test_unchanged_rerun_changes_nothing():
    first, second = deploy(base_config(), base_config())
    assert changed(second) == {}
    for resource in second.resources:
        if resource.custom and not resource.read:
            before = first.find(resource.type, resource.name)
            assert resource.raw_inputs == before.raw_inputs, resource.name


@pytest.mark.parametrize(
    "change",
    [
        with_tls(base_config(), mode="requireTLS"),
        with_cluster(base_config(), replsets=[replset("rs0", 5)]),
        with_cluster(base_config(), image="percona/percona-server-mongodb:8.0.20-8"),
        with_cluster(base_config(), spec={"pmm": {"enabled": False}}),
    ],
    ids=["tls-mode", "replset-size", "image", "spec-passthrough"],
)
def test_cluster_changes_touch_only_cr(change):
    _, second = deploy(base_config(), change)
    assert changed(second) == {CLUSTER_RESOURCE: "update"}


@pytest.mark.parametrize(
    "change",
    [
        with_cluster(base_config(), replsets=[replset("rs0", 3), replset("rs1", 3)]),
        with_tls(base_config(), extraDnsNames=["mongo.example.com"]),
    ],
    ids=["new-replset", "extra-dns-name"],
)
def test_new_names_reissue_leaves_only(change):
    _, second = deploy(base_config(), change)
    result = changed(second)
    for name in LEAF_REQUESTS | LEAF_CERTS:
        assert result.pop(name) == "replace", name
    for name in SECRETS:
        assert result.pop(name) == "update", name
    result.pop(CLUSTER_RESOURCE, None)
    assert result == {}


def test_new_names_keep_ca_and_keys():
    _, second = deploy(base_config(), with_tls(base_config(), extraDnsNames=["mongo.example.com"]))
    for name in CA_RESOURCES | LEAF_KEYS:
        assert operations(second)[name] == "same", name


def test_preview_of_unchanged_stack():
    first = run_program(base_config(), now=START)
    preview = run_program(base_config(), state=first.state, now=START, preview=True)
    assert changed(preview) == {}


# --- Renewal ----------------------------------------------------------------------------------


def test_rotation_counter_replaces_leaves():
    _, second = deploy(base_config(), with_tls(base_config(), rotation={"certificates": 1}))
    expected = {name: "replace" for name in LEAF_KEYS | LEAF_REQUESTS | LEAF_CERTS}
    expected.update({name: "update" for name in SECRETS})
    assert changed(second) == expected


def test_rotation_counter_gives_new_keys():
    first, second = deploy(base_config(), with_tls(base_config(), rotation={"certificates": 1}))
    assert tls_secret(first, SSL).key_digest != tls_secret(second, SSL).key_digest
    assert tls_secret(first, SSL).ca_bundle_pem == tls_secret(second, SSL).ca_bundle_pem


def test_secrets_updated_in_place():
    _, second = deploy(base_config(), with_tls(base_config(), rotation={"certificates": 1}))
    provider = second.find("pulumi:providers:kubernetes")
    assert provider.inputs["enableSecretMutable"] in (True, "true")
    for name in SECRETS:
        assert second.operation(SECRET, name) == "update"


def test_renewal_window_reissues_certificates():
    config = base_config(certValidityHours=2000, earlyRenewalHours=100)
    first = run_program(config, now=START)
    inside_window = START + timedelta(hours=1901)
    second = run_program(config, state=first.state, now=inside_window)
    result = changed(second)
    assert result == {
        **{name: "replace" for name in LEAF_CERTS},
        **{name: "update" for name in SECRETS},
    }


def test_before_renewal_window_nothing_changes():
    config = base_config(certValidityHours=2000, earlyRenewalHours=100)
    first = run_program(config, now=START)
    second = run_program(config, state=first.state, now=START + timedelta(hours=1899))
    assert changed(second) == {}


def test_renewed_and_old_leaves_interoperate():
    first, second = deploy(base_config(), with_tls(base_config(), rotation={"certificates": 1}))
    old = tls_secret(first, SSL_INTERNAL)
    new = tls_secret(second, SSL_INTERNAL)
    assert member_handshake(old.identity, old.ca_bundle_pem, new.identity, new.ca_bundle_pem).ok
    assert member_handshake(new.identity, new.ca_bundle_pem, old.identity, old.ca_bundle_pem).ok


# --- CA rotation ------------------------------------------------------------------------------


def rotation(phase: str, generation: int = 2):
    return with_tls(base_config(), caRotation={"generation": generation, "phase": phase})


@pytest.fixture(scope="module")
def rotation_runs() -> dict[str, ProgramRun]:
    before, trust_both, new_leaves, complete = deploy(
        base_config(), rotation("trustBoth"), rotation("newLeaves"), rotation("complete")
    )
    return {
        "before": before,
        "trustBoth": trust_both,
        "newLeaves": new_leaves,
        "complete": complete,
    }


def test_trust_both_adds_new_ca_only(rotation_runs):
    result = changed(rotation_runs["trustBoth"])
    assert result == {
        **{name: "create" for name in CA2_RESOURCES},
        **{name: "update" for name in SECRETS},
    }


def test_trust_both_bundle_new_ca_first(rotation_runs):
    assert ca_bundle_subjects(rotation_runs["trustBoth"]) == [
        f"{CLUSTER} CA 2",
        f"{CLUSTER} CA 1",
    ]


def test_trust_both_keeps_leaves(rotation_runs):
    before = tls_secret(rotation_runs["before"], SSL)
    during = tls_secret(rotation_runs["trustBoth"], SSL)
    assert during.cert_pem == before.cert_pem


def test_new_leaves_resigns_with_new_ca(rotation_runs):
    result = changed(rotation_runs["newLeaves"])
    assert result == {
        **{name: "replace" for name in LEAF_CERTS},
        **{name: "update" for name in SECRETS},
    }
    leaf = tls_secret(rotation_runs["newLeaves"], SSL).certificate
    assert common_name(leaf.issuer) == f"{CLUSTER} CA 2"


def test_new_leaves_unprotects_old_ca(rotation_runs):
    run = rotation_runs["newLeaves"]
    assert (
        run.find("tls:index/selfSignedCert:SelfSignedCert", f"{CLUSTER}-ca-cert").options.protect
        is False
    )
    assert (
        run.find("tls:index/selfSignedCert:SelfSignedCert", f"{CLUSTER}-ca-2-cert").options.protect
        is True
    )


def test_complete_deletes_old_ca(rotation_runs):
    result = changed(rotation_runs["complete"])
    assert result == {
        **{name: "delete" for name in CA_RESOURCES},
        **{name: "update" for name in SECRETS},
    }
    assert ca_bundle_subjects(rotation_runs["complete"]) == [f"{CLUSTER} CA 2"]


def test_rotation_outputs_show_both_cas(rotation_runs):
    outputs = rotation_runs["trustBoth"].stack_outputs
    assert outputs["caRotation"]["phase"] == "trustBoth"
    assert outputs["caRotation"]["generation"] == 2
    assert (
        outputs["caRotation"]["previousCaFingerprintSha256"]
        == rotation_runs["before"].stack_outputs["caFingerprintSha256"]
    )
    assert (
        outputs["caRotation"]["caFingerprintSha256"]
        != outputs["caRotation"]["previousCaFingerprintSha256"]
    )


def test_complete_outputs_one_ca(rotation_runs):
    outputs = rotation_runs["complete"].stack_outputs
    assert "previousCaFingerprintSha256" not in outputs["caRotation"]
    assert (
        outputs["caFingerprintSha256"]
        == rotation_runs["trustBoth"].stack_outputs["caRotation"]["caFingerprintSha256"]
    )


@pytest.mark.parametrize(
    ("previous", "current"),
    [("before", "trustBoth"), ("trustBoth", "newLeaves"), ("newLeaves", "complete")],
)
def test_rotation_step_members_interoperate(rotation_runs, previous, current):
    # During a rolling restart one member still runs with the previous Secret content while
    # another has restarted with the current one; both directions must work.
    old = tls_secret(rotation_runs[previous], SSL_INTERNAL)
    new = tls_secret(rotation_runs[current], SSL_INTERNAL)
    forward = member_handshake(old.identity, old.ca_bundle_pem, new.identity, new.ca_bundle_pem)
    backward = member_handshake(new.identity, new.ca_bundle_pem, old.identity, old.ca_bundle_pem)
    assert forward.ok, forward.error
    assert backward.ok, backward.error


def test_old_leaf_rejected_after_complete(rotation_runs):
    old = tls_secret(rotation_runs["before"], SSL_INTERNAL)
    done = tls_secret(rotation_runs["complete"], SSL_INTERNAL)
    as_client = member_handshake(done.identity, done.ca_bundle_pem, old.identity, old.ca_bundle_pem)
    as_server = handshake(old.identity, done.ca_bundle_pem, MEMBER)
    assert as_client.ok is False
    assert as_server.ok is False


def test_external_secret_follows_rotation(rotation_runs):
    for phase in ("trustBoth", "newLeaves", "complete"):
        internal = tls_secret(rotation_runs[phase], SSL_INTERNAL)
        external = tls_secret(rotation_runs[phase], SSL)
        assert external.ca_bundle_pem == internal.ca_bundle_pem, phase


def test_next_rotation_starts_from_complete(rotation_runs):
    third = run_program(
        rotation("trustBoth", generation=3), state=rotation_runs["complete"].state, now=START
    )
    assert ca_bundle_subjects(third) == [f"{CLUSTER} CA 3", f"{CLUSTER} CA 2"]


@pytest.mark.parametrize(
    ("steps", "bad"),
    [
        ([base_config()], rotation("newLeaves")),
        ([base_config()], rotation("complete")),
        ([base_config()], rotation("trustBoth", generation=3)),
        ([base_config(), rotation("trustBoth")], rotation("complete")),
        ([base_config(), rotation("trustBoth"), rotation("newLeaves")], rotation("trustBoth")),
        ([base_config(), rotation("trustBoth")], base_config()),
    ],
    ids=[
        "skip-trust-both",
        "jump-to-complete",
        "skip-generation",
        "skip-new-leaves",
        "go-back",
        "abandon",
    ],
)
def test_rotation_jump_rejected(steps, bad):
    runs = deploy(*steps)
    with pytest.raises(ProgramFailed) as failure:
        run_program(bad, state=runs[-1].state, now=START)
    message = str(failure.value.error)
    assert failure.value.error.key == "psmdb-tls:tls.caRotation"
    assert "trustBoth, newLeaves, complete" in message
    assert [r.type for r in failure.value.run.resources] == ["pulumi:pulumi:StackReference"]


def test_new_stack_may_start_mid_rotation():
    run = run_program(rotation("trustBoth"), now=START)
    assert len(ca_bundle_subjects(run)) == 2


@pytest.mark.parametrize(("generation", "phase"), [(1, "trustBoth"), (1, "newLeaves")])
def test_first_generation_cannot_rotate(generation, phase):
    with pytest.raises(ProgramFailed) as failure:
        run_program(rotation(phase, generation=generation), now=START)
    assert failure.value.error.key == "psmdb-tls:tls.caRotation.phase"
    assert failure.value.run.resources == []


def test_rotation_needs_pulumi_source():
    config = with_tls(
        base_config(),
        certificateSource="operator",
        caRotation={"generation": 2, "phase": "trustBoth"},
    )
    with pytest.raises(ProgramFailed) as failure:
        run_program(config, now=START)
    assert failure.value.error.key == "psmdb-tls:tls.caRotation"


# --- Mode changes -----------------------------------------------------------------------------


def mode(mode_name: str, pause: bool = False):
    return with_cluster(with_tls(base_config(), mode=mode_name), pause=pause)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("preferTLS", "disabled"),
        ("disabled", "preferTLS"),
        ("disabled", "requireTLS"),
        ("allowTLS", "disabled"),
    ],
)
def test_unpaused_switch_to_or_from_disabled_rejected(before, after):
    runs = deploy(mode(before))
    with pytest.raises(ProgramFailed) as failure:
        run_program(mode(after), state=runs[-1].state, now=START)
    error = failure.value.error
    assert error.key == "psmdb-tls:tls.mode"
    assert error.value == after
    assert "psmdb-tls:cluster.pause" in str(error)
    assert [r.type for r in failure.value.run.resources] == ["pulumi:pulumi:StackReference"]


def test_switch_needs_pause_applied_first():
    runs = deploy(mode("preferTLS"))
    with pytest.raises(ProgramFailed):
        run_program(mode("disabled", pause=True), state=runs[-1].state, now=START)


def test_documented_disable_steps_pass():
    runs = deploy(
        mode("preferTLS"),
        mode("preferTLS", pause=True),
        mode("disabled", pause=True),
        mode("disabled", pause=False),
    )
    spec = custom_resource(runs[-1]).inputs["spec"]
    assert spec["tls"]["mode"] == "disabled"
    assert spec["unsafeFlags"]["tls"] is True
    assert spec["pause"] is False


def test_documented_enable_steps_pass():
    runs = deploy(
        mode("disabled"),
        mode("disabled", pause=True),
        mode("requireTLS", pause=True),
        mode("requireTLS"),
    )
    spec = custom_resource(runs[-1]).inputs["spec"]
    assert spec["unsafeFlags"]["tls"] is False
    assert spec["tls"]["mode"] == "requireTLS"


def test_disable_keeps_certificates():
    runs = deploy(mode("preferTLS"), mode("preferTLS", pause=True), mode("disabled", pause=True))
    assert changed(runs[-1]) == {CLUSTER_RESOURCE: "update"}


@pytest.mark.parametrize(
    ("before", "after"), [("preferTLS", "allowTLS"), ("allowTLS", "requireTLS")]
)
def test_allow_tls_switch_warns(before, after):
    second = deploy(mode(before), mode(after))[-1]
    cr = second.find(CUSTOM_RESOURCE)
    warnings = [w for w in second.warnings if "keyFile" in w.message]
    assert len(warnings) == 1
    assert warnings[0].urn == cr.urn


def test_tls_mode_switch_without_allow_tls_silent():
    second = deploy(mode("preferTLS"), mode("requireTLS"))[-1]
    assert [w for w in second.warnings if "keyFile" in w.message] == []


@pytest.mark.parametrize("source", ["operator", "cert-manager"])
def test_rotation_counter_needs_pulumi_source(source):
    config = with_tls(base_config(), certificateSource=source, rotation={"certificates": 1})
    with pytest.raises(ProgramFailed) as failure:
        run_program(config, now=START)
    assert failure.value.error.key == "psmdb-tls:tls.rotation.certificates"
    assert failure.value.run.resources == []


# --- Expiry warnings --------------------------------------------------------------------------


def test_expired_member_certificate_warns():
    config = base_config(certValidityHours=1, earlyRenewalHours=0)
    first = run_program(config, now=START - timedelta(hours=2))
    second = run_program(config, state=first.state, now=START)
    messages = [w.message for w in second.warnings if "member certificate expired" in w.message]
    assert len(messages) == 2
    assert "tls.rotation.certificates" in messages[0]


def test_ca_expiring_before_leaves_warns():
    config = base_config(caValidityHours=10, certValidityHours=10, earlyRenewalHours=0)
    first = run_program(config, now=START)
    second = run_program(config, state=first.state, now=START)
    messages = [w.message for w in second.warnings if "The CA expires" in w.message]
    assert len(messages) == 1
    assert "tls.caRotation.generation" in messages[0]


def test_healthy_certificates_no_warning():
    _, second = deploy(base_config(), base_config())
    assert second.warnings == []
