"""certificateSource cert-manager: the Issuers, Certificates and resource fields the program writes."""

from __future__ import annotations

import hashlib

import pytest

from components.config import load_settings
from components.sans import member_dns_names, member_ip_addresses
from tests.cert_manager_runs import (
    ISSUER_WAYS,
    SECRET_TYPE,
    all_cert_manager_objects,
    ca_certificates,
    cert_manager_config,
    cert_manager_objects,
    custom_resource,
    member_certificates,
    object_named,
    run_for,
)
from tests.configs import CLUSTER, TOPOLOGIES, base_config
from tests.crd_schemas import requires_schemas, validate_custom_resource
from tests.harness import ProgramFailed, run_program

SSL_SECRET = f"{CLUSTER}-ssl"
SSL_INTERNAL_SECRET = f"{CLUSTER}-ssl-internal"
# Names the operator gives its own cert-manager objects and CA Secret, and overwrites, for this
# cluster and for a cluster named with the program's prefix in the same namespace.
OPERATOR_SUFFIXES = (
    "psmdb-ca-issuer",
    "psmdb-issuer",
    "psmdb-ca",
    "ca-cert",
    "ssl",
    "ssl-internal",
)
OPERATOR_NAMES = {
    f"{cluster}-{suffix}"
    for cluster in (CLUSTER, f"pulumi-{CLUSTER}")
    for suffix in OPERATOR_SUFFIXES
}
WAYS = list(ISSUER_WAYS)
CREATED_ISSUERS = {
    "selfSigned": {
        f"pulumi-{CLUSTER}-selfsigned-issuer",
        f"pulumi-{CLUSTER}-member-issuer",
    },
    "pulumiCa": {f"pulumi-{CLUSTER}-member-issuer"},
    "existing-issuer": set(),
    "existing-clusterissuer": set(),
}
KEY_SPECS = {
    "RSA-2048": ("RSA", 2048),
    "RSA-3072": ("RSA", 3072),
    "RSA-4096": ("RSA", 4096),
    "ECDSA-P256": ("ECDSA", 256),
    "ECDSA-P384": ("ECDSA", 384),
}


@requires_schemas
@pytest.mark.parametrize("way", WAYS)
def test_objects_match_crd_schemas(way):
    run = run_for(way)
    for resource in [*all_cert_manager_objects(run), custom_resource(run)]:
        assert validate_custom_resource(resource.inputs) == [], resource.name


@pytest.mark.parametrize("way", WAYS)
def test_issuers_created_per_way(way):
    run = run_for(way)
    names = {r.inputs["metadata"]["name"] for r in cert_manager_objects(run, "Issuer")}
    assert names == CREATED_ISSUERS[way]


@pytest.mark.parametrize("way", WAYS)
def test_no_cluster_issuer_created(way):
    assert cert_manager_objects(run_for(way), "ClusterIssuer") == []


@pytest.mark.parametrize(("way", "count"), [(w, int(w == "selfSigned")) for w in WAYS])
def test_ca_certificate_only_self_signed(way, count):
    assert len(ca_certificates(run_for(way))) == count


@pytest.mark.parametrize("way", WAYS)
def test_certificates_write_cluster_secrets(way):
    assert sorted(member_certificates(run_for(way))) == [SSL_SECRET, SSL_INTERNAL_SECRET]


@pytest.mark.parametrize("way", WAYS)
def test_names_avoid_operator_names(way):
    run = run_for(way)
    names = [r.inputs["metadata"]["name"] for r in all_cert_manager_objects(run)]
    names += [ca.inputs["spec"]["secretName"] for ca in ca_certificates(run)]
    secrets = run.find_all(SECRET_TYPE)
    names += [secret.inputs["metadata"]["name"] for secret in secrets]
    for name in names:
        assert name not in OPERATOR_NAMES
        assert name.startswith(f"pulumi-{CLUSTER}-")


@pytest.mark.parametrize("way", WAYS)
def test_objects_have_no_owner_references(way):
    for resource in all_cert_manager_objects(run_for(way)):
        assert "ownerReferences" not in resource.inputs["metadata"], resource.name


@pytest.mark.parametrize("way", ["existing-issuer", "existing-clusterissuer"])
def test_existing_issuer_referenced(way):
    given = {"group": "cert-manager.io", **ISSUER_WAYS[way]["issuerRef"]}
    for certificate in member_certificates(run_for(way)).values():
        assert certificate.inputs["spec"]["issuerRef"] == given


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_dns_names_match_sans(topology):
    config = cert_manager_config(config=TOPOLOGIES[topology](base_config()))
    settings = load_settings(config)
    expected = member_dns_names(settings.cluster, settings.tls)
    for certificate in member_certificates(run_program(config)).values():
        assert certificate.inputs["spec"]["dnsNames"] == expected


