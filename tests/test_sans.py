"""SAN lists: the operator's own list, name for name, and the names this program adds."""

from __future__ import annotations

from components.config import load_settings
from components.sans import member_dns_names, member_ip_addresses, operator_dns_names
from tests.configs import (
    CLUSTER,
    base_config,
    exposed,
    replset,
    service_mesh,
    sharded,
    split_horizons,
    with_cluster,
    with_tls,
)

# The dnsNames the operator v1.22.0 e2e test split-horizon expects for cluster some-name with
# one replset rs0 whose three pods have horizons some-name-rs0-<i>.clouddemo.xyz.
OPERATOR_FIXTURE = [
    "localhost",
    "some-name-rs0",
    "some-name-rs0.NAME_SPACE",
    "some-name-rs0.NAME_SPACE.svc.cluster.local",
    "*.some-name-rs0",
    "*.some-name-rs0.NAME_SPACE",
    "*.some-name-rs0.NAME_SPACE.svc.cluster.local",
    "some-name-rs0.NAME_SPACE.svc.clusterset.local",
    "*.some-name-rs0.NAME_SPACE.svc.clusterset.local",
    "some-name-rs0-0.clouddemo.xyz",
    "some-name-rs0-1.clouddemo.xyz",
    "some-name-rs0-2.clouddemo.xyz",
    "*.NAME_SPACE.svc.clusterset.local",
    "some-name-mongos",
    "some-name-mongos.NAME_SPACE",
    "some-name-mongos.NAME_SPACE.svc.cluster.local",
    "*.some-name-mongos",
    "*.some-name-mongos.NAME_SPACE",
    "*.some-name-mongos.NAME_SPACE.svc.cluster.local",
    "some-name-cfg",
    "some-name-cfg.NAME_SPACE",
    "some-name-cfg.NAME_SPACE.svc.cluster.local",
    "*.some-name-cfg",
    "*.some-name-cfg.NAME_SPACE",
    "*.some-name-cfg.NAME_SPACE.svc.cluster.local",
    "some-name-mongos.NAME_SPACE.svc.clusterset.local",
    "*.some-name-mongos.NAME_SPACE.svc.clusterset.local",
    "some-name-cfg.NAME_SPACE.svc.clusterset.local",
    "*.some-name-cfg.NAME_SPACE.svc.clusterset.local",
]


def settings_of(config):
    return load_settings(config)


def fixture_settings(cr_version="1.22.0"):
    horizons = {
        f"some-name-rs0-{i}": {"external": f"some-name-rs0-{i}.clouddemo.xyz"} for i in range(3)
    }
    config = with_cluster(
        base_config(),
        name="some-name",
        namespace="name-space",
        crVersion=cr_version,
        replsets=[replset("rs0", 3, splitHorizons=horizons)],
    )
    return settings_of(config)


def test_operator_list_matches_e2e_fixture():
    names = operator_dns_names(fixture_settings().cluster)
    expected = [name.replace("NAME_SPACE", "name-space") for name in OPERATOR_FIXTURE]
    assert names == expected


def test_operator_list_without_horizons_before_1_22():
    names = operator_dns_names(fixture_settings("1.21.0").cluster)
    assert "some-name-rs0-0.clouddemo.xyz" not in names
    assert len(names) == 26


def test_member_list_keeps_horizons_before_1_22():
    settings = fixture_settings("1.21.0")
    names = member_dns_names(settings.cluster, settings.tls)
    assert "some-name-rs0-2.clouddemo.xyz" in names


def test_member_list_starts_with_operator_list():
    for make in (sharded, exposed, service_mesh, split_horizons):
        settings = settings_of(make(base_config()))
        operator = operator_dns_names(settings.cluster)
        member = member_dns_names(settings.cluster, settings.tls)
        assert member[: len(operator)] == operator, make.__name__


def test_two_shards_in_replset_order():
    settings = settings_of(sharded(base_config()))
    names = operator_dns_names(settings.cluster)
    assert names.index(f"{CLUSTER}-rs0") < names.index(f"{CLUSTER}-rs1")
    assert names.index(f"{CLUSTER}-rs1") < names.index(f"*.{'psmdb'}.svc.clusterset.local")


def test_custom_suffixes_in_every_block():
    config = with_cluster(
        base_config(),
        clusterServiceDNSSuffix="svc.prod.example",
        multiCluster={"enabled": True, "DNSSuffix": "svc.mesh.example"},
    )
    settings = settings_of(config)
    names = operator_dns_names(settings.cluster)
    assert f"*.{CLUSTER}-rs0.psmdb.svc.prod.example" in names
    assert f"*.{CLUSTER}-cfg.psmdb.svc.mesh.example" in names
    assert not any(name.endswith("svc.cluster.local") for name in names)


