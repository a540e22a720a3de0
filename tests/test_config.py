"""Invalid stack config: each case names the key and the value, and registers no resource."""

from __future__ import annotations

import copy

import pytest

from components.config import load_settings
from components.config_reader import ConfigError
from tests.configs import CLUSTER, base_config, sharded
from tests.harness import ProgramFailed, run_program


def set_path(config, path, value):
    """Return a copy of `config` with the value at a dotted path (list indexes as numbers) set."""
    result = copy.deepcopy(config)
    keys = path.split(".")
    target = result
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return result


C = "psmdb-tls:cluster"
T = "psmdb-tls:tls"
CONFIGURATION_WITH_MODE = "net:\n  tls:\n    mode: requireTLS\n"

# (case id, config path to change, new value, key expected in the error, value expected in it)
INVALID_CASES = [
    ("mode typo", f"{T}.mode", "requireTLs", "psmdb-tls:tls.mode", "requireTLs"),
    (
        "unknown tls key",
        f"{T}.allowInvalidCertificate",
        False,
        "psmdb-tls:tls.allowInvalidCertificate",
        "false",
    ),
    ("unknown cluster key", f"{C}.namspace", "psmdb", "psmdb-tls:cluster.namspace", "psmdb"),
    (
        "source unknown",
        f"{T}.certificateSource",
        "vault",
        "psmdb-tls:tls.certificateSource",
        "vault",
    ),
    ("key algorithm", f"{T}.keyAlgorithm", "RSA-1024", "psmdb-tls:tls.keyAlgorithm", "RSA-1024"),
    (
        "boolean as string",
        f"{T}.allowInvalidCertificates",
        "no",
        "psmdb-tls:tls.allowInvalidCertificates",
        "no",
    ),
    (
        "hours as string",
        f"{T}.certValidityHours",
        "8760h",
        "psmdb-tls:tls.certValidityHours",
        "8760h",
    ),
    (
        "validity inside renewal",
        f"{T}.certValidityHours",
        500,
        "psmdb-tls:tls.certValidityHours",
        "500",
    ),
    (
        "leaf outlives ca",
        f"{T}.certValidityHours",
        90000,
        "psmdb-tls:tls.certValidityHours",
        "90000",
    ),
    ("empty organization", f"{T}.organization", " ", "psmdb-tls:tls.organization", '" "'),
    (
        "bad extra dns name",
        f"{T}.extraDnsNames",
        ["mongo_db.example.com"],
        "psmdb-tls:tls.extraDnsNames[0]",
        "mongo_db.example.com",
    ),
    (
        "ip in dns names",
        f"{T}.extraDnsNames",
        ["10.0.0.1"],
        "psmdb-tls:tls.extraDnsNames[0]",
        "10.0.0.1",
    ),
    (
        "bad extra ip",
        f"{T}.extraIpAddresses",
        ["10.0.0.300"],
        "psmdb-tls:tls.extraIpAddresses[0]",
        "10.0.0.300",
    ),
    ("name not dns label", f"{C}.name", "My_Cluster", "psmdb-tls:cluster.name", "My_Cluster"),
    (
        "namespace not dns label",
        f"{C}.namespace",
        "psmdb.prod",
        "psmdb-tls:cluster.namespace",
        "psmdb.prod",
    ),
    ("replset name", f"{C}.replsets.0.name", "RS0", "psmdb-tls:cluster.replsets[0].name", "RS0"),
    ("replset size zero", f"{C}.replsets.0.size", 0, "psmdb-tls:cluster.replsets[0].size", "0"),
    (
        "replset size string",
        f"{C}.replsets.0.size",
        "3",
        "psmdb-tls:cluster.replsets[0].size",
        '"3"',
    ),
    (
        "replset unknown field",
        f"{C}.replsets.0.sizes",
        3,
        "psmdb-tls:cluster.replsets[0].sizes",
        "3",
    ),
    ("no replsets", f"{C}.replsets", [], "psmdb-tls:cluster.replsets", "[]"),
    (
        "replset named cfg",
        f"{C}.replsets.0.name",
        "cfg",
        "psmdb-tls:cluster.replsets[0].name",
        "cfg",
    ),
    ("cr version not semver", f"{C}.crVersion", "1.22", "psmdb-tls:cluster.crVersion", "1.22"),
    ("cr version as number", f"{C}.crVersion", 1.22, "psmdb-tls:cluster.crVersion", "1.22"),
    (
        "dns mode",
        f"{C}.clusterServiceDNSMode",
        "internal",
        "psmdb-tls:cluster.clusterServiceDNSMode",
        "internal",
    ),
    (
        "dns suffix",
        f"{C}.clusterServiceDNSSuffix",
        "svc..local",
        "psmdb-tls:cluster.clusterServiceDNSSuffix",
        "svc..local",
    ),
    (
        "same secret names",
        f"{C}.secrets",
        {"ssl": "tls", "sslInternal": "tls"},
        "psmdb-tls:cluster.secrets.sslInternal",
        "tls",
    ),
    (
        "secret name invalid",
        f"{C}.secrets",
        {"ssl": "Bad_Name"},
        "psmdb-tls:cluster.secrets.ssl",
        "Bad_Name",
    ),
    (
        "tls mode in configuration",
        f"{C}.replsets.0.configuration",
        CONFIGURATION_WITH_MODE,
        "psmdb-tls:cluster.replsets[0].configuration (net.tls.mode)",
        "requireTLS",
    ),
    (
        "configuration not yaml",
        f"{C}.replsets.0.configuration",
        "net: [",
        "psmdb-tls:cluster.replsets[0].configuration",
        "net: [",
    ),
    (
        "unsafe configurations",
        f"{C}.spec",
        {"allowUnsafeConfigurations": True},
        "psmdb-tls:cluster.spec.allowUnsafeConfigurations",
        "true",
    ),
    (
        "spec sets tls",
        f"{C}.spec",
        {"tls": {"mode": "disabled"}},
        "psmdb-tls:cluster.spec.tls",
        "disabled",
    ),
    (
        "spec sets unsafe tls",
        f"{C}.spec",
        {"unsafeFlags": {"tls": True}},
        "psmdb-tls:cluster.spec.unsafeFlags.tls",
        "true",
    ),
    (
        "spec sets ssl secret",
        f"{C}.spec",
        {"secrets": {"ssl": "other"}},
        "psmdb-tls:cluster.spec.secrets.ssl",
        "other",
    ),
    ("spec unknown field", f"{C}.spec", {"bakup": {}}, "psmdb-tls:cluster.spec.bakup", "{}"),
    (
        "horizon pod name",
        f"{C}.replsets.0.splitHorizons",
        {"rs0-0": {"external": "a.example.com"}},
        "psmdb-tls:cluster.replsets[0].splitHorizons.rs0-0",
        "rs0-0",
    ),
    (
        "horizon ip",
        f"{C}.replsets.0.splitHorizons",
        {f"{CLUSTER}-rs0-0": {"external": "10.1.1.1:27017"}},
        f"psmdb-tls:cluster.replsets[0].splitHorizons.{CLUSTER}-rs0-0.external",
        "10.1.1.1:27017",
    ),
    (
        "horizon port",
        f"{C}.replsets.0.splitHorizons",
        {f"{CLUSTER}-rs0-0": {"external": "a.example.com:99999"}},
        f"psmdb-tls:cluster.replsets[0].splitHorizons.{CLUSTER}-rs0-0.external",
        "a.example.com:99999",
    ),
    (
        "expose enabled string",
        f"{C}.replsets.0.expose",
        {"enabled": "yes"},
        "psmdb-tls:cluster.replsets[0].expose.enabled",
        "yes",
    ),
    (
        "multi cluster typo",
        f"{C}.multiCluster",
        {"enabled": False, "dnsSuffix": "x"},
        "psmdb-tls:cluster.multiCluster.dnsSuffix",
        "x",
    ),
    (
        "operator with extras",
        f"{T}",
        {"certificateSource": "operator", "extraDnsNames": ["a.example.com"]},
        "psmdb-tls:tls.extraDnsNames",
        "a.example.com",
    ),
    ("tls not mapping", f"{T}", "requireTLS", "psmdb-tls:tls", "requireTLS"),
]


