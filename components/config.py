"""Stack config: `psmdb-tls:cluster` and `psmdb-tls:tls`, parsed once into frozen objects.

`load_settings` validates everything before the program registers a single resource. The
objects and constants live in config_model, the cluster parsing in config_cluster; this
module re-exports them so callers need one import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config_cert_manager import parse_cert_manager
from components.config_cluster import parse_cluster
from components.config_model import (
    CERTIFICATE_SOURCES,
    CLUSTER_KEY,
    CONFIG_SERVER_NAME,
    DNS_MODES,
    KEY_ALGORITHMS,
    MAX_VALIDITY_HOURS,
    PROJECT,
    TLS_KEY,
    TLS_MODES,
    ClusterConfig,
    ReplsetConfig,
    Settings,
    ShardingConfig,
    TlsConfig,
)
from components.config_reader import (
    ConfigError,
    Section,
    require_dns_name,
    require_ip_address,
)
from components.config_replsets import split_host_port
from components.config_secrets import check_secret_names
from components.lifecycle import parse_ca_rotation, parse_rotation

__all__ = [
    "CERTIFICATE_SOURCES",
    "CLUSTER_KEY",
    "CONFIG_SERVER_NAME",
    "DNS_MODES",
    "KEY_ALGORITHMS",
    "PROJECT",
    "TLS_KEY",
    "TLS_MODES",
    "ClusterConfig",
    "ConfigError",
    "ReplsetConfig",
    "Settings",
    "ShardingConfig",
    "TlsConfig",
    "load_settings",
    "parse_cluster",
    "parse_tls",
    "split_host_port",
]


def load_settings(values: Mapping[str, Any]) -> Settings:
    """Parse and validate the project's structured config keys.

    `values` maps the full key (`psmdb-tls:cluster`, `psmdb-tls:tls`) to the decoded object.
    Raises ConfigError on the first invalid value.
    """
    if values.get(CLUSTER_KEY) is None:
        raise ConfigError(
            CLUSTER_KEY,
            None,
            "this key is required: set at least name, namespace, crVersion, image and replsets.",
        )
    cluster = parse_cluster(Section(CLUSTER_KEY, values[CLUSTER_KEY]))
    tls = parse_tls(Section(TLS_KEY, values.get(TLS_KEY) or {}))
    check_secret_names(cluster, tls)
    return Settings(cluster=cluster, tls=tls)


# Keys that describe certificates this program makes, meaningless with source operator.
OPERATOR_IGNORED_KEYS = (
    "keyAlgorithm",
    "caValidityHours",
    "certValidityHours",
    "earlyRenewalHours",
    "organization",
)


def parse_tls(section: Section) -> TlsConfig:
    mode = section.string("mode", "preferTLS", TLS_MODES)
    source = section.string("certificateSource", "pulumi", CERTIFICATE_SOURCES)
    # The operator's self-signed certificates lack names clients dial, so its default stays true.
    allow_invalid = section.boolean("allowInvalidCertificates", source == "operator")
    key_algorithm = section.string("keyAlgorithm", "RSA-2048", tuple(KEY_ALGORITHMS))
    ca_hours = section.integer("caValidityHours", 87600, minimum=1, maximum=MAX_VALIDITY_HOURS)
    cert_hours = section.integer("certValidityHours", 8760, minimum=1, maximum=MAX_VALIDITY_HOURS)
    renewal_hours = section.integer("earlyRenewalHours", 720, minimum=0, maximum=MAX_VALIDITY_HOURS)
    if cert_hours <= renewal_hours:
        raise ConfigError(
            section.path("certValidityHours"),
            cert_hours,
            f"It must be longer than earlyRenewalHours ({renewal_hours}), or every run would "
            "re-issue the member certificates.",
        )
    if cert_hours > ca_hours:
        raise ConfigError(
            section.path("certValidityHours"),
            cert_hours,
            f"A member certificate cannot outlive its CA: at most caValidityHours ({ca_hours}).",
        )
    organization = section.string("organization", "PSMDB")
    if not organization.strip():
        # MongoDB x509 member authentication needs a non-empty O, OU or DC in member subjects.
        raise ConfigError(section.path("organization"), organization, "Expected a non-empty name.")

    dns_names = tuple(
        require_dns_name(f"{section.path('extraDnsNames')}[{index}]", name).lower()
        for index, name in enumerate(section.sequence("extraDnsNames", []))
    )
    ip_addresses = tuple(
        require_ip_address(f"{section.path('extraIpAddresses')}[{index}]", address)
        for index, address in enumerate(section.sequence("extraIpAddresses", []))
    )
    if source == "operator":
        for name, values in (("extraDnsNames", dns_names), ("extraIpAddresses", ip_addresses)):
            if values:
                raise ConfigError(
                    section.path(name),
                    list(values),
                    "The operator's own certificates cannot carry extra names; use "
                    "certificateSource: pulumi.",
                )
        # The operator makes RSA-2048 certificates with O=PSMDB that never expire, whatever
        # these keys contain, so a value here would be silently ignored.
        for name in OPERATOR_IGNORED_KEYS:
            if section.has(name):
                raise ConfigError(
                    section.path(name),
                    section.raw(name),
                    "The operator makes its own certificates and ignores this key; remove it, or "
                    "use certificateSource pulumi or cert-manager.",
                )
    rotation = parse_rotation(section.section("rotation", {}))
    ca_rotation = parse_ca_rotation(section.section("caRotation", {}))
    if ca_rotation.generation > 1 and source != "pulumi":
        raise ConfigError(
            section.path("caRotation"),
            {"generation": ca_rotation.generation, "phase": ca_rotation.phase},
            "CA rotation in phases applies to the CA this program makes: certificateSource pulumi.",
        )
    if rotation.certificates and source != "pulumi":
        raise ConfigError(
            section.path("rotation.certificates"),
            rotation.certificates,
            "Re-issuing on demand applies to certificates this program makes: certificateSource "
            "pulumi. cert-manager renews by itself (cmctl renew forces it); the operator never "
            "renews its own.",
        )
    cert_manager = parse_cert_manager(
        section, source, ca_validity_hours=ca_hours, early_renewal_hours=renewal_hours
    )
    section.finish()
    return TlsConfig(
        mode=mode,
        certificate_source=source,
        allow_invalid_certificates=allow_invalid,
        key_algorithm=key_algorithm,
        ca_validity_hours=ca_hours,
        cert_validity_hours=cert_hours,
        early_renewal_hours=renewal_hours,
        organization=organization,
        extra_dns_names=dns_names,
        extra_ip_addresses=ip_addresses,
        rotation=rotation,
        ca_rotation=ca_rotation,
        cert_manager=cert_manager,
    )
