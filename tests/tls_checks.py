"""Certificate checks that use real path validation and real TLS handshakes.

``verify_chain`` validates a leaf certificate against a CA bundle with cryptography's
``x509.verification`` (a web-PKI profile based on RFC 5280 and the CA/Browser Forum
rules). ``handshake`` runs a TLS server and client from Python's ``ssl`` module (OpenSSL)
over 127.0.0.1.

When ``verify_chain`` falls back to OpenSSL: with cryptography 50.0.2 and OpenSSL 3.0.19,
cryptography's profile rejects the following certificates, and OpenSSL's default
verification (without ``X509_V_FLAG_X509_STRICT``) accepts them:

* a CA certificate without the keyUsage extension (2.5.29.15). terraform-provider-tls,
  which pulumi-tls wraps, writes keyUsage only from ``allowed_uses``, so a CA whose
  ``allowed_uses`` lists only extended key usages has none;
* a leaf without authorityKeyIdentifier (2.5.29.35). pulumi-tls leaves have one because
  its CAs always get a subjectKeyIdentifier, but CAs from other tools may lack it;
* a leaf without subjectAltName (2.5.29.17). OpenSSL then matches a host name against the
  subject common name;
* Ed25519 keys and signatures (pulumi-tls ``algorithm="ED25519"``). cryptography's profile
  allows only RSA and ECDSA P-256, P-384 and P-521.

ECDSA P-224, the ``ecdsa_curve`` default of terraform-provider-tls, gets no fallback:
``openssl verify`` accepts such a chain, but a handshake between two OpenSSL 3.0 peers with
default settings fails with "no shared cipher", so cryptography's rejection is final.

Only when cryptography rejects a chain that has one of these properties does
``verify_chain`` repeat the check with OpenSSL. That needs the leaf's private key
(``leaf_key_pem``) because Python's ``ssl`` verifies certificates only during a handshake.
Without the key it raises and names the property. A pulumi-tls CA with
``allowed_uses=["cert_signing", ...]`` and RSA or ECDSA P-256/P-384 keys passes
cryptography's profile, so the fallback does not run for it.

Host name matching in ``handshake``, as confirmed by the tests with Python 3.11 and
OpenSSL 3.0.19:

* A wildcard matches exactly one whole left-most label: ``*.svc-name.ns.svc.cluster.local``
  matches ``pod-0.svc-name.ns.svc.cluster.local`` but neither
  ``svc-name.ns.svc.cluster.local`` nor ``a.pod-0.svc-name.ns.svc.cluster.local``.
* OpenSSL requires at least two labels after the star, so a SAN ``*.local`` matches no
  name such as ``db.local``.
* Partial-label wildcards (``pod-*.svc``) never match, because Python's ``ssl`` sets
  ``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``.
* Matching ignores ASCII case. An IP address matches only an IP SAN, never a DNS SAN that
  spells the same address.
* Without any SAN, Python's ``ssl`` matches the subject common name. A certificate with a
  DNS SAN is never matched by its common name.

``verify_chain`` matches names with cryptography's rules instead. They agree with the
list above except that cryptography 50.0.2 lets ``*.local`` match ``db.local``.

Both helpers check validity periods at the current time. Not covered: MongoDB's own host
name checks (mongod and the drivers may apply rules of their own), revocation (CRLs, OCSP),
and TLS versions below 1.2, which ``handshake`` refuses.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT_SECONDS = 5.0
_CONFIRMATION = b"ok"
# Placeholder subject when verify_chain checks a server leaf that has no SAN and no host
# name was given. The .invalid TLD is reserved (RFC 2606), and no lookup is made.
_NO_NAME_SUBJECT = "no-subject-alt-name.invalid"


class ChainVerificationError(AssertionError):
    """A certificate failed path validation. The message names the check that failed."""


@dataclass(frozen=True)
class Identity:
    """A PEM certificate chain (leaf first) and the leaf's unencrypted PEM private key.

    The key is left out of ``repr`` so that test output never shows it.
    """

    cert_pem: str
    key_pem: str = field(repr=False)


@dataclass(frozen=True)
class HandshakeResult:
    """Outcome of one ``handshake`` call.

    ``ok`` is true only when both sides completed the handshake and the client received the
    server's confirmation, so a client certificate that the server rejects after a TLS 1.3
    handshake still counts as a failure. ``error`` joins ``client_error`` and
    ``server_error``, which hold OpenSSL's error text as raised by ``ssl``.
    """

    ok: bool
    error: str | None
    client_error: str | None
    server_error: str | None
    cert_seen_by_client: x509.Certificate | None
    """Server leaf that the client received, or None when the client's handshake failed."""
    cert_seen_by_server: x509.Certificate | None
    """Client leaf that the server received, or None when the client sent none."""
    tls_version: str | None
    """Negotiated protocol as the client saw it, for example ``"TLSv1.3"``."""