def test_ip_addresses_match_sans():
    config = cert_manager_config(extraIpAddresses=["10.0.0.5", "fd00::5"])
    settings = load_settings(config)
    expected = member_ip_addresses(settings.cluster, settings.tls)
    for certificate in member_certificates(run_program(config)).values():
        assert certificate.inputs["spec"]["ipAddresses"] == expected


def test_no_ip_addresses_without_ip_sans():
    for certificate in member_certificates(run_for("selfSigned")).values():
        assert "ipAddresses" not in certificate.inputs["spec"]


def test_member_durations_reuse_tls_keys():
    config = cert_manager_config(certValidityHours=2000, earlyRenewalHours=100)
    for certificate in member_certificates(run_program(config)).values():
        assert certificate.inputs["spec"]["duration"] == "2000h"
        assert certificate.inputs["spec"]["renewBefore"] == "100h"


def test_ca_durations_reuse_tls_keys():
    config = cert_manager_config(caValidityHours=20000)
    config["psmdb-tls:tls"]["certManager"] = {"issuer": "selfSigned", "caRenewBeforeHours": 1000}
    (ca,) = ca_certificates(run_program(config))
    assert ca.inputs["spec"]["duration"] == "20000h"
    assert ca.inputs["spec"]["renewBefore"] == "1000h"


def test_ca_certificate_subject_and_usages():
    (ca,) = ca_certificates(run_for("selfSigned"))
    spec = ca.inputs["spec"]
    assert spec["isCA"] is True
    assert spec["subject"] == {"organizations": ["PSMDB"]}
    assert set(spec["usages"]) == {"digital signature", "cert sign", "crl sign"}


@pytest.mark.parametrize("way", WAYS)
def test_member_subject_and_usages(way):
    for certificate in member_certificates(run_for(way)).values():
        spec = certificate.inputs["spec"]
        assert spec["commonName"] == CLUSTER
        assert spec["subject"] == {"organizations": ["PSMDB"]}
        expected = {"digital signature", "key encipherment", "server auth", "client auth"}
        assert set(spec["usages"]) == expected


@pytest.mark.parametrize("key_algorithm", KEY_SPECS)
def test_private_key_follows_algorithm(key_algorithm):
    algorithm, size = KEY_SPECS[key_algorithm]
    run = run_for("selfSigned", key_algorithm=key_algorithm)
    for certificate in cert_manager_objects(run, "Certificate"):
        private_key = certificate.inputs["spec"]["privateKey"]
        assert private_key["algorithm"] == algorithm, certificate.name
        assert private_key["size"] == size, certificate.name


def test_ca_key_never_rotated():
    (ca,) = ca_certificates(run_for("selfSigned"))
    assert ca.inputs["spec"]["privateKey"]["rotationPolicy"] == "Never"


def test_member_keys_rotated_on_renewal():
    for certificate in member_certificates(run_for("selfSigned")).values():
        assert certificate.inputs["spec"]["privateKey"]["rotationPolicy"] == "Always"


@pytest.mark.parametrize("way", WAYS)
def test_certificates_wait_until_ready(way):
    for certificate in cert_manager_objects(run_for(way), "Certificate"):
        annotations = certificate.inputs["metadata"]["annotations"]
        assert annotations["pulumi.com/waitFor"] == "condition=Ready", certificate.name


# Ordering, read from the dependencies each registration recorded.


@pytest.mark.parametrize("way", ["selfSigned", "pulumiCa"])
def test_certificates_depend_on_issuer(way):
    run = run_for(way)
    for certificate in cert_manager_objects(run, "Certificate"):
        issuer_name = certificate.inputs["spec"]["issuerRef"]["name"]
        issuer = object_named(run, "kubernetes:cert-manager.io/v1:Issuer", issuer_name)
        assert issuer.urn in certificate.dependencies, certificate.name


def test_ca_issuer_depends_on_ca_certificate():
    run = run_for("selfSigned")
    (ca,) = ca_certificates(run)
    issuer = object_named(
        run, "kubernetes:cert-manager.io/v1:Issuer", f"pulumi-{CLUSTER}-member-issuer"
    )
    assert issuer.inputs["spec"] == {"ca": {"secretName": ca.inputs["spec"]["secretName"]}}
    assert ca.urn in issuer.dependencies


def test_ca_issuer_depends_on_ca_secret():
    run = run_for("pulumiCa")
    secret = run.find(SECRET_TYPE)
    issuer = object_named(
        run, "kubernetes:cert-manager.io/v1:Issuer", f"pulumi-{CLUSTER}-member-issuer"
    )
    assert issuer.inputs["spec"] == {"ca": {"secretName": secret.inputs["metadata"]["name"]}}
    assert secret.urn in issuer.dependencies


