"""Configs and cached program runs for certificateSource cert-manager, shared by its tests."""

from __future__ import annotations

import functools
from typing import Any

from tests.configs import base_config, with_tls
from tests.harness import ProgramRun, RecordedResource, run_program

CERT_MANAGER_TYPE = "kubernetes:cert-manager.io/v1:{kind}"
CUSTOM_RESOURCE_TYPE = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
SECRET_TYPE = "kubernetes:core/v1:Secret"
EXISTING_ISSUER = {"name": "corporate-ca", "kind": "Issuer", "group": "cert-manager.io"}
EXISTING_CLUSTER_ISSUER = {"name": "corporate-ca", "kind": "ClusterIssuer"}

# Issuer ways by test id: the psmdb-tls:tls.certManager value of each.
ISSUER_WAYS: dict[str, dict[str, Any]] = {
    "selfSigned": {"issuer": "selfSigned"},
    "pulumiCa": {"issuer": "pulumiCa"},
    "existing-issuer": {"issuer": "existing", "issuerRef": EXISTING_ISSUER},
    "existing-clusterissuer": {"issuer": "existing", "issuerRef": EXISTING_CLUSTER_ISSUER},
}


def cert_manager_config(
    way: str = "selfSigned", config: dict[str, Any] | None = None, **tls: Any
) -> dict[str, Any]:
    """Return `config` (default: the base config) with certificateSource cert-manager."""
    return with_tls(
        config if config is not None else base_config(),
        certificateSource="cert-manager",
        certManager=ISSUER_WAYS[way],
        **tls,
    )


@functools.cache
def run_for(way: str, cr_version: str = "1.22.0", key_algorithm: str = "RSA-2048") -> ProgramRun:
    """Run the program once per combination; tests only read the result."""
    config = cert_manager_config(way, keyAlgorithm=key_algorithm)
    config["psmdb-tls:cluster"]["crVersion"] = cr_version
    return run_program(config)


def cert_manager_objects(run: ProgramRun, kind: str) -> list[RecordedResource]:
    return run.find_all(CERT_MANAGER_TYPE.format(kind=kind))


def all_cert_manager_objects(run: ProgramRun) -> list[RecordedResource]:
    kinds = ("Issuer", "ClusterIssuer", "Certificate")
    return [resource for kind in kinds for resource in cert_manager_objects(run, kind)]


def member_certificates(run: ProgramRun) -> dict[str, RecordedResource]:
    """Return the member Certificates by the Secret they write."""
    return {
        resource.inputs["spec"]["secretName"]: resource
        for resource in cert_manager_objects(run, "Certificate")
        if not resource.inputs["spec"].get("isCA")
    }


def ca_certificates(run: ProgramRun) -> list[RecordedResource]:
    return [
        resource
        for resource in cert_manager_objects(run, "Certificate")
        if resource.inputs["spec"].get("isCA")
    ]


def object_named(run: ProgramRun, type_: str, name: str) -> RecordedResource:
    """Return the resource of `type_` whose metadata.name is `name`."""
    matches = [r for r in run.find_all(type_) if r.inputs["metadata"]["name"] == name]
    if len(matches) != 1:
        raise LookupError(f"expected one {type_} named {name!r}, found {len(matches)}")
    return matches[0]


def custom_resource(run: ProgramRun) -> RecordedResource:
    return run.find(CUSTOM_RESOURCE_TYPE)