# ---------------------------------------------------------------------------------------
# Path validation


def _load_certificates(pem: str, argument_name: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError as exc:
        raise ValueError(f"{argument_name}: no valid PEM certificate found ({exc})") from None
    return certificates


def _subject_for(hostname: str) -> DNSName | IPAddress:
    try:
        return IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return DNSName(hostname)


def _first_san(leaf: x509.Certificate) -> DNSName | IPAddress:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return DNSName(_NO_NAME_SUBJECT)
    names = san.get_values_for_type(x509.DNSName)
    addresses = san.get_values_for_type(x509.IPAddress)
    if names:
        return DNSName(names[0])
    if addresses:
        return IPAddress(addresses[0])
    return DNSName(_NO_NAME_SUBJECT)


def _has_ed25519_key(certificate: x509.Certificate) -> bool:
    return isinstance(certificate.public_key(), ed25519.Ed25519PublicKey)


def _has_extension(certificate: x509.Certificate, extension: type[x509.ExtensionType]) -> bool:
    try:
        certificate.extensions.get_extension_for_class(extension)
    except x509.ExtensionNotFound:
        return False
    return True


def _profile_only_reasons(leaf: x509.Certificate, candidates: list[x509.Certificate]) -> list[str]:
    """List the properties that cryptography rejects and OpenSSL accepts (module docstring)."""
    reasons: list[str] = []
    if _has_ed25519_key(leaf):
        reasons.append("leaf has an Ed25519 key")
    if not _has_extension(leaf, x509.AuthorityKeyIdentifier):
        reasons.append("leaf has no authorityKeyIdentifier extension (2.5.29.35)")
    if not _has_extension(leaf, x509.SubjectAlternativeName):
        reasons.append("leaf has no subjectAltName extension (2.5.29.17)")
    for issuer in candidates:
        if issuer.subject != leaf.issuer:
            continue
        subject = issuer.subject.rfc4514_string()
        if _has_ed25519_key(issuer):
            reasons.append(f"CA {subject} has an Ed25519 key")
        if not _has_extension(issuer, x509.KeyUsage):
            reasons.append(f"CA {subject} has no keyUsage extension (2.5.29.15)")
    return reasons


def verify_chain(
    leaf_pem: str,
    ca_bundle_pem: str,
    *,
    hostname: str | None = None,
    usage: Literal["server", "client"] = "server",
    leaf_key_pem: str | None = None,
) -> None:
    """Validate ``leaf_pem`` against the CAs in ``ca_bundle_pem``, or raise.

    ``leaf_pem`` is the leaf, optionally followed by untrusted intermediates (as in a
    ``tls.crt``). ``ca_bundle_pem`` contains one or more trusted CAs, as a ``ca.crt`` does
    during a CA rotation. The check runs at the current time.

    With ``usage="server"`` the leaf must allow serverAuth, and it must match ``hostname``
    (a DNS name or an IP address) when one is given. Without ``hostname`` the name is not
    checked. cryptography's name rules differ from OpenSSL's for wildcards with a single
    label after the star (module docstring), so use ``handshake`` to check names the way
    OpenSSL does. With ``usage="client"`` the leaf must allow clientAuth, and ``hostname``
    must be None.

    Raises ChainVerificationError (an AssertionError) when validation fails, and ValueError
    for unparsable PEM or bad arguments. When cryptography rejects the chain only for a
    property that OpenSSL accepts (see the module docstring), the check is repeated with
    OpenSSL through a handshake that presents ``leaf_key_pem``. Without that key the
    function raises. The key never appears in a message.
    """
    if usage not in ("server", "client"):
        raise ValueError(f"invalid usage {usage!r}: expected 'server' or 'client'")
    if usage == "client" and hostname is not None:
        raise ValueError("hostname applies only to usage='server'")
    chain = _load_certificates(leaf_pem, "leaf_pem")
    leaf, intermediates = chain[0], chain[1:]
    trusted = _load_certificates(ca_bundle_pem, "ca_bundle_pem")

    builder = PolicyBuilder().store(Store(trusted))
    try:
        if usage == "server":
            subject = _subject_for(hostname) if hostname is not None else _first_san(leaf)
            builder.build_server_verifier(subject).verify(leaf, intermediates)
        else:
            builder.build_client_verifier().verify(leaf, intermediates)
    except VerificationError as exc:
        crypto_error = str(exc)
    else:
        return

    described = f"{usage} certificate {leaf.subject.rfc4514_string()}"
    reasons = _profile_only_reasons(leaf, [*trusted, *intermediates])
    if not reasons:
        raise ChainVerificationError(f"{described} failed validation: {crypto_error}")
    if leaf_key_pem is None:
        raise ChainVerificationError(
            f"{described} failed cryptography's validation ({crypto_error}). It has "
            f"properties that OpenSSL accepts: {'; '.join(reasons)}. Pass leaf_key_pem "
            "to repeat the check with OpenSSL."
        )
    result = _verify_with_openssl(
        Identity(leaf_pem, leaf_key_pem), ca_bundle_pem, hostname=hostname, usage=usage
    )
    if not result.ok:
        raise ChainVerificationError(
            f"{described} failed validation by cryptography ({crypto_error}) and by "
            f"OpenSSL ({result.error})"
        )


def _verify_with_openssl(
    leaf: Identity, ca_bundle_pem: str, *, hostname: str | None, usage: str
) -> HandshakeResult:
    if usage == "server":
        return _run_handshake(
            leaf,
            ca_bundle_pem,
            hostname,
            check_hostname=hostname is not None,
            client=None,
            server_trust_pem=None,
            require_client_cert=False,
            timeout=DEFAULT_TIMEOUT_SECONDS,
        )
    server, server_ca_pem = _ephemeral_server_identity("localhost")
    return _run_handshake(
        server,
        server_ca_pem,
        "localhost",
        check_hostname=True,
        client=leaf,
        server_trust_pem=ca_bundle_pem,
        require_client_cert=True,
        timeout=DEFAULT_TIMEOUT_SECONDS,
    )


def _ephemeral_server_identity(hostname: str) -> tuple[Identity, str]:
    """Create a throwaway CA and a server identity for ``hostname``; return both, the CA as PEM."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls_checks throwaway CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return Identity(cert_pem, key_pem), ca_pem


# ---------------------------------------------------------------------------------------
# Handshake


def _write_private(directory: Path, name: str, text: str) -> str:
    """Write ``text`` to a new file readable only by the owner and return its path."""
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(text)
    return str(path)


def _reject_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key.
    raise ValueError("encrypted private keys are not supported")


def _load_identity(context: ssl.SSLContext, identity: Identity, directory: Path, role: str) -> None:
    certfile = _write_private(directory, f"{role}-cert.pem", identity.cert_pem)
    keyfile = _write_private(directory, f"{role}-key.pem", identity.key_pem)
    try:
        context.load_cert_chain(certfile, keyfile, password=_reject_password)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(
            f"{role} identity: failed to load the certificate chain and private key "
            f"(invalid PEM, encrypted key, or key that does not match the leaf): {exc}"
        ) from None


def _load_trust(context: ssl.SSLContext, trust_pem: str, role: str) -> None:
    try:
        context.load_verify_locations(cadata=trust_pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(
            f"{role} trust bundle: failed to load the CA certificates: {exc}"
        ) from None


def _build_contexts(
    server: Identity,
    client_trust_pem: str,
    *,
    check_hostname: bool,
    client: Identity | None,
    server_trust_pem: str | None,
    require_client_cert: bool,
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Build the server and client contexts. Key files exist only while this runs."""
    if require_client_cert and server_trust_pem is None:
        raise ValueError("require_client_cert=True needs server_trust_pem")

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.minimum_version = ssl.TLSVersion.TLSv1_2
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.minimum_version = ssl.TLSVersion.TLSv1_2
    client_context.check_hostname = check_hostname
    client_context.verify_mode = ssl.CERT_REQUIRED

    directory = Path(tempfile.mkdtemp(prefix="tls-checks-"))  # mkdtemp uses mode 0700
    try:
        _load_identity(server_context, server, directory, "server")
        if client is not None:
            _load_identity(client_context, client, directory, "client")
    finally:
        shutil.rmtree(directory)

    if server_trust_pem is not None:
        _load_trust(server_context, server_trust_pem, "server")
        server_context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    _load_trust(client_context, client_trust_pem, "client")
    return server_context, client_context


@dataclass
class _ServerOutcome:
    peer_der: bytes | None = None
    error: str | None = None


def _serve_once(
    listener: socket.socket, context: ssl.SSLContext, timeout: float, outcome: _ServerOutcome
) -> None:
    """Accept one connection, complete the handshake and send the confirmation bytes."""
    try:
        listener.settimeout(timeout)
        connection, _ = listener.accept()
        connection.settimeout(timeout)
        with context.wrap_socket(connection, server_side=True) as tls:
            outcome.peer_der = tls.getpeercert(binary_form=True)
            tls.sendall(_CONFIRMATION)
    except OSError as exc:  # ssl.SSLError and TimeoutError are OSErrors
        outcome.error = str(exc)


def _connect(
    port: int, context: ssl.SSLContext, hostname: str | None, timeout: float
) -> tuple[bytes | None, str | None, str | None]:
    """Connect, complete the handshake and read the confirmation.

    Returns the server leaf as DER, the TLS version and the error text, each None if absent.
    """
    peer_der: bytes | None = None
    version: str | None = None
    try:
        with (
            socket.create_connection((LOOPBACK, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            peer_der = tls.getpeercert(binary_form=True)
            version = tls.version()
            # With TLS 1.3 the server checks the client certificate after the client's
            # handshake returns, so a rejection arrives as an alert on this read.
            received = b""
            while len(received) < len(_CONFIRMATION):
                chunk = tls.recv(len(_CONFIRMATION) - len(received))
                if not chunk:
                    break
                received += chunk
        if received != _CONFIRMATION:
            return peer_der, version, "server closed the connection without confirmation"
    except OSError as exc:
        return peer_der, version, str(exc)
    return peer_der, version, None


def _run_handshake(
    server: Identity,
    client_trust_pem: str,
    hostname: str | None,
    *,
    check_hostname: bool,
    client: Identity | None,
    server_trust_pem: str | None,
    require_client_cert: bool,
    timeout: float,
) -> HandshakeResult:
    server_context, client_context = _build_contexts(
        server,
        client_trust_pem,
        check_hostname=check_hostname,
        client=client,
        server_trust_pem=server_trust_pem,
        require_client_cert=require_client_cert,
    )
    outcome = _ServerOutcome()
    with socket.create_server((LOOPBACK, 0)) as listener:
        port = listener.getsockname()[1]
        thread = threading.Thread(
            target=_serve_once,
            args=(listener, server_context, timeout, outcome),
            name="tls-checks-server",
            daemon=True,
        )
        thread.start()
        try:
            peer_der, version, client_error = _connect(port, client_context, hostname, timeout)
        finally:
            thread.join(2 * timeout + 1)
    if thread.is_alive():
        outcome.error = f"server thread did not finish within {2 * timeout + 1:.0f} s"

    errors = [f"client: {client_error}"] if client_error else []
    if outcome.error:
        errors.append(f"server: {outcome.error}")
    return HandshakeResult(
        ok=not errors,
        error="; ".join(errors) or None,
        client_error=client_error,
        server_error=outcome.error,
        cert_seen_by_client=x509.load_der_x509_certificate(peer_der) if peer_der else None,
        cert_seen_by_server=(
            x509.load_der_x509_certificate(outcome.peer_der) if outcome.peer_der else None
        ),
        tls_version=version,
    )


def handshake(
    server: Identity,
    client_trust_pem: str,
    hostname: str,
    *,
    client: Identity | None = None,
    server_trust_pem: str | None = None,
    require_client_cert: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HandshakeResult:
    """Run one TLS handshake between a server and a client on 127.0.0.1 and report it.

    The server presents ``server`` and, when ``server_trust_pem`` is given, requests a
    client certificate and verifies it against those CAs. ``require_client_cert`` makes the
    certificate mandatory and needs ``server_trust_pem``. The client trusts only the CAs in
    ``client_trust_pem``, requires a valid server certificate, checks it against
    ``hostname`` (a DNS name or an IP address) and sends ``hostname`` as SNI, while the TCP
    connection goes to 127.0.0.1. It presents ``client`` when given. Both sides refuse TLS
    versions below 1.2.

    Handshake failures are returned in the result, never raised. ValueError means an
    identity or trust bundle could not be loaded. Each socket operation times out after
    ``timeout`` seconds, and the server thread stops after one connection. Key files live
    in a 0700 temporary folder, with mode 0600, only while the contexts load them.
    """
    return _run_handshake(
        server,
        client_trust_pem,
        hostname,
        check_hostname=True,
        client=client,
        server_trust_pem=server_trust_pem,
        require_client_cert=require_client_cert,
        timeout=timeout,
    )
