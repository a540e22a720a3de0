"""cluster.secrets: TLS Secret names that another Secret of the cluster uses are rejected."""

from __future__ import annotations

import pytest

from components.config import load_settings
from components.config_reader import ConfigError
from components.config_secrets import check_secret_names
from tests.cert_manager_runs import cert_manager_config
from tests.configs import CLUSTER, base_config, with_cluster, with_tls
from tests.harness import ProgramFailed, run_program

SECRETS_KEY = "psmdb-tls:cluster.secrets"
CA_SECRET = f"pulumi-{CLUSTER}-ca"
# Secret names the Percona operator v1.22.0 uses for this cluster.
OPERATOR_SECRETS = [
    f"{CLUSTER}-mongodb-keyfile",
    f"{CLUSTER}-mongodb-encryption-key",
    f"{CLUSTER}-ca-cert",
    f"internal-{CLUSTER}-users",
    "percona-server-mongodb-users",
]
SOURCES = {
    "pulumi": base_config,
    "operator": lambda: with_tls(base_config(), certificateSource="operator"),
    "cert-manager": lambda: cert_manager_config("selfSigned"),
}


def with_secret(config, field, name):
    """Return `config` with cluster.secrets.`field` set to `name`."""
    return with_cluster(config, secrets={field: name})


def check(config):
    """Parse `config` and run the Secret name check on the result."""
    settings = load_settings(config)
    check_secret_names(settings.cluster, settings.tls)


def assert_rejected(config, field, name):
    with pytest.raises(ConfigError) as failure:
        check(config)
    assert failure.value.key == f"{SECRETS_KEY}.{field}"
    assert failure.value.value == name


@pytest.mark.parametrize("field", ["ssl", "sslInternal"])
@pytest.mark.parametrize("issuer", ["selfSigned", "pulumiCa"])
def test_cert_manager_ca_name_rejected(field, issuer):
    assert_rejected(with_secret(cert_manager_config(issuer), field, CA_SECRET), field, CA_SECRET)


@pytest.mark.parametrize("field", ["ssl", "sslInternal"])
@pytest.mark.parametrize("name", OPERATOR_SECRETS)
@pytest.mark.parametrize("source", SOURCES)
def test_operator_secret_name_rejected(field, name, source):
    assert_rejected(with_secret(SOURCES[source](), field, name), field, name)


@pytest.mark.parametrize("spec_field", ["users", "keyFile", "encryptionKey", "vault", "sse"])
def test_spec_secret_name_rejected(spec_field):
    config = with_cluster(
        base_config(),
        secrets={"ssl": "shared-name"},
        spec={"secrets": {spec_field: "shared-name"}},
    )
    assert_rejected(config, "ssl", "shared-name")


@pytest.mark.parametrize("way", ["existing-issuer", "existing-clusterissuer"])
def test_ca_name_free_with_existing_issuer(way):
    # issuer existing creates no CA Secret, so its name is free.
    check(with_secret(cert_manager_config(way), "ssl", CA_SECRET))


@pytest.mark.parametrize("source", ["pulumi", "operator"])
def test_ca_name_free_without_cert_manager(source):
    check(with_secret(SOURCES[source](), "ssl", CA_SECRET))


def test_default_names_accepted():
    for make_config in SOURCES.values():
        check(make_config())


def test_error_suggests_default():
    with pytest.raises(ConfigError) as failure:
        check(with_secret(cert_manager_config("pulumiCa"), "ssl", CA_SECRET))
    message = str(failure.value)
    assert "CA Secret this program creates" in message
    assert f"such as the default {CLUSTER}-ssl" in message


# Through the program: the check runs before any resource is registered.


@pytest.mark.parametrize("issuer", ["selfSigned", "pulumiCa"])
def test_program_rejects_ca_collision(issuer):
    config = with_secret(cert_manager_config(issuer), "sslInternal", CA_SECRET)
    with pytest.raises(ProgramFailed) as failure:
        run_program(config)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == f"{SECRETS_KEY}.sslInternal"
    assert failure.value.run.resources == []


def test_program_rejects_operator_name():
    config = with_secret(base_config(), "ssl", f"{CLUSTER}-mongodb-keyfile")
    with pytest.raises(ProgramFailed) as failure:
        run_program(config)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == f"{SECRETS_KEY}.ssl"
    assert failure.value.run.resources == []
