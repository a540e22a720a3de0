"""Tests of tests/crd_schemas.py against the CRDs and with small hand-written schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests import crd_schemas
from tests.crd_schemas import (
    assert_valid_custom_resource,
    load_example_cr,
    requires_schemas,
    to_json_schema,
    validate_against_openapi_schema,
    validate_custom_resource,
)


@pytest.fixture
def example_cr() -> dict[str, Any]:
    return copy.deepcopy(load_example_cr())


def _certificate(**spec_changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "secretName": "my-cluster-name-ssl",
        "issuerRef": {"name": "my-cluster-name-psmdb-issuer", "kind": "Issuer"},
        "commonName": "my-cluster-name",
        "dnsNames": ["my-cluster-name-rs0", "*.my-cluster-name-rs0.psmdb.svc.cluster.local"],
        "duration": "2160h",
        "renewBefore": "720h",
        "isCA": False,
        "subject": {"organizations": ["PSMDB"]},
        "usages": ["server auth", "client auth"],
        "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"},
    }
    spec.update(spec_changes)
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "my-cluster-name-ssl", "namespace": "psmdb"},
        "spec": {key: value for key, value in spec.items() if value is not None},
    }


def _issuer(kind: str = "Issuer", spec: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "my-cluster-name-psmdb-issuer"}
    if kind == "Issuer":
        metadata["namespace"] = "psmdb"
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec if spec is not None else {"ca": {"secretName": "my-cluster-name-ca-cert"}},
    }


def _starting_with(errors: list[str], prefix: str) -> list[str]:
    return [error for error in errors if error.startswith(prefix)]


# ---------------------------------------------------------------------------------------
# PerconaServerMongoDB


@requires_schemas
def test_example_cr_is_valid(example_cr: dict[str, Any]) -> None:
    assert validate_custom_resource(example_cr) == []


@requires_schemas
def test_typo_field_names_path(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["sizee"] = 3
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, "spec.replsets[0].sizee: unknown field"), errors


@requires_schemas
def test_typo_field_is_only_error(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["tls"] = {"mode": "requireTLS", "certValidityDurations": "2160h"}
    errors = validate_custom_resource(example_cr)
    assert len(errors) == 1, errors


@requires_schemas
def test_wrong_type_names_path(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["size"] = "three"
    errors = validate_custom_resource(example_cr)
    assert "spec.replsets[0].size: invalid type string, expected integer" in errors


@requires_schemas
def test_int32_overflow_fails(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["size"] = 2**31
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, "spec.replsets[0].size: value 2147483648 violates maximum")


@requires_schemas
def test_quantity_accepts_integer(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["resources"]["limits"]["cpu"] = 1
    assert validate_custom_resource(example_cr) == []


@requires_schemas
def test_quantity_rejects_float(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["resources"]["limits"]["cpu"] = 0.5
    errors = validate_custom_resource(example_cr)
    expected = (
        "spec.replsets[0].resources.limits.cpu: invalid type number, expected integer or string"
    )
    assert expected in errors


@requires_schemas
def test_missing_required_field_fails(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["tls"] = {"mode": "requireTLS", "issuerConf": {"kind": "Issuer"}}
    errors = validate_custom_resource(example_cr)
    assert "spec.tls.issuerConf.name: required field is missing" in errors


@requires_schemas
def test_null_field_fails(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["configuration"] = None
    errors = validate_custom_resource(example_cr)
    assert "spec.replsets[0].configuration: invalid type null, expected string" in errors


@requires_schemas
def test_map_key_with_dots_is_quoted(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["replsets"][0]["nodeSelector"] = {"kubernetes.io/os": 5}
    errors = validate_custom_resource(example_cr)
    expected = 'spec.replsets[0].nodeSelector["kubernetes.io/os"]: invalid type integer'
    assert _starting_with(errors, expected), errors


@requires_schemas
def test_storage_scaling_rule_enforced(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["storageScaling"] = {"autoscaling": {"enabled": True}}
    errors = validate_custom_resource(example_cr)
    expected = (
        "spec.storageScaling: autoscaling cannot be enabled when enableVolumeScaling is disabled"
    )
    assert expected in errors


@requires_schemas
def test_storage_scaling_rule_allows_valid(example_cr: dict[str, Any]) -> None:
    example_cr["spec"]["storageScaling"] = {
        "enableVolumeScaling": True,
        "autoscaling": {"enabled": True},
    }
    assert validate_custom_resource(example_cr) == []


@requires_schemas
def test_deprecated_version_fails(example_cr: dict[str, Any]) -> None:
    example_cr["apiVersion"] = "psmdb.percona.com/v1-12-0"
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, "apiVersion: version 'psmdb.percona.com/v1-12-0'"), errors


# ---------------------------------------------------------------------------------------
# metadata, apiVersion and kind


@requires_schemas
def test_metadata_name_must_be_dns(example_cr: dict[str, Any]) -> None:
    example_cr["metadata"]["name"] = "My_Cluster"
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, 'metadata.name: invalid value "My_Cluster"'), errors


@requires_schemas
def test_metadata_name_length_checked(example_cr: dict[str, Any]) -> None:
    example_cr["metadata"]["name"] = "a" * 254
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, "metadata.name: invalid value"), errors


@requires_schemas
def test_missing_metadata_name_fails(example_cr: dict[str, Any]) -> None:
    del example_cr["metadata"]["name"]
    errors = validate_custom_resource(example_cr)
    assert "metadata.name: required field is missing" in errors


@requires_schemas
def test_missing_metadata_fails(example_cr: dict[str, Any]) -> None:
    del example_cr["metadata"]
    errors = validate_custom_resource(example_cr)
    assert "metadata.name: required field is missing" in errors


@requires_schemas
def test_unknown_metadata_field_fails(example_cr: dict[str, Any]) -> None:
    example_cr["metadata"]["label"] = {"app": "psmdb"}
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, "metadata.label: unknown field"), errors


@requires_schemas
def test_invalid_label_value_fails(example_cr: dict[str, Any]) -> None:
    example_cr["metadata"]["labels"] = {"app.kubernetes.io/name": "two words"}
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, 'metadata.labels["app.kubernetes.io/name"]: invalid value')


@requires_schemas
def test_invalid_namespace_fails(example_cr: dict[str, Any]) -> None:
    example_cr["metadata"]["namespace"] = "Mongo_DB"
    errors = validate_custom_resource(example_cr)
    assert _starting_with(errors, 'metadata.namespace: invalid value "Mongo_DB"'), errors


@requires_schemas
def test_missing_api_version_fails(example_cr: dict[str, Any]) -> None:
    del example_cr["apiVersion"]
    errors = validate_custom_resource(example_cr)
    assert "apiVersion: required field is missing or not a string" in errors


@requires_schemas
def test_missing_kind_fails(example_cr: dict[str, Any]) -> None:
    del example_cr["kind"]
    errors = validate_custom_resource(example_cr)
    assert "kind: required field is missing or not a string" in errors


@requires_schemas
def test_unknown_kind_fails() -> None:
    errors = validate_custom_resource({"apiVersion": "v1", "kind": "Secret", "metadata": {}})
    assert _starting_with(errors, "apiVersion/kind: no CRD for kind 'Secret'"), errors


# ---------------------------------------------------------------------------------------
# cert-manager


@requires_schemas
def test_valid_certificate_passes() -> None:
    assert validate_custom_resource(_certificate()) == []


@requires_schemas
def test_certificate_missing_secret_name() -> None:
    errors = validate_custom_resource(_certificate(secretName=None))
    assert errors == ["spec.secretName: required field is missing"]


@requires_schemas
def test_certificate_missing_issuer_ref() -> None:
    errors = validate_custom_resource(_certificate(issuerRef=None))
    assert errors == ["spec.issuerRef: required field is missing"]


@requires_schemas
def test_certificate_rejects_unknown_usage() -> None:
    errors = validate_custom_resource(_certificate(usages=["server auth", "serverAuth"]))
    assert _starting_with(errors, 'spec.usages[1]: invalid value "serverAuth"'), errors


@requires_schemas
def test_valid_issuer_passes() -> None:
    assert validate_custom_resource(_issuer()) == []


@requires_schemas
def test_valid_cluster_issuer_passes() -> None:
    cluster_issuer = _issuer("ClusterIssuer", {"selfSigned": {}})
    assert validate_custom_resource(cluster_issuer) == []


@requires_schemas
def test_cluster_issuer_rejects_namespace() -> None:
    cluster_issuer = _issuer("ClusterIssuer", {"selfSigned": {}})
    cluster_issuer["metadata"]["namespace"] = "psmdb"
    errors = validate_custom_resource(cluster_issuer)
    assert _starting_with(errors, "metadata.namespace: must be absent"), errors


@requires_schemas
def test_venafi_rule_enforced() -> None:
    venafi = {
        "zone": "zone",
        "tpp": {"url": "https://tpp.example/vedsdk", "credentialsRef": {"name": "tpp"}},
        "cloud": {"apiTokenSecretRef": {"name": "cloud", "key": "token"}},
    }
    errors = validate_custom_resource(_issuer(spec={"venafi": venafi}))
    assert errors == ["spec.venafi: exactly one of tpp, cloud, or ngts must be configured"]


@requires_schemas
def test_assert_lists_all_errors() -> None:
    certificate = _certificate(secretName=None, issuerRef=None)
    with pytest.raises(AssertionError) as raised:
        assert_valid_custom_resource(certificate)
    assert "spec.secretName: required field is missing" in str(raised.value)
    assert "spec.issuerRef: required field is missing" in str(raised.value)


@requires_schemas
def test_assert_passes_valid_resource() -> None:
    assert_valid_custom_resource(_certificate())


# ---------------------------------------------------------------------------------------
# Schema conversion, without the CRD files


def test_preserve_unknown_keeps_fields() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"known": {"type": "string"}},
    }
    assert validate_against_openapi_schema({"known": "a", "extra": 1}, schema) == []


def test_undeclared_field_fails() -> None:
    schema = {"type": "object", "properties": {"known": {"type": "string"}}}
    errors = validate_against_openapi_schema({"known": "a", "extra": 1}, schema)
    assert _starting_with(errors, "extra: unknown field"), errors


def test_object_without_properties_rejects_fields() -> None:
    errors = validate_against_openapi_schema({"extra": 1}, {"type": "object"})
    assert _starting_with(errors, "extra: unknown field"), errors


def test_nullable_accepts_null() -> None:
    schema = {"type": "object", "properties": {"value": {"type": "string", "nullable": True}}}
    assert validate_against_openapi_schema({"value": None}, schema) == []


def test_nullable_enum_accepts_null() -> None:
    schema = {"type": "string", "enum": ["a"], "nullable": True}
    assert validate_against_openapi_schema(None, schema) == []


def test_int_or_string_accepts_both() -> None:
    schema = {
        "type": "array",
        "items": {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        },
    }
    assert validate_against_openapi_schema([1, "1Gi"], schema) == []


def test_int_or_string_rejects_boolean() -> None:
    schema = {"x-kubernetes-int-or-string": True}
    errors = validate_against_openapi_schema(True, schema)
    assert errors == ["(root): invalid type boolean, expected integer or string"]


def test_int64_range_checked() -> None:
    errors = validate_against_openapi_schema(2**63, {"type": "integer", "format": "int64"})
    assert _starting_with(errors, "(root): value 9223372036854775808 violates maximum"), errors


def test_default_satisfies_required() -> None:
    schema = {
        "type": "object",
        "required": ["mode"],
        "properties": {"mode": {"type": "string", "default": "allow"}},
    }
    assert validate_against_openapi_schema({}, schema) == []


def test_date_time_format_checked() -> None:
    schema = {"type": "string", "format": "date-time"}
    errors = validate_against_openapi_schema("2026-13-01T00:00:00Z", schema)
    assert errors == ['(root): invalid value "2026-13-01T00:00:00Z", expected format date-time']


def test_date_time_format_accepts_rfc3339() -> None:
    schema = {"type": "string", "format": "date-time"}
    assert validate_against_openapi_schema("2026-01-31T12:00:00.5+02:00", schema) == []


def test_byte_format_checked() -> None:
    errors = validate_against_openapi_schema("not base64!", {"type": "string", "format": "byte"})
    assert errors == ['(root): invalid value "not base64!", expected format byte']


def test_exclusive_minimum_converted() -> None:
    schema = {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    assert to_json_schema(schema) == {"type": "integer", "exclusiveMinimum": 0}


def test_set_list_rejects_duplicates() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}
    errors = validate_against_openapi_schema(["a", "a"], schema)
    assert errors == ['(root): duplicate value "a" in a set list']


def test_map_list_rejects_duplicate_keys() -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["port", "protocol"],
        "items": {
            "type": "object",
            "properties": {
                "port": {"type": "integer"},
                "protocol": {"type": "string", "default": "TCP"},
            },
        },
    }
    errors = validate_against_openapi_schema([{"port": 1}, {"port": 1, "protocol": "TCP"}], schema)
    assert len(errors) == 1, errors


def test_unsupported_keyword_raises() -> None:
    with pytest.raises(ValueError, match="x-kubernetes-embedded-resource"):
        to_json_schema({"type": "object", "x-kubernetes-embedded-resource": True})


def test_missing_schemas_reason_names_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "shared" / "schemas"
    monkeypatch.setattr(crd_schemas, "SCHEMAS_DIR", missing)
    assert not crd_schemas.schemas_available()
    assert str(missing) in crd_schemas._missing_schemas_reason()