@pytest.mark.parametrize(
    ("path", "value", "key", "shown"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_config_rejected(path, value, key, shown):
    config = set_path(base_config(), path, value)
    with pytest.raises(ProgramFailed) as failure:
        run_program(config)
    error = failure.value.error
    assert isinstance(error, ConfigError)
    assert error.key == key
    assert shown in str(error)
    assert failure.value.run.resources == []


SHARDED_CASES = [
    (
        "cfg size zero",
        "sharding.configsvrReplSet.size",
        0,
        "psmdb-tls:cluster.sharding.configsvrReplSet.size",
    ),
    (
        "cfg renamed",
        "sharding.configsvrReplSet.name",
        "config",
        "psmdb-tls:cluster.sharding.configsvrReplSet.name",
    ),
    ("mongos size zero", "sharding.mongos.size", 0, "psmdb-tls:cluster.sharding.mongos.size"),
    (
        "mongos unknown field",
        "sharding.mongos.replicas",
        2,
        "psmdb-tls:cluster.sharding.mongos.replicas",
    ),
    ("sharding enabled string", "sharding.enabled", "true", "psmdb-tls:cluster.sharding.enabled"),
    (
        "cfg tls mode",
        "sharding.configsvrReplSet.configuration",
        CONFIGURATION_WITH_MODE,
        "psmdb-tls:cluster.sharding.configsvrReplSet.configuration (net.tls.mode)",
    ),
    (
        "mongos tls mode",
        "sharding.mongos.configuration",
        CONFIGURATION_WITH_MODE,
        "psmdb-tls:cluster.sharding.mongos.configuration (net.tls.mode)",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "key"), [c[1:] for c in SHARDED_CASES], ids=[c[0] for c in SHARDED_CASES]
)
def test_invalid_sharding_rejected(path, value, key):
    config = set_path(sharded(base_config()), f"{C}.{path}", value)
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert failure.value.key == key


def test_missing_cluster_key_rejected():
    config = base_config()
    del config[C]
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert failure.value.key == C


@pytest.mark.parametrize("field", ["name", "namespace", "crVersion", "image", "replsets"])
def test_missing_required_field_rejected(field):
    config = base_config()
    del config[C][field]
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert failure.value.key == f"{C}.{field}"
    assert "required" in str(failure.value)


def test_long_cluster_name_rejected():
    config = set_path(base_config(), f"{C}.name", "a" * 64)
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert failure.value.key == f"{C}.name"


def test_long_cluster_and_replset_rejected():
    config = set_path(base_config(), f"{C}.name", "a" * 48)
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert failure.value.key == f"{C}.replsets[0].name"
    assert "50" in str(failure.value)


HORIZONS = {f"{CLUSTER}-rs0-{i}": {"external": f"rs0-{i}.example.com"} for i in range(3)}

# (case id, config path, new value, key expected in the error)
MORE_INVALID_CASES = [
    ("cr version too old", f"{C}.crVersion", "1.15.0", f"{C}.crVersion"),
    ("even size", f"{C}.replsets.0.size", 2, f"{C}.replsets[0].size"),
    ("size one", f"{C}.replsets.0.size", 1, f"{C}.replsets[0].size"),
    ("size null", f"{C}.replsets.0.size", None, f"{C}.replsets[0].size"),
    ("size over int32", f"{C}.replsets.0.size", 2**31 + 1, f"{C}.replsets[0].size"),
    (
        "arbiter with odd size",
        f"{C}.replsets.0.arbiter",
        {"enabled": True, "size": 1},
        f"{C}.replsets[0].size",
    ),
    ("no volume spec", f"{C}.replsets.0.volumeSpec", None, f"{C}.replsets[0].volumeSpec"),
    ("replset named mongos", f"{C}.replsets.0.name", "mongos", f"{C}.replsets[0].name"),
    ("spec null", f"{C}.spec", {"secrets": None}, f"{C}.spec.secrets"),
    ("spec nested null", f"{C}.spec", {"pmm": {"enabled": None}}, f"{C}.spec.pmm.enabled"),
    ("spec unsafe flags list", f"{C}.spec", {"unsafeFlags": []}, f"{C}.spec.unsafeFlags"),
    ("ip zone id", f"{T}.extraIpAddresses", ["fe80::1%eth0"], f"{T}.extraIpAddresses[0]"),
    (
        "operator with key algorithm",
        f"{T}",
        {"certificateSource": "operator", "keyAlgorithm": "RSA-4096"},
        f"{T}.keyAlgorithm",
    ),
    (
        "operator with organization",
        f"{T}",
        {"certificateSource": "operator", "organization": "Example"},
        f"{T}.organization",
    ),
    (
        "unsafe flag unknown",
        f"{C}.spec",
        {"unsafeFlags": {"replsetSizes": True}},
        f"{C}.spec.unsafeFlags.replsetSizes",
    ),
    (
        "unsafe flag string",
        f"{C}.spec",
        {"unsafeFlags": {"replsetSize": "true"}},
        f"{C}.spec.unsafeFlags.replsetSize",
    ),
    ("ca validity overflow", f"{T}.caValidityHours", 10**9, f"{T}.caValidityHours"),
    ("wildcard one label", f"{T}.extraDnsNames", ["*.com"], f"{T}.extraDnsNames[0]"),
    ("numeric last label", f"{T}.extraDnsNames", ["1.2.3"], f"{T}.extraDnsNames[0]"),
    (
        "ssl mode in configuration",
        f"{C}.replsets.0.configuration",
        "net:\n  ssl:\n    mode: requireSSL\n",
        f"{C}.replsets[0].configuration (net.ssl.mode)",
    ),
    (
        "override horizons list",
        f"{C}.replsets.0.replsetOverrides",
        {f"{CLUSTER}-rs0-0": {"horizons": ["a"]}},
        f"{C}.replsets[0].replsetOverrides.{CLUSTER}-rs0-0.horizons",
    ),
    (
        "horizons missing pod",
        f"{C}.replsets.0.splitHorizons",
        {k: v for k, v in HORIZONS.items() if not k.endswith("-2")},
        f"{C}.replsets[0].splitHorizons",
    ),
    (
        "horizon beyond size",
        f"{C}.replsets.0.splitHorizons",
        {**HORIZONS, f"{CLUSTER}-rs0-3": {"external": "x.example.com"}},
        f"{C}.replsets[0].splitHorizons.{CLUSTER}-rs0-3",
    ),
    (
        "horizon names differ",
        f"{C}.replsets.0.splitHorizons",
        {**HORIZONS, f"{CLUSTER}-rs0-2": {"other": "x.example.com"}},
        f"{C}.replsets[0].splitHorizons.{CLUSTER}-rs0-2",
    ),
    (
        "horizon host shared",
        f"{C}.replsets.0.splitHorizons",
        {**HORIZONS, f"{CLUSTER}-rs0-2": {"external": "rs0-0.example.com"}},
        f"{C}.replsets[0].splitHorizons.{CLUSTER}-rs0-2.external",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [case[1:] for case in MORE_INVALID_CASES],
    ids=[case[0] for case in MORE_INVALID_CASES],
)
def test_operator_rules_rejected(path, value, key):
    config = set_path(base_config(), path, value)
    if value is None and path.endswith("volumeSpec"):
        del config[C]["replsets"][0]["volumeSpec"]
    with pytest.raises(ProgramFailed) as failure:
        run_program(config)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == key
    assert failure.value.run.resources == []


def test_unsafe_flag_allows_small_replset():
    config = set_path(base_config(), f"{C}.replsets.0.size", 1)
    config[C]["spec"] = {"unsafeFlags": {"replsetSize": True}}
    assert load_settings(config).cluster.replsets[0].size == 1


def test_arbiter_with_even_size_accepted():
    config = set_path(base_config(), f"{C}.replsets.0.size", 4)
    config[C]["replsets"][0]["arbiter"] = {"enabled": True, "size": 1}
    groups = load_settings(config).cluster.replsets[0].pod_groups
    assert groups == ((f"{CLUSTER}-rs0", 4), (f"{CLUSTER}-rs0-arbiter", 1))


@pytest.mark.parametrize("host", ["fd00::5", "[fd00::5]:27017"])
def test_ipv6_override_host_accepted(host):
    config = set_path(
        base_config(), f"{C}.replsets.0.replsetOverrides", {f"{CLUSTER}-rs0-0": {"host": host}}
    )
    settings = load_settings(config)
    from components.sans import member_ip_addresses

    assert member_ip_addresses(settings.cluster, settings.tls) == ["fd00::5"]


def test_null_type_named_in_message():
    config = set_path(base_config(), f"{T}.mode", 3)
    with pytest.raises(ConfigError) as failure:
        load_settings(config)
    assert "got an integer" in str(failure.value)


def test_defaults_for_pulumi_source():
    settings = load_settings(base_config())
    assert settings.tls.allow_invalid_certificates is False
    assert settings.tls.key_algorithm == "RSA-2048"
    assert settings.tls.organization == "PSMDB"
    assert settings.cluster.ssl_secret_name == f"{CLUSTER}-ssl"
    assert settings.cluster.ssl_internal_secret_name == f"{CLUSTER}-ssl-internal"


def test_operator_source_allows_invalid_by_default():
    config = set_path(base_config(), f"{T}.certificateSource", "operator")
    assert load_settings(config).tls.allow_invalid_certificates is True


def test_settings_are_immutable():
    settings = load_settings(base_config())
    with pytest.raises(AttributeError):
        settings.tls.mode = "disabled"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.cluster.replsets[0].spec["size"] = 5  # type: ignore[index]
