"""The PerconaServerMongoDB custom resource, built from the parsed settings."""

from __future__ import annotations

from typing import Any

from components.cert_manager import member_issuer_reference
from components.config import Settings
from components.config_cert_manager import hours
from components.frozen import deep_merge, thaw

API_VERSION = "psmdb.percona.com/v1"
KIND = "PerconaServerMongoDB"
# The operator sets this annotation on the CR while it restarts mongos first after a CA change
# (crVersion 1.22.0), and removes it afterwards: it must never show as drift.
OPERATOR_ANNOTATIONS = ("percona.com/update-mongos-first",)


def build_spec(settings: Settings) -> dict[str, Any]:
    """Return the CR spec: typed settings first, then `cluster.spec` deep-merged over them."""
    cluster = settings.cluster
    tls = settings.tls
    tls_spec: dict[str, Any] = {
        "mode": tls.mode,
        "allowInvalidCertificates": tls.allow_invalid_certificates,
    }
    # From crVersion 1.23.0, userProvidedOnly stops the operator from making certificates of its
    # own, so a Secret that goes missing stops the cluster instead of switching it to a new CA.
    if tls.certificate_source != "operator" and cluster.cr_version_at_least("1.23.0"):
        tls_spec["certManagementPolicy"] = "userProvidedOnly"
    if tls.cert_manager is not None:
        tls_spec.update(_cert_manager_tls_fields(settings))
    spec: dict[str, Any] = {
        "crVersion": cluster.cr_version,
        "image": cluster.image,
        "clusterServiceDNSSuffix": cluster.dns_suffix,
        "clusterServiceDNSMode": cluster.dns_mode,
        "multiCluster": {
            "enabled": cluster.multi_cluster_enabled,
            "DNSSuffix": cluster.multi_cluster_dns_suffix,
        },
        "replsets": [thaw(replset.spec) for replset in cluster.replsets],
        "sharding": thaw(cluster.sharding.spec),
        "secrets": {
            "ssl": cluster.ssl_secret_name,
            "sslInternal": cluster.ssl_internal_secret_name,
        },
        "tls": tls_spec,
        # The operator refuses mode disabled unless this flag is set, and the flag stays off
        # for every TLS mode.
        "unsafeFlags": {"tls": tls.mode == "disabled"},
        "pause": cluster.pause,
    }
    return deep_merge(spec, cluster.spec_overrides)


def _cert_manager_tls_fields(settings: Settings) -> dict[str, Any]:
    """Return the spec.tls fields that describe certificates issued by cert-manager."""
    fields: dict[str, Any] = {"certValidityDuration": hours(settings.tls.cert_validity_hours)}
    # issuerConf names the issuer of the member certificates. Operator 1.22.0 would create a
    # namespaced CA Issuer of that name and keep overwriting it, so the field is set only from
    # crVersion 1.23.0, where the operator uses a given issuer as it is.
    if settings.cluster.cr_version_at_least("1.23.0"):
        fields["issuerConf"] = member_issuer_reference(settings).to_spec()
    return fields
