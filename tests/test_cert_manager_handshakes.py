"""Certificates issued from the program's cert-manager specs work in real TLS.

Each member Certificate spec is issued with `cryptography` (tests/cert_manager_issuance.py) by
the CA its issuerRef leads to. For issuer selfSigned that CA is first issued from the CA
Certificate spec. For pulumiCa it is the pulumi-tls CA stored in the Secret behind the CA
Issuer. The results then go through path validation and handshakes on 127.0.0.1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.cert_manager_issuance import IssuedCertificate, issue, renew
from tests.cert_manager_runs import (
    SECRET_TYPE,
    ca_certificates,
    member_certificates,
    object_named,
    run_for,
)
from tests.configs import CLUSTER, NAMESPACE
from tests.harness import ProgramRun
from tests.tls_checks import ChainVerificationError, handshake, verify_chain

ISSUER_TYPE = "kubernetes:cert-manager.io/v1:Issuer"
SERVICE = f"{CLUSTER}-rs0"
SERVER_NAMES = [
    *[f"{SERVICE}-{index}.{SERVICE}.{NAMESPACE}.svc.cluster.local" for index in range(3)],
    SERVICE,
    f"{SERVICE}.{NAMESPACE}",
    f"{SERVICE}.{NAMESPACE}.svc.cluster.local",
    "localhost",
]
OUTSIDE_NAME = f"intruder.{NAMESPACE}.svc.cluster.local"
WAYS = ["selfSigned", "pulumiCa"]
SECRETS = {"ssl": f"{CLUSTER}-ssl", "sslInternal": f"{CLUSTER}-ssl-internal"}


@dataclass(frozen=True)
class IssuedMembers:
    ca: IssuedCertificate
    ssl: IssuedCertificate
    ssl_internal: IssuedCertificate


def signing_ca(run: ProgramRun, issuer_name: str) -> IssuedCertificate:
    """Follow a member Certificate's issuerRef to its CA and return that CA with its key."""
    issuer = object_named(run, ISSUER_TYPE, issuer_name)
    secret_name = issuer.inputs["spec"]["ca"]["secretName"]
    for ca in ca_certificates(run):
        if ca.inputs["spec"]["secretName"] == secret_name:
            self_signed_name = ca.inputs["spec"]["issuerRef"]["name"]
            self_signed = object_named(run, ISSUER_TYPE, self_signed_name)
            assert self_signed.inputs["spec"] == {"selfSigned": {}}
            return issue(ca.inputs["spec"], issuer=None)
    secret = object_named(run, SECRET_TYPE, secret_name)
    data = secret.inputs["stringData"]
    return IssuedCertificate.from_pem(data["tls.crt"], data["tls.key"])


@functools.cache
def issued_members(way: str) -> IssuedMembers:
    run = run_for(way)
    certificates = member_certificates(run)
    ssl_spec = certificates[SECRETS["ssl"]].inputs["spec"]
    internal_spec = certificates[SECRETS["sslInternal"]].inputs["spec"]
    assert ssl_spec["issuerRef"] == internal_spec["issuerRef"]
    ca = signing_ca(run, ssl_spec["issuerRef"]["name"])
    return IssuedMembers(ca=ca, ssl=issue(ssl_spec, ca), ssl_internal=issue(internal_spec, ca))


def member(way: str, secret: str) -> IssuedCertificate:
    members = issued_members(way)
    return members.ssl if secret == "ssl" else members.ssl_internal


def test_pulumi_ca_is_the_signer():
    run = run_for("pulumiCa")
    ca_cert = run.find("tls:index/selfSignedCert:SelfSignedCert")
    expected = x509.load_pem_x509_certificate(ca_cert.outputs["certPem"].encode())
    assert issued_members("pulumiCa").ca.certificate == expected


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("name", SERVER_NAMES)
def test_server_name_accepted(way, secret, name):
    members = issued_members(way)
    result = handshake(member(way, secret).identity, members.ca.cert_pem, name)
    assert result.ok, result.error


@pytest.mark.parametrize("way", WAYS)
def test_outside_name_rejected(way):
    members = issued_members(way)
    result = handshake(members.ssl.identity, members.ca.cert_pem, OUTSIDE_NAME)
    assert not result.ok
    assert "Hostname mismatch" in (result.client_error or "")


@pytest.mark.parametrize("way", WAYS)
def test_member_mutual_tls(way):
    members = issued_members(way)
    result = handshake(
        members.ssl_internal.identity,
        members.ca.cert_pem,
        SERVER_NAMES[0],
        client=members.ssl_internal.identity,
        server_trust_pem=members.ca.cert_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error
    organizations = result.cert_seen_by_server.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME
    )
    assert [attribute.value for attribute in organizations] == ["PSMDB"]


@pytest.mark.parametrize("way", WAYS)
def test_external_certificate_as_client(way):
    members = issued_members(way)
    result = handshake(
        members.ssl_internal.identity,
        members.ca.cert_pem,
        SERVER_NAMES[1],
        client=members.ssl.identity,
        server_trust_pem=members.ca.cert_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("usage", ["server", "client"])
def test_chain_validates_for_usage(way, secret, usage):
    hostname = SERVER_NAMES[0] if usage == "server" else None
    verify_chain(
        member(way, secret).cert_pem,
        issued_members(way).ca.cert_pem,
        hostname=hostname,
        usage=usage,
    )


@pytest.mark.parametrize("key_algorithm", ["ECDSA-P256", "ECDSA-P384", "RSA-3072"])
def test_key_algorithm_gives_working_certificate(key_algorithm):
    run = run_for("selfSigned", key_algorithm=key_algorithm)
    spec = member_certificates(run)[SECRETS["ssl"]].inputs["spec"]
    ca = signing_ca(run, spec["issuerRef"]["name"])
    leaf = issue(spec, ca)
    result = handshake(leaf.identity, ca.cert_pem, SERVER_NAMES[0])
    assert result.ok, result.error


def test_ca_renewal_keeps_member_trust():
    run = run_for("selfSigned")
    (ca_certificate,) = ca_certificates(run)
    ca_spec = ca_certificate.inputs["spec"]
    members = issued_members("selfSigned")
    renewed = renew(ca_spec, members.ca, issuer=None)
    assert renewed.certificate.serial_number != members.ca.certificate.serial_number
    # Members issued before the renewal still verify against the renewed CA alone.
    verify_chain(members.ssl.cert_pem, renewed.cert_pem, hostname=SERVER_NAMES[0])


def test_new_ca_key_breaks_member_trust():
    # The failure the rotation policy prevents: a renewal with a new CA key.
    (ca_certificate,) = ca_certificates(run_for("selfSigned"))
    ca_spec = {**ca_certificate.inputs["spec"]}
    ca_spec["privateKey"] = {**ca_spec["privateKey"], "rotationPolicy": "Always"}
    members = issued_members("selfSigned")
    renewed = renew(ca_spec, members.ca, issuer=None)
    with pytest.raises(ChainVerificationError):
        verify_chain(members.ssl.cert_pem, renewed.cert_pem, hostname=SERVER_NAMES[0])
