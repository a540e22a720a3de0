"""Subject alternative names (SANs) of the member certificates.

`operator_dns_names` reproduces the list the Percona operator v1.22.0 builds for its own
certificates, name for name and in its order, as its e2e test expects it in
e2e-tests/split-horizon/compare/certificate_some-name-ssl.yml.
`member_dns_names` starts with that list and appends the names clients dial that the operator
leaves out: per-pod Services of exposed replsets, ServiceMesh pod addresses, per-pod mongos
Services, config server split horizons, replsetOverrides hosts and tls.extraDnsNames.

Per-pod names, not a namespace wildcard such as `*.<ns>.svc.cluster.local`: a wildcard would
make the member key valid for every Service in the namespace, so a leaked key could impersonate
unrelated workloads. Per-pod names depend on the pod count, so they are written for
`max(size, MIN_POD_NAMES)` pods: scaling up to seven pods never re-issues the certificates,
and scaling beyond that re-issues them during the rolling restart the scale-up causes anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.config import ClusterConfig, ReplsetConfig, TlsConfig, split_host_port
from components.config_reader import is_ip_address

# MongoDB allows at most seven voting members in a replica set.
MIN_POD_NAMES = 7


def service_names(cluster: ClusterConfig, service: str) -> list[str]:
    """Return the operator's eight names for one Service: bare, namespaced, FQDN, wildcards, MCS."""
    namespace = cluster.namespace
    suffix = cluster.dns_suffix
    mcs = cluster.multi_cluster_dns_suffix
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.{suffix}",
        f"*.{service}",
        f"*.{service}.{namespace}",
        f"*.{service}.{namespace}.{suffix}",
        f"{service}.{namespace}.{mcs}",
        f"*.{service}.{namespace}.{mcs}",
    ]


def horizon_hosts(replset: ReplsetConfig) -> list[str]:
    """Return the distinct split horizon hosts of a replset, without ports, sorted.

    Entries in replsetOverrides[pod].horizons replace or add horizons of that pod. As in the
    operator, overrides alone add nothing when the replset has no splitHorizons.
    """
    if not replset.split_horizons:
        return []
    horizons: dict[str, dict[str, str]] = {
        pod: dict(entries) for pod, entries in replset.split_horizons.items()
    }
    for pod, override in replset.overrides.items():
        horizons.setdefault(pod, {}).update(override.get("horizons") or {})
    hosts = {
        split_host_port(f"{replset.name}.splitHorizons", address).lower()
        for entries in horizons.values()
        for address in entries.values()
    }
    return sorted(hosts)


def operator_dns_names(cluster: ClusterConfig) -> list[str]:
    """Return the operator's own SAN list for this CR, in the operator's order."""
    names = ["localhost"]
    for replset in cluster.replsets:
        names += service_names(cluster, f"{cluster.name}-{replset.name}")
        # Operator 1.22.0 added split horizon hosts to its certificates.
        if cluster.cr_version_at_least("1.22.0"):
            names += horizon_hosts(replset)
    names.append(f"*.{cluster.namespace}.{cluster.multi_cluster_dns_suffix}")
    # The mongos and cfg names come even when sharding is disabled.
    mongos = service_names(cluster, f"{cluster.name}-mongos")
    config_server = service_names(cluster, f"{cluster.name}-cfg")
    names += mongos[:6] + config_server[:6] + mongos[6:] + config_server[6:]
    return names


def _pod_count(size: int) -> int:
    return max(size, MIN_POD_NAMES)


def _pod_service_names(cluster: ClusterConfig, service: str, size: int) -> list[str]:
    """Names of per-pod Services `<service>-<i>`: bare, namespaced and FQDN."""
    names = []
    for index in range(_pod_count(size)):
        pod = f"{service}-{index}"
        names += [
            pod,
            f"{pod}.{cluster.namespace}",
            f"{pod}.{cluster.namespace}.{cluster.dns_suffix}",
        ]
    return names


def _all_replsets(cluster: ClusterConfig) -> list[ReplsetConfig]:
    replsets = list(cluster.replsets)
    if cluster.sharding.enabled and cluster.sharding.config_server is not None:
        replsets.append(cluster.sharding.config_server)
    return replsets


def _override_hosts(replset: ReplsetConfig) -> list[str]:
    hosts = []
    for pod in sorted(replset.overrides):
        host = replset.overrides[pod].get("host")
        if host:
            hosts.append(split_host_port(f"{replset.name}.replsetOverrides.{pod}.host", host, True))
    return hosts


def _dedupe(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        key = name.lower()
        if key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


def member_dns_names(cluster: ClusterConfig, tls: TlsConfig) -> list[str]:
    """Return the DNS SANs of both member certificates: the operator's list, then the extras."""
    names = operator_dns_names(cluster)
    for replset in _all_replsets(cluster):
        # Exposed replsets get one Service per pod named after the pod, and ServiceMesh mode
        # addresses members as <pod>.<namespace>.<suffix>: no operator wildcard covers either.
        # Arbiter, non-voting and hidden members are pods of their own StatefulSets
        # (<replset>-arbiter, -nv, -hidden) and get their names the same way.
        # NOTE: that the operator exposes non-voting and hidden pods is read from its naming
        # code, not seen in a running cluster.
        if replset.exposed or cluster.dns_mode == "ServiceMesh":
            for pod_prefix, count in replset.pod_groups:
                names += _pod_service_names(cluster, pod_prefix, count)
        # Horizons of the config server are missing from the operator's list, and so are all
        # horizons before crVersion 1.22.0.
        names += horizon_hosts(replset)
        names += [host.lower() for host in _override_hosts(replset) if not is_ip_address(host)]
    if cluster.sharding.enabled and cluster.sharding.mongos_service_per_pod:
        names += _pod_service_names(cluster, f"{cluster.name}-mongos", cluster.sharding.mongos_size)
    names += tls.extra_dns_names
    return _dedupe(names)


def member_ip_addresses(cluster: ClusterConfig, tls: TlsConfig) -> list[str]:
    """Return the IP SANs: replsetOverrides hosts given as addresses, then tls.extraIpAddresses."""
    addresses = []
    for replset in _all_replsets(cluster):
        addresses += [host for host in _override_hosts(replset) if is_ip_address(host)]
    addresses += tls.extra_ip_addresses
    return _dedupe(addresses)
