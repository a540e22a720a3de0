"""psmdb-tls:tls.certManager: how it is parsed, and the invalid combinations it rejects."""

from __future__ import annotations

import pytest

from components.config import load_settings
from components.config_reader import ConfigError
from tests.cert_manager_runs import EXISTING_CLUSTER_ISSUER, EXISTING_ISSUER, cert_manager_config
from tests.configs import base_config, with_tls
from tests.harness import ProgramFailed, run_program


def test_cert_manager_validates_by_default():
    settings = load_settings(cert_manager_config())
    assert settings.tls.allow_invalid_certificates is False


def test_self_signed_is_default_issuer():
    config = with_tls(base_config(), certificateSource="cert-manager")
    cert_manager = load_settings(config).tls.cert_manager
    assert cert_manager.issuer == "selfSigned"
    assert cert_manager.ca_renew_before_hours == 730


def test_no_cert_manager_for_pulumi():
    assert load_settings(base_config()).tls.cert_manager is None


# Invalid combinations: each names the key and value and registers no resource.

T = "psmdb-tls:tls"
CM = f"{T}.certManager"
SHORT_LIVED = {"caValidityHours": 730, "certValidityHours": 500, "earlyRenewalHours": 100}
INVALID_CASES = [
    (
        "issuerRef with selfSigned",
        {"certManager": {"issuer": "selfSigned", "issuerRef": EXISTING_ISSUER}},
        f"{CM}.issuerRef",
        "corporate-ca",
    ),
    (
        "issuerRef with pulumiCa",
        {"certManager": {"issuer": "pulumiCa", "issuerRef": EXISTING_ISSUER}},
        f"{CM}.issuerRef",
        "corporate-ca",
    ),
    (
        "existing without issuerRef",
        {"certManager": {"issuer": "existing"}},
        f"{CM}.issuerRef",
        "null",
    ),
    (
        "bad issuerRef kind",
        {"certManager": {"issuer": "existing", "issuerRef": {"name": "ca", "kind": "Issuers"}}},
        f"{CM}.issuerRef.kind",
        "Issuers",
    ),
    (
        "issuerRef without name",
        {"certManager": {"issuer": "existing", "issuerRef": {"kind": "Issuer"}}},
        f"{CM}.issuerRef.name",
        "required",
    ),
    (
        "issuerRef name invalid",
        {"certManager": {"issuer": "existing", "issuerRef": {"name": "Corp_CA"}}},
        f"{CM}.issuerRef.name",
        "Corp_CA",
    ),
    ("issuer typo", {"certManager": {"issuer": "selfsigned"}}, f"{CM}.issuer", "selfsigned"),
    ("unknown key", {"certManager": {"isuer": "pulumiCa"}}, f"{CM}.isuer", "pulumiCa"),
    (
        "certManager with pulumi",
        {"certificateSource": "pulumi", "certManager": {"issuer": "selfSigned"}},
        CM,
        "selfSigned",
    ),
    (
        "certManager with operator",
        {"certificateSource": "operator", "certManager": {}},
        CM,
        "{}",
    ),
    (
        "ca duration equals renewal",
        {**SHORT_LIVED, "certManager": {"issuer": "selfSigned"}},
        f"{CM}.caRenewBeforeHours",
        "730",
    ),
    (
        "ca duration inside renewal",
        {"certManager": {"issuer": "selfSigned", "caRenewBeforeHours": 90000}},
        f"{CM}.caRenewBeforeHours",
        "90000",
    ),
    (
        "ca renewal with pulumiCa",
        {"certManager": {"issuer": "pulumiCa", "caRenewBeforeHours": 100}},
        f"{CM}.caRenewBeforeHours",
        "100",
    ),
    (
        "member renewal zero",
        {"earlyRenewalHours": 0, "certManager": {"issuer": "selfSigned"}},
        f"{T}.earlyRenewalHours",
        "0",
    ),
]


@pytest.mark.parametrize(
    ("tls", "key", "shown"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_cert_manager_rejected(tls, key, shown):
    config = with_tls(base_config(), **{"certificateSource": "cert-manager", **tls})
    with pytest.raises(ProgramFailed) as failure:
        run_program(config)
    error = failure.value.error
    assert isinstance(error, ConfigError)
    assert error.key == key
    assert shown in str(error)
    assert failure.value.run.resources == []


def test_existing_issuer_kind_defaults_to_issuer():
    config = cert_manager_config("existing-issuer")
    config["psmdb-tls:tls"]["certManager"]["issuerRef"] = {"name": "corporate-ca"}
    reference = load_settings(config).tls.cert_manager.issuer_ref
    assert reference.kind == "Issuer"
    assert reference.group == "cert-manager.io"


def test_cluster_issuer_reference_parsed():
    reference = load_settings(
        cert_manager_config("existing-clusterissuer")
    ).tls.cert_manager.issuer_ref
    assert reference.kind == EXISTING_CLUSTER_ISSUER["kind"]
