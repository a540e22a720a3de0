"""Checks of the TLS Secret names (`cluster.secrets.ssl`, `sslInternal`) against other Secrets.

Secret names are unique within a namespace. A TLS Secret named like a Secret of the operator
or of cert-manager would be overwritten by that owner, and one named like a Secret this program
creates would be registered twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config_cert_manager import ISSUERS_WITH_CA_SECRET, ca_secret_name
from components.config_model import CLUSTER_KEY, ClusterConfig, TlsConfig
from components.config_reader import ConfigError

# Fields of spec.secrets (PerconaServerMongoDB CRD v1) that name a Secret other than the two
# TLS Secrets. cluster.spec passes them through to the resource.
OTHER_SPEC_SECRET_FIELDS = ("users", "keyFile", "encryptionKey", "vault", "sse", "ldapSecret")
# spec.secrets.users when unset (Percona operator v1.22.0, psmdb_defaults.go).
DEFAULT_USERS_SECRET = "percona-server-mongodb-users"


def reserved_secret_names(cluster: ClusterConfig, tls: TlsConfig) -> dict[str, str]:
    """Return the Secret names the TLS Secrets must not take, each with what uses it."""
    name = cluster.name
    # Secrets the Percona operator v1.22.0 creates or reads for this cluster (psmdb_defaults.go,
    # psmdb_types.go, pkg/psmdb/tls). Default names stay reserved when spec.secrets renames
    # them, so removing that rename later cannot make them collide.
    reserved = {
        f"{name}-mongodb-keyfile": "the operator's keyFile Secret (default of spec.secrets.keyFile)",
        f"{name}-mongodb-encryption-key": (
            "the operator's encryption key Secret (default of spec.secrets.encryptionKey)"
        ),
        f"{name}-ca-cert": "the Secret of the CA the operator makes for its own certificates",
        f"internal-{name}-users": "the operator's internal copy of the system users Secret",
        DEFAULT_USERS_SECRET: "the operator's system users Secret (default of spec.secrets.users)",
    }
    spec_secrets = cluster.spec_overrides.get("secrets")
    if isinstance(spec_secrets, Mapping):
        for field in OTHER_SPEC_SECRET_FIELDS:
            secret_name = spec_secrets.get(field)
            if isinstance(secret_name, str) and secret_name:
                reserved[secret_name] = f"the Secret set in cluster.spec.secrets.{field}"
    cert_manager = tls.cert_manager
    if cert_manager is not None and cert_manager.issuer in ISSUERS_WITH_CA_SECRET:
        reserved[ca_secret_name(name)] = (
            f"the CA Secret this program creates for tls.certManager.issuer {cert_manager.issuer}"
        )
    return reserved


def check_secret_names(cluster: ClusterConfig, tls: TlsConfig) -> None:
    """Reject a `secrets.ssl` or `secrets.sslInternal` that names a reserved Secret.

    Raises ConfigError. Call it after both keys are parsed and before any resource is registered.
    """
    reserved = reserved_secret_names(cluster, tls)
    defaults = {"ssl": f"{cluster.name}-ssl", "sslInternal": f"{cluster.name}-ssl-internal"}
    for field, secret_name in (
        ("ssl", cluster.ssl_secret_name),
        ("sslInternal", cluster.ssl_internal_secret_name),
    ):
        owner = reserved.get(secret_name)
        if owner is None:
            continue
        suggestion = ""
        if defaults[field] not in reserved:
            suggestion = f", such as the default {defaults[field]}"
        raise ConfigError(
            f"{CLUSTER_KEY}.secrets.{field}",
            secret_name,
            f"This is the name of {owner}, and two Secrets cannot share a name in one "
            f"namespace. Choose another name{suggestion}.",
        )