@pytest.mark.parametrize("way", WAYS)
def test_custom_resource_depends_on_certificates(way):
    run = run_for(way)
    dependencies = custom_resource(run).dependencies
    for certificate in member_certificates(run).values():
        assert certificate.urn in dependencies, certificate.name


# The PerconaServerMongoDB resource.


def test_cert_validity_duration_in_hours():
    tls = custom_resource(run_for("selfSigned")).inputs["spec"]["tls"]
    assert tls["certValidityDuration"] == "8760h"


def test_invalid_certificates_rejected_by_default():
    tls = custom_resource(run_for("selfSigned")).inputs["spec"]["tls"]
    assert tls["allowInvalidCertificates"] is False


@pytest.mark.parametrize("way", WAYS)
def test_issuer_conf_absent_at_1_22(way):
    tls = custom_resource(run_for(way, "1.22.0")).inputs["spec"]["tls"]
    assert "issuerConf" not in tls
    assert "certManagementPolicy" not in tls


@pytest.mark.parametrize("way", WAYS)
def test_issuer_conf_names_signer_at_1_23(way):
    run = run_for(way, "1.23.0")
    tls = custom_resource(run).inputs["spec"]["tls"]
    for certificate in member_certificates(run).values():
        assert tls["issuerConf"] == certificate.inputs["spec"]["issuerRef"]


def test_user_provided_only_at_1_23():
    tls = custom_resource(run_for("selfSigned", "1.23.0")).inputs["spec"]["tls"]
    assert tls["certManagementPolicy"] == "userProvidedOnly"


# Stack outputs.


@pytest.mark.parametrize("way", WAYS)
def test_issuer_exported(way):
    run = run_for(way)
    for certificate in member_certificates(run).values():
        assert run.stack_outputs["certManagerIssuer"] == certificate.inputs["spec"]["issuerRef"]


@pytest.mark.parametrize("way", ["selfSigned", "existing-issuer"])
def test_no_ca_exported_without_pulumi_ca(way):
    assert "caCertificatePem" not in run_for(way).stack_outputs


def test_pulumi_ca_exported():
    run = run_for("pulumiCa")
    ca_cert = run.find("tls:index/selfSignedCert:SelfSignedCert")
    assert run.stack_outputs["caCertificatePem"] == ca_cert.outputs["certPem"]
    assert "caCertificatePem" not in run.secret_stack_outputs


def test_pulumi_ca_stored_in_secret():
    run = run_for("pulumiCa")
    ca_cert = run.find("tls:index/selfSignedCert:SelfSignedCert")
    ca_key = run.find("tls:index/privateKey:PrivateKey")
    secret = run.find(SECRET_TYPE)
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert secret.inputs["stringData"]["tls.crt"] == ca_cert.outputs["certPem"]
    # Digests, so that a failure never prints the CA key.
    stored_key = hashlib.sha256(secret.inputs["stringData"]["tls.key"].encode()).hexdigest()
    ca_key_digest = hashlib.sha256(ca_key.outputs["privateKeyPem"].encode()).hexdigest()
    assert stored_key == ca_key_digest
    assert secret.is_secret("stringData", "tls.key")


@pytest.mark.parametrize("way", WAYS)
def test_no_private_key_exported(way):
    assert "PRIVATE KEY" not in repr(run_for(way).stack_outputs)


EXTERNAL_ISSUER = {"name": "pca", "kind": "AWSPCAClusterIssuer", "group": "awspca.cert-manager.io"}


def external_issuer_config(kind: str) -> dict:
    config = base_config(certificateSource="cert-manager")
    config["psmdb-tls:tls"]["certManager"] = {
        "issuer": "existing",
        "issuerRef": {**EXTERNAL_ISSUER, "kind": kind},
    }
    return config


def test_external_issuer_kind_accepted():
    run = run_program(external_issuer_config("AWSPCAClusterIssuer"))
    for certificate in cert_manager_objects(run, "Certificate"):
        assert certificate.inputs["spec"]["issuerRef"] == EXTERNAL_ISSUER, certificate.name


@requires_schemas
def test_external_issuer_certificate_valid():
    run = run_program(external_issuer_config("AWSPCAClusterIssuer"))
    for certificate in cert_manager_objects(run, "Certificate"):
        assert validate_custom_resource(certificate.inputs) == [], certificate.name


def test_external_issuer_bad_kind_rejected():
    with pytest.raises(ProgramFailed) as failure:
        run_program(external_issuer_config("AWS PCA"))
    assert failure.value.error.key == "psmdb-tls:tls.certManager.issuerRef.kind"
    assert failure.value.run.resources == []
