"""The real program under the emulated engine: certificates checked by real TLS, Secrets, CR."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from cryptography import x509

from tests.configs import (
    CLUSTER,
    NAMESPACE,
    TOPOLOGIES,
    base_config,
    replset,
    with_cluster,
    with_tls,
)
from tests.crd_schemas import requires_schemas, validate_custom_resource
from tests.harness import REPO_ROOT, ProgramRun, load_stack_config, run_program
from tests.program_views import (
    CUSTOM_RESOURCE,
    LOCALLY_SIGNED,
    PRIVATE_KEY,
    SECRET,
    SELF_SIGNED,
    custom_resource,
    custom_resource_object,
    organization,
    san_dns_names,
    tls_secret,
)
from tests.property_values import contains_secret
from tests.tls_checks import handshake, verify_chain

SSL = f"{CLUSTER}-ssl"
SSL_INTERNAL = f"{CLUSTER}-ssl-internal"
MODES = ("allowTLS", "preferTLS", "requireTLS", "disabled")
SOURCES = ("pulumi", "operator")


@cache
def run_cached(config_json: str) -> ProgramRun:
    return run_program(json.loads(config_json))


def run_config(config: dict[str, Any]) -> ProgramRun:
    """Run the program once per distinct config; the runs are read-only, so they are shared."""
    return run_cached(json.dumps(config, sort_keys=True))


def topology_config(topology: str, mode: str = "preferTLS", source: str = "pulumi") -> dict:
    return TOPOLOGIES[topology](base_config(mode=mode, certificateSource=source))


def dialed_names(config: dict[str, Any]) -> list[str]:
    """Return the host names clients and members dial for a topology, derived from the config.

    Written from the operator's naming rules independently of components/sans.py: pods of
    replset R are `<cluster>-R-<i>` behind the headless Service `<cluster>-R`.
    """
    cluster = config["psmdb-tls:cluster"]
    suffix = cluster.get("clusterServiceDNSSuffix", "svc.cluster.local")
    mesh = cluster.get("clusterServiceDNSMode") == "ServiceMesh"
    replsets = list(cluster["replsets"])
    sharding = cluster.get("sharding") or {}
    if sharding.get("enabled"):
        replsets.append({"name": "cfg", **sharding["configsvrReplSet"]})
    names = ["localhost"]
    for entry in replsets:
        service = f"{CLUSTER}-{entry['name']}"
        names += [service, f"{service}.{NAMESPACE}", f"{service}.{NAMESPACE}.{suffix}"]
        for index in range(entry["size"]):
            pod = f"{service}-{index}"
            # Internal mode addresses members through the headless Service, ServiceMesh mode
            # directly in the namespace.
            names.append(
                f"{pod}.{NAMESPACE}.{suffix}" if mesh else f"{pod}.{service}.{NAMESPACE}.{suffix}"
            )
            if (entry.get("expose") or {}).get("enabled"):
                names += [pod, f"{pod}.{NAMESPACE}.{suffix}"]
        for horizons in (entry.get("splitHorizons") or {}).values():
            names += [address.split(":")[0] for address in horizons.values()]
    if sharding.get("enabled"):
        service = f"{CLUSTER}-mongos"
        names += [service, f"{service}.{NAMESPACE}", f"{service}.{NAMESPACE}.{suffix}"]
    return names


@pytest.fixture(scope="module")
def dev_run() -> ProgramRun:
    return run_program(load_stack_config(REPO_ROOT / "Pulumi.dev.yaml"))


# --- The dev stack file, run as it is -------------------------------------------------------


def test_dev_stack_registers_everything(dev_run):
    assert len(dev_run.find_all(PRIVATE_KEY)) == 3
    assert len(dev_run.find_all(SELF_SIGNED)) == 1
    assert len(dev_run.find_all(LOCALLY_SIGNED)) == 2
    assert len(dev_run.find_all(SECRET)) == 2
    assert custom_resource(dev_run).inputs["spec"]["tls"]["mode"] == "preferTLS"


def test_dev_stack_outputs(dev_run):
    outputs = dev_run.stack_outputs
    assert outputs["tlsMode"] == "preferTLS"
    assert outputs["sslSecretName"] == SSL
    assert outputs["sslInternalSecretName"] == SSL_INTERNAL
    assert outputs["caCertificatePem"] == tls_secret(dev_run, SSL).ca_bundle_pem
    assert set(outputs["certificateNotAfter"]) == {"ca", "ssl", "sslInternal"}


def test_dev_stack_fingerprint_matches_ca(dev_run):
    from cryptography.hazmat.primitives import hashes

    ca = x509.load_pem_x509_certificate(dev_run.stack_outputs["caCertificatePem"].encode())
    expected = ca.fingerprint(hashes.SHA256()).hex().upper()
    assert dev_run.stack_outputs["caFingerprintSha256"].replace(":", "") == expected


def test_dev_stack_not_after_matches_certificates(dev_run):
    not_after = dev_run.stack_outputs["certificateNotAfter"]
    leaf = tls_secret(dev_run, SSL).certificate
    assert not_after["ssl"].startswith(leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S"))


@requires_schemas
def test_dev_stack_cr_matches_crd(dev_run):
    assert validate_custom_resource(custom_resource_object(dev_run)) == []


# --- Certificates -----------------------------------------------------------------------------


def test_ca_is_a_ca(dev_run):
    ca = x509.load_pem_x509_certificate(tls_secret(dev_run, SSL).ca_bundle_pem.encode())
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.value.ca is True
    assert constraints.critical is True
    assert usage.key_cert_sign is True
    assert organization(ca.subject) == ["PSMDB"]


def test_ca_resources_protected(dev_run):
    key = dev_run.find(PRIVATE_KEY, f"{CLUSTER}-ca-key")
    certificate = dev_run.find(SELF_SIGNED, f"{CLUSTER}-ca-cert")
    assert key.options.protect is True
    assert certificate.options.protect is True


@pytest.mark.parametrize("secret_name", [SSL, SSL_INTERNAL])
def test_member_certificate_contents(dev_run, secret_name):
    leaf = tls_secret(dev_run, secret_name).certificate
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert organization(leaf.subject) == ["PSMDB"]
    assert usage.digital_signature is True
    assert usage.key_encipherment is True
    assert x509.ExtendedKeyUsageOID.SERVER_AUTH in extended
    assert x509.ExtendedKeyUsageOID.CLIENT_AUTH in extended
    assert san_dns_names(leaf) == dev_run.stack_outputs["dnsNames"]


@pytest.mark.parametrize("secret_name", [SSL, SSL_INTERNAL])
def test_leaf_validates_to_ca_bundle(dev_run, secret_name):
    secret = tls_secret(dev_run, secret_name)
    verify_chain(secret.cert_pem, secret.ca_bundle_pem, hostname=f"{CLUSTER}-rs0.{NAMESPACE}")
    verify_chain(secret.cert_pem, secret.ca_bundle_pem, usage="client")


def test_member_keys_differ(dev_run):
    assert tls_secret(dev_run, SSL).key_digest != tls_secret(dev_run, SSL_INTERNAL).key_digest


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_external_certificate_serves_every_name(topology):
    config = topology_config(topology)
    run = run_config(config)
    secret = tls_secret(run, SSL)
    failures = []
    for name in dialed_names(config):
        result = handshake(secret.identity, secret.ca_bundle_pem, name)
        if not result.ok:
            failures.append(f"{name}: {result.error}")
    assert failures == []


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_member_mutual_tls_internal(topology):
    config = topology_config(topology)
    run = run_config(config)
    internal = tls_secret(run, SSL_INTERNAL)
    member = dialed_names(config)[4]
    result = handshake(
        internal.identity,
        internal.ca_bundle_pem,
        member,
        client=internal.identity,
        server_trust_pem=internal.ca_bundle_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error
    assert result.cert_seen_by_server is not None


def test_external_certificate_as_client(dev_run):
    # The operator's probes and agents present the external certificate to mongod.
    external = tls_secret(dev_run, SSL)
    result = handshake(
        external.identity,
        external.ca_bundle_pem,
        f"{CLUSTER}-rs0-0.{CLUSTER}-rs0.{NAMESPACE}.svc.cluster.local",
        client=external.identity,
        server_trust_pem=external.ca_bundle_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error


@pytest.mark.parametrize(
    "name",
    [
        "mongo.evil.example",
        f"{CLUSTER}-rs0-0.{CLUSTER}-rs0.other-namespace.svc.cluster.local",
        f"{CLUSTER}-rs9.{NAMESPACE}.svc.cluster.local",
    ],
)
def test_name_outside_sans_rejected(dev_run, name):
    secret = tls_secret(dev_run, SSL)
    result = handshake(secret.identity, secret.ca_bundle_pem, name)
    assert result.ok is False
    assert "certificate verify failed" in (result.client_error or "")


def test_client_from_other_ca_rejected(dev_run):
    internal = tls_secret(dev_run, SSL_INTERNAL)
    other_run = run_config(with_cluster(base_config(), name="other-cluster"))
    stranger = tls_secret(other_run, "other-cluster-ssl-internal")
    result = handshake(
        internal.identity,
        internal.ca_bundle_pem,
        f"{CLUSTER}-rs0.{NAMESPACE}",
        client=stranger.identity,
        server_trust_pem=internal.ca_bundle_pem,
        require_client_cert=True,
    )
    assert result.ok is False


@pytest.mark.parametrize("key_algorithm", ["RSA-3072", "ECDSA-P256", "ECDSA-P384"])
def test_key_algorithms_handshake(key_algorithm):
    run = run_config(base_config(keyAlgorithm=key_algorithm))
    secret = tls_secret(run, SSL_INTERNAL)
    result = handshake(
        secret.identity,
        secret.ca_bundle_pem,
        f"{CLUSTER}-rs0.{NAMESPACE}.svc.cluster.local",
        client=secret.identity,
        server_trust_pem=secret.ca_bundle_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error


def test_extra_names_served():
    config = with_tls(
        base_config(), extraDnsNames=["mongo.example.com"], extraIpAddresses=["127.0.0.1"]
    )
    run = run_config(config)
    secret = tls_secret(run, SSL)
    assert handshake(secret.identity, secret.ca_bundle_pem, "mongo.example.com").ok
    assert handshake(secret.identity, secret.ca_bundle_pem, "127.0.0.1").ok


# --- Secrets and private keys -----------------------------------------------------------------


@pytest.mark.parametrize("secret_name", [SSL, SSL_INTERNAL])
def test_secret_format(dev_run, secret_name):
    secret = next(
        s for s in dev_run.find_all(SECRET) if s.inputs["metadata"]["name"] == secret_name
    )
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert sorted(secret.inputs["stringData"]) == ["ca.crt", "tls.crt", "tls.key"]
    assert secret.inputs["metadata"]["namespace"] == NAMESPACE
    assert "ownerReferences" not in secret.inputs["metadata"]
    assert secret.is_secret("stringData", "tls.key") is True


def test_private_keys_only_as_secrets(dev_run):
    for resource in dev_run.resources:
        for values, name in ((resource.raw_inputs, "inputs"), (resource.raw_outputs, "outputs")):
            # A boolean, so that a failure names the resource without printing the key.
            leaked = "PRIVATE KEY" in json.dumps(_strip_secrets(values))
            assert not leaked, f"{resource.name} {name}"


def test_no_key_in_stack_outputs(dev_run):
    leaked = "PRIVATE KEY" in json.dumps(dev_run.stack_outputs)
    assert not leaked
    assert dev_run.secret_stack_outputs == set()


def test_private_key_outputs_secret(dev_run):
    for key in dev_run.find_all(PRIVATE_KEY):
        assert key.is_output_secret("privateKeyPem") is True, key.name


def _strip_secrets(value: Any) -> Any:
    """Return `value` with every secret-wrapped part removed."""
    if contains_secret(value) and not isinstance(value, (dict, list)):
        return None
    if isinstance(value, dict):
        if contains_secret(value) and set(value) >= {"value"} and len(value) == 2:
            return None
        return {key: _strip_secrets(item) for key, item in value.items() if not _is_wrapped(item)}
    if isinstance(value, list):
        return [_strip_secrets(item) for item in value if not _is_wrapped(item)]
    return value


def _is_wrapped(value: Any) -> bool:
    from pulumi.runtime.rpc import is_rpc_secret

    return is_rpc_secret(value)


# --- The custom resource ----------------------------------------------------------------------


def test_cr_depends_on_secrets(dev_run):
    secrets = {secret.urn for secret in dev_run.find_all(SECRET)}
    assert secrets <= set(custom_resource(dev_run).dependencies)


def test_cr_ignores_operator_annotation(dev_run):
    ignored = custom_resource(dev_run).options.ignore_changes
    assert 'metadata.annotations["percona.com/update-mongos-first"]' in ignored


def test_cr_sets_cr_version(dev_run):
    assert custom_resource(dev_run).inputs["spec"]["crVersion"] == "1.22.0"


def test_cr_version_1_23_uses_user_provided_only():
    run = run_config(with_cluster(base_config(), crVersion="1.23.0"))
    assert custom_resource(run).inputs["spec"]["tls"]["certManagementPolicy"] == "userProvidedOnly"


def test_cr_version_1_22_has_no_policy(dev_run):
    assert "certManagementPolicy" not in custom_resource(dev_run).inputs["spec"]["tls"]


def test_spec_passthrough_merged_last():
    config = with_cluster(
        base_config(), spec={"secrets": {"users": "my-users"}, "unsafeFlags": {"replsetSize": True}}
    )
    spec = custom_resource(run_config(config)).inputs["spec"]
    assert spec["secrets"] == {"ssl": SSL, "sslInternal": SSL_INTERNAL, "users": "my-users"}
    assert spec["unsafeFlags"] == {"tls": False, "replsetSize": True}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_cr_table(topology, mode, source):
    run = run_config(topology_config(topology, mode, source))
    spec = custom_resource(run).inputs["spec"]
    assert spec["tls"]["mode"] == mode
    assert spec["unsafeFlags"]["tls"] is (mode == "disabled")
    assert spec["tls"]["allowInvalidCertificates"] is (source == "operator")
    assert spec["secrets"] == {"ssl": SSL, "sslInternal": SSL_INTERNAL}
    pulumi_made = source == "pulumi"
    assert len(run.find_all(SECRET)) == (2 if pulumi_made else 0)
    assert len(run.find_all(SELF_SIGNED)) == (1 if pulumi_made else 0)


@requires_schemas
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_cr_validates_against_crd(topology, mode, source):
    run = run_config(topology_config(topology, mode, source))
    assert validate_custom_resource(custom_resource_object(run)) == []


def test_disabled_mode_keeps_ca_and_secrets():
    enabled = run_config(base_config())
    disabled = run_config(base_config(mode="disabled"))
    assert [r.name for r in disabled.find_all(SELF_SIGNED)] == [
        r.name for r in enabled.find_all(SELF_SIGNED)
    ]
    assert len(disabled.find_all(SECRET)) == 2


def test_operator_source_has_no_certificates():
    run = run_config(base_config(certificateSource="operator"))
    types = {resource.type for resource in run.resources}
    assert not any(type_.startswith("tls:") for type_ in types)
    assert CUSTOM_RESOURCE in types
    assert "caCertificatePem" not in run.stack_outputs


def test_children_parented_to_component(dev_run):
    component = dev_run.find("psmdb-tls:index:PsmdbTls")
    for resource in dev_run.find_all(SECRET) + [custom_resource(dev_run)]:
        assert resource.parent == component.urn, resource.name


def test_runs_leave_config_untouched():
    config = base_config()
    snapshot = copy.deepcopy(config)
    run_config(config)
    assert config == snapshot


@pytest.mark.parametrize("dns_mode", ["ServiceMesh", "Internal"])
def test_extra_member_pods_served(dns_mode):
    members = replset(
        "rs0",
        4,
        arbiter={"enabled": True, "size": 1},
        nonvoting={"enabled": True, "size": 2},
        hidden={"enabled": True, "size": 1},
        expose={"enabled": dns_mode == "Internal"},
    )
    config = with_cluster(base_config(), clusterServiceDNSMode=dns_mode, replsets=[members])
    secret = tls_secret(run_config(config), SSL_INTERNAL)
    prefix = f"{CLUSTER}-rs0"
    for pod in (f"{prefix}-arbiter-0", f"{prefix}-nv-1", f"{prefix}-hidden-0", f"{prefix}-3"):
        name = f"{pod}.{NAMESPACE}.svc.cluster.local"
        result = handshake(secret.identity, secret.ca_bundle_pem, name)
        assert result.ok, f"{name}: {result.error}"
