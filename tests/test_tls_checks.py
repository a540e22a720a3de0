"""Tests of tests/tls_checks.py with certificates built here by cryptography."""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests import tls_checks
from tests.tls_checks import ChainVerificationError, Identity, handshake, verify_chain

ORGANIZATION = "psmdb-tls-test"
SERVICE = "svc-name.ns.svc.cluster.local"
WILDCARD = f"*.{SERVICE}"
POD = f"pod-0.{SERVICE}"
BOTH_USAGES = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _new_key(algorithm: str) -> PrivateKey:
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "p224":
        return ec.generate_private_key(ec.SECP224R1())
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _signature_hash(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _cert_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=1)
    )


@dataclass(frozen=True)
class Authority:
    """A test CA shaped like a pulumi-tls CA: basicConstraints CA:TRUE critical, SKID, no AKI."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> str:
        return _cert_pem(self.certificate)


def make_ca(common_name: str, *, algorithm: str = "p256", key_usage: bool = True) -> Authority:
    key = _new_key(algorithm)
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if key_usage:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return Authority(builder.sign(key, _signature_hash(key)), key)


def make_leaf(
    ca: Authority,
    *,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    common_name: str = "member",
    usages: Sequence[x509.ObjectIdentifier] = BOTH_USAGES,
    algorithm: str = "p256",
    authority_key_id: bool = True,
) -> Identity:
    """Issue a leaf like a pulumi-tls member certificate: SANs, AKI, CA:FALSE critical."""
    key = _new_key(algorithm)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(common_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(ca.key, _signature_hash(ca.key))
    return Identity(_cert_pem(certificate), _key_pem(key))


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca("psmdb-tls test CA")


@pytest.fixture(scope="module")
def other_ca() -> Authority:
    return make_ca("unrelated CA")


@pytest.fixture(scope="module")
def member(ca: Authority) -> Identity:
    return make_leaf(ca, dns_names=[SERVICE, WILDCARD, "localhost"], ip_addresses=["127.0.0.1"])


def _subject(pem: str) -> x509.Name:
    return x509.load_pem_x509_certificate(pem.encode("ascii")).subject


# ---------------------------------------------------------------------------------------
# verify_chain


def test_valid_chain_passes(ca: Authority, member: Identity) -> None:
    verify_chain(member.cert_pem, ca.pem, hostname=SERVICE)


def test_valid_client_chain_passes(ca: Authority, member: Identity) -> None:
    verify_chain(member.cert_pem, ca.pem, usage="client")


def test_chain_without_hostname_passes(ca: Authority, member: Identity) -> None:
    verify_chain(member.cert_pem, ca.pem)


def test_rsa_chain_passes() -> None:
    rsa_ca = make_ca("rsa CA", algorithm="rsa")
    leaf = make_leaf(rsa_ca, dns_names=[SERVICE], algorithm="rsa")
    verify_chain(leaf.cert_pem, rsa_ca.pem, hostname=SERVICE)


def test_leaf_from_other_ca_fails(other_ca: Authority, member: Identity) -> None:
    with pytest.raises(ChainVerificationError, match="failed validation"):
        verify_chain(member.cert_pem, other_ca.pem, hostname=SERVICE)


def test_chain_error_is_assertion_error(other_ca: Authority, member: Identity) -> None:
    with pytest.raises(AssertionError):
        verify_chain(member.cert_pem, other_ca.pem)


def test_rotation_bundle_accepts_new_leaf(ca: Authority, other_ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[SERVICE])
    verify_chain(leaf.cert_pem, other_ca.pem + ca.pem, hostname=SERVICE)


def test_rotation_bundle_accepts_old_leaf(ca: Authority, other_ca: Authority) -> None:
    leaf = make_leaf(other_ca, dns_names=[SERVICE])
    verify_chain(leaf.cert_pem, other_ca.pem + ca.pem, hostname=SERVICE)


def test_verify_rejects_name_outside_sans(ca: Authority, member: Identity) -> None:
    with pytest.raises(ChainVerificationError, match="failed validation"):
        verify_chain(member.cert_pem, ca.pem, hostname="db.example.com")


def test_verify_matches_wildcard_san(ca: Authority, member: Identity) -> None:
    verify_chain(member.cert_pem, ca.pem, hostname=POD)


def test_verify_matches_ip_san(ca: Authority, member: Identity) -> None:
    verify_chain(member.cert_pem, ca.pem, hostname="127.0.0.1")


def test_verify_single_label_wildcard_differs(ca: Authority) -> None:
    # Pins cryptography's rule that differs from OpenSSL's (see the handshake tests below).
    leaf = make_leaf(ca, dns_names=["*.svc-name"])
    verify_chain(leaf.cert_pem, ca.pem, hostname="pod-0.svc-name")


def test_server_only_leaf_fails_client_usage(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[SERVICE], usages=[ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(ChainVerificationError, match="failed validation"):
        verify_chain(leaf.cert_pem, ca.pem, usage="client")


def test_client_usage_rejects_hostname(ca: Authority, member: Identity) -> None:
    with pytest.raises(ValueError, match="hostname applies only"):
        verify_chain(member.cert_pem, ca.pem, hostname=SERVICE, usage="client")


def test_invalid_pem_raises_value_error(ca: Authority) -> None:
    with pytest.raises(ValueError, match="leaf_pem"):
        verify_chain("not a certificate", ca.pem)


def test_ca_without_key_usage_needs_key() -> None:
    bare_ca = make_ca("CA without keyUsage", key_usage=False)
    leaf = make_leaf(bare_ca, dns_names=[SERVICE])
    with pytest.raises(ChainVerificationError, match=r"no keyUsage extension \(2\.5\.29\.15\)"):
        verify_chain(leaf.cert_pem, bare_ca.pem, hostname=SERVICE)


def test_ca_without_key_usage_falls_back() -> None:
    bare_ca = make_ca("CA without keyUsage", key_usage=False)
    leaf = make_leaf(bare_ca, dns_names=[SERVICE])
    verify_chain(leaf.cert_pem, bare_ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)


def test_client_fallback_passes_without_key_usage() -> None:
    bare_ca = make_ca("CA without keyUsage", key_usage=False)
    leaf = make_leaf(bare_ca, dns_names=[SERVICE])
    verify_chain(leaf.cert_pem, bare_ca.pem, usage="client", leaf_key_pem=leaf.key_pem)


def test_fallback_checks_hostname() -> None:
    bare_ca = make_ca("CA without keyUsage", key_usage=False)
    leaf = make_leaf(bare_ca, dns_names=[SERVICE])
    with pytest.raises(ChainVerificationError, match="Hostname mismatch"):
        verify_chain(
            leaf.cert_pem, bare_ca.pem, hostname="db.example.com", leaf_key_pem=leaf.key_pem
        )


def test_leaf_without_aki_falls_back(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[SERVICE], authority_key_id=False)
    verify_chain(leaf.cert_pem, ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)


def test_leaf_without_aki_needs_key(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[SERVICE], authority_key_id=False)
    with pytest.raises(ChainVerificationError, match=r"authorityKeyIdentifier"):
        verify_chain(leaf.cert_pem, ca.pem, hostname=SERVICE)


def test_leaf_without_san_matches_common_name(ca: Authority) -> None:
    leaf = make_leaf(ca, common_name="db.example.com")
    verify_chain(leaf.cert_pem, ca.pem, hostname="db.example.com", leaf_key_pem=leaf.key_pem)


def test_leaf_without_san_rejects_other_name(ca: Authority) -> None:
    leaf = make_leaf(ca, common_name="db.example.com")
    with pytest.raises(ChainVerificationError, match="Hostname mismatch"):
        verify_chain(leaf.cert_pem, ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)


def test_ed25519_chain_falls_back() -> None:
    ed_ca = make_ca("Ed25519 CA", algorithm="ed25519")
    leaf = make_leaf(ed_ca, dns_names=[SERVICE], algorithm="ed25519")
    verify_chain(leaf.cert_pem, ed_ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)


def test_ed25519_fallback_rejects_other_ca(other_ca: Authority) -> None:
    ed_ca = make_ca("Ed25519 CA", algorithm="ed25519")
    leaf = make_leaf(ed_ca, dns_names=[SERVICE], algorithm="ed25519")
    with pytest.raises(ChainVerificationError, match="and by OpenSSL"):
        verify_chain(leaf.cert_pem, other_ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)


def test_p224_chain_gets_no_fallback() -> None:
    p224_ca = make_ca("P-224 CA", algorithm="p224")
    leaf = make_leaf(p224_ca, dns_names=[SERVICE], algorithm="p224")
    with pytest.raises(ChainVerificationError) as raised:
        verify_chain(leaf.cert_pem, p224_ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)
    assert "OpenSSL" not in str(raised.value)


def test_error_omits_private_key(other_ca: Authority) -> None:
    ed_ca = make_ca("Ed25519 CA", algorithm="ed25519")
    leaf = make_leaf(ed_ca, dns_names=[SERVICE], algorithm="ed25519")
    key_body = leaf.key_pem.splitlines()[1]
    with pytest.raises(ChainVerificationError) as raised:
        verify_chain(leaf.cert_pem, other_ca.pem, hostname=SERVICE, leaf_key_pem=leaf.key_pem)
    assert key_body not in str(raised.value)


def test_identity_repr_omits_key(member: Identity) -> None:
    assert member.key_pem.splitlines()[1] not in repr(member)


# ---------------------------------------------------------------------------------------
# handshake: server certificate and host names


def test_handshake_san_name_succeeds(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, SERVICE)
    assert result.ok, result.error


def test_handshake_reports_server_cert(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, SERVICE)
    assert result.cert_seen_by_client is not None
    assert result.cert_seen_by_client.subject == _subject(member.cert_pem)


def test_handshake_version_at_least_tls12(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, SERVICE)
    assert result.tls_version in ("TLSv1.2", "TLSv1.3")


def test_handshake_rejects_name_outside_sans(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, "db.example.com")
    assert not result.ok
    assert "Hostname mismatch" in (result.client_error or "")


def test_handshake_rejects_untrusted_server(other_ca: Authority, member: Identity) -> None:
    result = handshake(member, other_ca.pem, SERVICE)
    assert not result.ok
    assert "certificate verify failed" in (result.client_error or "")


def test_wildcard_matches_one_label(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, POD)
    assert result.ok, result.error


def test_wildcard_rejects_two_labels(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[WILDCARD])
    result = handshake(leaf, ca.pem, f"a.{POD}")
    assert not result.ok


def test_wildcard_rejects_bare_name(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[WILDCARD])
    result = handshake(leaf, ca.pem, SERVICE)
    assert not result.ok


def test_single_label_wildcard_never_matches(ca: Authority) -> None:
    # The operator's SAN list has entries such as "*.<cluster>-rs0". OpenSSL needs two labels
    # after the star, so such an entry matches no name.
    leaf = make_leaf(ca, dns_names=["*.svc-name"])
    result = handshake(leaf, ca.pem, "pod-0.svc-name")
    assert not result.ok


def test_two_label_wildcard_matches(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=["*.cluster.local"])
    result = handshake(leaf, ca.pem, "svc.cluster.local")
    assert result.ok, result.error


def test_partial_wildcard_never_matches(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[f"pod-*.{SERVICE}"])
    result = handshake(leaf, ca.pem, POD)
    assert not result.ok


def test_hostname_match_ignores_case(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, POD.upper())
    assert result.ok, result.error


def test_ip_san_matches_ip(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, "127.0.0.1")
    assert result.ok, result.error


def test_ipv6_san_matches_ipv6(ca: Authority) -> None:
    leaf = make_leaf(ca, ip_addresses=["::1"])
    result = handshake(leaf, ca.pem, "::1")
    assert result.ok, result.error


def test_dns_san_rejects_ip_address(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=["127.0.0.1"])
    result = handshake(leaf, ca.pem, "127.0.0.1")
    assert not result.ok


def test_common_name_used_without_san(ca: Authority) -> None:
    leaf = make_leaf(ca, common_name="db.example.com")
    result = handshake(leaf, ca.pem, "db.example.com")
    assert result.ok, result.error


def test_common_name_ignored_with_san(ca: Authority) -> None:
    leaf = make_leaf(ca, dns_names=[SERVICE], common_name="db.example.com")
    result = handshake(leaf, ca.pem, "db.example.com")
    assert not result.ok


def test_ed25519_handshake_succeeds() -> None:
    ed_ca = make_ca("Ed25519 CA", algorithm="ed25519")
    leaf = make_leaf(ed_ca, dns_names=[SERVICE], algorithm="ed25519")
    result = handshake(leaf, ed_ca.pem, SERVICE)
    assert result.ok, result.error


def test_p224_handshake_fails() -> None:
    p224_ca = make_ca("P-224 CA", algorithm="p224")
    leaf = make_leaf(p224_ca, dns_names=[SERVICE], algorithm="p224")
    result = handshake(leaf, p224_ca.pem, SERVICE)
    assert not result.ok
    assert "no shared cipher" in (result.server_error or "")


# ---------------------------------------------------------------------------------------
# handshake: client certificates


def test_mutual_tls_succeeds(ca: Authority, member: Identity) -> None:
    client = make_leaf(ca, common_name="client", dns_names=["client"])
    result = handshake(
        member, ca.pem, SERVICE, client=client, server_trust_pem=ca.pem, require_client_cert=True
    )
    assert result.ok, result.error


def test_mutual_tls_reports_client_cert(ca: Authority, member: Identity) -> None:
    client = make_leaf(ca, common_name="client", dns_names=["client"])
    result = handshake(
        member, ca.pem, SERVICE, client=client, server_trust_pem=ca.pem, require_client_cert=True
    )
    assert result.cert_seen_by_server is not None
    assert result.cert_seen_by_server.subject == _subject(client.cert_pem)


def test_mutual_tls_rejects_other_ca(ca: Authority, other_ca: Authority, member: Identity) -> None:
    client = make_leaf(other_ca, common_name="client", dns_names=["client"])
    result = handshake(
        member, ca.pem, SERVICE, client=client, server_trust_pem=ca.pem, require_client_cert=True
    )
    assert not result.ok
    assert "certificate verify failed" in (result.server_error or "")


def test_mutual_tls_rejects_missing_cert(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, SERVICE, server_trust_pem=ca.pem, require_client_cert=True)
    assert not result.ok
    assert "did not return a certificate" in (result.server_error or "")


def test_mutual_tls_rejects_server_only_cert(ca: Authority, member: Identity) -> None:
    client = make_leaf(
        ca, common_name="client", dns_names=["client"], usages=[ExtendedKeyUsageOID.SERVER_AUTH]
    )
    result = handshake(
        member, ca.pem, SERVICE, client=client, server_trust_pem=ca.pem, require_client_cert=True
    )
    assert not result.ok


def test_optional_client_cert_may_be_absent(ca: Authority, member: Identity) -> None:
    result = handshake(member, ca.pem, SERVICE, server_trust_pem=ca.pem)
    assert result.ok, result.error
    assert result.cert_seen_by_server is None


def test_client_cert_needs_server_trust(ca: Authority, member: Identity) -> None:
    with pytest.raises(ValueError, match="needs server_trust_pem"):
        handshake(member, ca.pem, SERVICE, require_client_cert=True)


# ---------------------------------------------------------------------------------------
# handshake: key handling


def test_mismatched_key_raises_value_error(ca: Authority, member: Identity) -> None:
    other = make_leaf(ca, dns_names=[SERVICE])
    with pytest.raises(ValueError, match="server identity") as raised:
        handshake(Identity(member.cert_pem, other.key_pem), ca.pem, SERVICE)
    assert other.key_pem.splitlines()[1] not in str(raised.value)


def test_key_files_are_private(
    ca: Authority, member: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: dict[str, int] = {}
    write_private = tls_checks._write_private

    def recording_write(directory: Path, name: str, text: str) -> str:
        path = write_private(directory, name, text)
        modes[name] = stat.S_IMODE(os.stat(path).st_mode)
        modes["directory"] = stat.S_IMODE(os.stat(directory).st_mode)
        return path

    monkeypatch.setattr(tls_checks, "_write_private", recording_write)
    handshake(member, ca.pem, SERVICE)
    assert modes["server-key.pem"] == 0o600
    assert modes["directory"] == 0o700


def test_key_directory_is_removed(
    ca: Authority, member: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    directories: list[Path] = []
    write_private = tls_checks._write_private

    def recording_write(directory: Path, name: str, text: str) -> str:
        directories.append(directory)
        return write_private(directory, name, text)

    monkeypatch.setattr(tls_checks, "_write_private", recording_write)
    handshake(member, ca.pem, SERVICE)
    assert directories
    assert not directories[0].exists()
