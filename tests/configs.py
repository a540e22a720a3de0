"""Stack configs shared by the tests: a base cluster and the topologies of the test table."""

from __future__ import annotations

import copy
from typing import Any

CLUSTER = "my-cluster-name"
NAMESPACE = "psmdb"
# The operator rejects a replset without volumeSpec.
VOLUME = {"persistentVolumeClaim": {"resources": {"requests": {"storage": "3Gi"}}}}


def replset(name: str = "rs0", size: int = 3, **fields: Any) -> dict[str, Any]:
    """Return a replset entry with a volumeSpec, as psmdb-tls:cluster.replsets takes it."""
    return {"name": name, "size": size, "volumeSpec": copy.deepcopy(VOLUME), **fields}


def base_config(**tls: Any) -> dict[str, Any]:
    """Return a one-replset config in the form run_program takes; `tls` keys go to psmdb-tls:tls."""
    return {
        "psmdb-tls:cluster": {
            "name": CLUSTER,
            "namespace": NAMESPACE,
            "crVersion": "1.22.0",
            "image": "percona/percona-server-mongodb:8.0.19-7",
            "replsets": [replset("rs0", 3)],
        },
        "psmdb-tls:tls": {"mode": "preferTLS", "certificateSource": "pulumi", **tls},
    }


def with_cluster(config: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    """Return a copy of `config` with top-level psmdb-tls:cluster keys replaced."""
    result = copy.deepcopy(config)
    result["psmdb-tls:cluster"].update(copy.deepcopy(cluster))
    return result


def with_tls(config: dict[str, Any], **tls: Any) -> dict[str, Any]:
    """Return a copy of `config` with psmdb-tls:tls keys replaced."""
    result = copy.deepcopy(config)
    result["psmdb-tls:tls"].update(copy.deepcopy(tls))
    return result


def sharded(config: dict[str, Any]) -> dict[str, Any]:
    return with_cluster(
        config,
        replsets=[replset("rs0", 3), replset("rs1", 3)],
        sharding={
            "enabled": True,
            "configsvrReplSet": {"size": 3, "volumeSpec": VOLUME},
            "mongos": {"size": 2},
        },
    )


def custom_suffix(config: dict[str, Any]) -> dict[str, Any]:
    return with_cluster(config, clusterServiceDNSSuffix="svc.prod.example")


def split_horizons(config: dict[str, Any]) -> dict[str, Any]:
    horizons = {
        f"{CLUSTER}-rs0-{index}": {"external": f"rs0-{index}.db.example.com:27017"}
        for index in range(3)
    }
    return with_cluster(config, replsets=[replset("rs0", 3, splitHorizons=horizons)])


def exposed(config: dict[str, Any]) -> dict[str, Any]:
    return with_cluster(
        config,
        replsets=[replset("rs0", 3, expose={"enabled": True, "type": "LoadBalancer"})],
    )


def service_mesh(config: dict[str, Any]) -> dict[str, Any]:
    return with_cluster(config, clusterServiceDNSMode="ServiceMesh")


TOPOLOGIES = {
    "one-replset": lambda config: config,
    "sharded": sharded,
    "custom-suffix": custom_suffix,
    "split-horizons": split_horizons,
    "exposed": exposed,
    "service-mesh": service_mesh,
}