def test_exposed_replset_gets_pod_service_names():
    settings = settings_of(exposed(base_config()))
    names = member_dns_names(settings.cluster, settings.tls)
    for index in range(7):
        assert f"{CLUSTER}-rs0-{index}.psmdb.svc.cluster.local" in names
    assert f"{CLUSTER}-rs0-7.psmdb.svc.cluster.local" not in names


def test_pod_names_follow_size_above_seven():
    config = with_cluster(base_config(), replsets=[replset("rs0", 9, expose={"enabled": True})])
    settings = settings_of(config)
    names = member_dns_names(settings.cluster, settings.tls)
    assert f"{CLUSTER}-rs0-8.psmdb.svc.cluster.local" in names


def test_scaling_within_seven_keeps_names():
    small = settings_of(exposed(base_config()))
    config = with_cluster(
        base_config(),
        replsets=[replset("rs0", 5, expose={"enabled": True, "type": "LoadBalancer"})],
    )
    larger = settings_of(config)
    assert member_dns_names(small.cluster, small.tls) == member_dns_names(
        larger.cluster, larger.tls
    )


def test_service_mesh_pod_addresses():
    settings = settings_of(sharded(service_mesh(base_config())))
    names = member_dns_names(settings.cluster, settings.tls)
    assert f"{CLUSTER}-rs1-2.psmdb.svc.cluster.local" in names
    assert f"{CLUSTER}-cfg-0.psmdb.svc.cluster.local" in names


def test_mongos_service_per_pod_names():
    config = sharded(base_config())
    config["psmdb-tls:cluster"]["sharding"]["mongos"]["expose"] = {"servicePerPod": True}
    settings = settings_of(config)
    names = member_dns_names(settings.cluster, settings.tls)
    assert f"{CLUSTER}-mongos-0.psmdb.svc.cluster.local" in names
    assert f"{CLUSTER}-mongos-6" in names


def test_config_server_horizons_added():
    config = sharded(base_config())
    config["psmdb-tls:cluster"]["sharding"]["configsvrReplSet"]["splitHorizons"] = {
        f"{CLUSTER}-cfg-{i}": {"external": f"cfg-{i}.db.example.com:27019"} for i in range(3)
    }
    settings = settings_of(config)
    assert "cfg-1.db.example.com" not in operator_dns_names(settings.cluster)
    assert "cfg-1.db.example.com" in member_dns_names(settings.cluster, settings.tls)


def test_override_horizons_alone_add_nothing():
    config = with_cluster(
        base_config(),
        replsets=[
            {
                **replset("rs0", 3),
                "replsetOverrides": {
                    f"{CLUSTER}-rs0-0": {"horizons": {"external": "only.example.com"}}
                },
            }
        ],
    )
    settings = settings_of(config)
    assert "only.example.com" not in member_dns_names(settings.cluster, settings.tls)


def test_override_horizons_replace_pod_horizon():
    config = split_horizons(base_config())
    replset = config["psmdb-tls:cluster"]["replsets"][0]
    replset["replsetOverrides"] = {
        f"{CLUSTER}-rs0-0": {"horizons": {"external": "new-0.example.com"}}
    }
    settings = settings_of(config)
    names = operator_dns_names(settings.cluster)
    assert "new-0.example.com" in names
    assert "rs0-0.db.example.com" not in names


def test_override_hosts_become_sans():
    config = with_cluster(
        base_config(),
        replsets=[
            {
                **replset("rs0", 3),
                "replsetOverrides": {
                    f"{CLUSTER}-rs0-0": {"host": "rs0-a.example.com:27017"},
                    f"{CLUSTER}-rs0-1": {"host": "203.0.113.7"},
                },
            }
        ],
    )
    settings = settings_of(config)
    assert "rs0-a.example.com" in member_dns_names(settings.cluster, settings.tls)
    assert member_ip_addresses(settings.cluster, settings.tls) == ["203.0.113.7"]


def test_extras_appended_without_duplicates():
    config = with_tls(
        base_config(),
        extraDnsNames=["mongo.example.com", "localhost", f"{CLUSTER}-rs0"],
        extraIpAddresses=["10.0.0.5", "fd00::5"],
    )
    settings = settings_of(config)
    names = member_dns_names(settings.cluster, settings.tls)
    assert names[-1] == "mongo.example.com"
    assert len(names) == len(set(names))
    assert member_ip_addresses(settings.cluster, settings.tls) == ["10.0.0.5", "fd00::5"]


def test_same_config_same_order():
    first = settings_of(sharded(exposed(base_config())))
    second = settings_of(sharded(exposed(base_config())))
    assert member_dns_names(first.cluster, first.tls) == member_dns_names(
        second.cluster, second.tls
    )
