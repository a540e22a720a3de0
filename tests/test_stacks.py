"""Every stack file of the repository, run as it is: the CR it makes, its topology and its TLS."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from tests.crd_schemas import requires_schemas, validate_custom_resource
from tests.harness import REPO_ROOT, ProgramRun, load_stack_config, run_program
from tests.program_views import (
    CUSTOM_RESOURCE,
    PRIVATE_KEY,
    SECRET,
    custom_resource_object,
    tls_secret,
)
from tests.tls_checks import handshake, verify_chain

STACK_FILES = sorted(REPO_ROOT.glob("Pulumi.*.yaml"))
STACKS = [path.name.split(".")[1] for path in STACK_FILES]


def stack_file(stack: str) -> Path:
    return REPO_ROOT / f"Pulumi.{stack}.yaml"


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    return run_program(load_stack_config(stack_file(stack)), stack=stack)


def spec(stack: str) -> dict[str, Any]:
    return custom_resource_object(stack_run(stack))["spec"]  # type: ignore[no-any-return]


def pod_fqdn(stack: str, replset: str, index: int = 0) -> str:
    """Return the name members dial for a pod: <pod>.<headless Service>.<namespace>.svc...."""
    metadata = custom_resource_object(stack_run(stack))["metadata"]
    service = f"{metadata['name']}-{replset}"
    return f"{service}-{index}.{service}.{metadata['namespace']}.svc.cluster.local"


def test_known_stack_files():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@requires_schemas
@pytest.mark.parametrize("stack", STACKS)
def test_stack_cr_matches_crd(stack):
    assert validate_custom_resource(custom_resource_object(stack_run(stack))) == []


@pytest.mark.parametrize("stack", STACKS)
def test_stack_member_handshake(stack):
    # A member dialing another: server and client certificates both verified, host name too.
    run = stack_run(stack)
    cluster = spec(stack)
    server = tls_secret(run, cluster["secrets"]["ssl"])
    member = tls_secret(run, cluster["secrets"]["sslInternal"])
    result = handshake(
        member.identity,
        member.ca_bundle_pem,
        pod_fqdn(stack, cluster["replsets"][-1]["name"]),
        client=server.identity,
        server_trust_pem=member.ca_bundle_pem,
        require_client_cert=True,
    )
    assert result.ok, result.error


# --- staging --------------------------------------------------------------------------------------


def test_staging_one_replset_of_three():
    replsets = spec("staging")["replsets"]
    assert [(replset["name"], replset["size"]) for replset in replsets] == [("rs0", 3)]
    assert spec("staging")["sharding"]["enabled"] is False


def test_staging_tls_settings():
    tls = spec("staging")["tls"]
    assert tls["mode"] in ("requireTLS", "preferTLS")
    assert tls["allowInvalidCertificates"] is False


def test_staging_pulumi_certificates():
    run = stack_run("staging")
    assert run.stack_outputs["certificateSource"] == "pulumi"
    assert len(run.find_all(SECRET)) == 2
    assert len(run.find_all(PRIVATE_KEY)) == 3


# --- prod -------------------------------------------------------------------------------------------


def test_prod_sharded_with_two_shards():
    cluster = spec("prod")
    assert cluster["sharding"]["enabled"] is True
    assert len(cluster["replsets"]) >= 2
    assert all(replset["size"] >= 3 for replset in cluster["replsets"])
    assert cluster["sharding"]["configsvrReplSet"]["size"] >= 3
    assert cluster["sharding"]["mongos"]["size"] >= 2


def test_prod_requires_verified_tls():
    tls = spec("prod")["tls"]
    assert tls["mode"] == "requireTLS"
    assert tls["allowInvalidCertificates"] is False
    assert spec("prod")["unsafeFlags"]["tls"] is False


def test_prod_key_stronger_than_default():
    for key in stack_run("prod").find_all(PRIVATE_KEY):
        assert (key.inputs["algorithm"], key.inputs.get("ecdsaCurve")) == ("ECDSA", "P384")


def test_prod_resources_set_everywhere():
    cluster = spec("prod")
    components = [
        *cluster["replsets"],
        cluster["sharding"]["configsvrReplSet"],
        cluster["sharding"]["mongos"],
    ]
    for component in components:
        resources = component["resources"]
        assert set(resources) == {"requests", "limits"}
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert {"cpu", "memory"} <= set(resources["limits"])


def test_prod_mongos_name_verifies():
    run = stack_run("prod")
    metadata = custom_resource_object(run)["metadata"]
    ssl = tls_secret(run, spec("prod")["secrets"]["ssl"])
    hostname = f"{metadata['name']}-mongos.{metadata['namespace']}.svc.cluster.local"
    verify_chain(ssl.cert_pem, ssl.ca_bundle_pem, hostname=hostname)


def test_prod_outputs_report_tls():
    outputs = stack_run("prod").stack_outputs
    assert outputs["tlsMode"] == "requireTLS"
    assert set(outputs["certificateNotAfter"]) == {"ca", "ssl", "sslInternal"}
    assert stack_run("prod").find(CUSTOM_RESOURCE).inputs["spec"]["sharding"]["enabled"] is True
