"""Validation of custom resources against the CRD schemas in ``<repo>/../shared/schemas``.

The CRDs' ``openAPIV3Schema`` (Kubernetes structural schemas) are converted to JSON Schema
2020-12 and checked with ``jsonschema``, approximating what the API server does on create:

* Fields that the schema does not declare are errors, unless the enclosing schema sets
  ``x-kubernetes-preserve-unknown-fields: true``. The API server would prune such a field
  silently (or reject it under strict field validation), which hides typos.
* ``x-kubernetes-int-or-string`` accepts an integer or a string, and ``nullable: true``
  also accepts null. A null value in a field without ``nullable`` is reported as an
  invalid type.
* Formats: ``int32`` and ``int64`` are range-checked, ``date-time`` must be RFC 3339 and
  ``byte`` must be standard base64. Other formats are not checked.
* ``required`` lists are enforced, except for properties that declare a ``default``,
  because the API server applies defaults before it validates.
* Lists with ``x-kubernetes-list-type: set`` must have unique items, and lists of type
  ``map`` must have unique ``x-kubernetes-list-map-keys`` (after key defaults).
* ``metadata`` is checked like ObjectMeta: ``name`` is required and must be a DNS
  subdomain, ``namespace`` a DNS label (and absent on cluster-scoped kinds), label and
  annotation keys qualified names, label values valid label values, and unknown fields
  are errors.

CEL rules (``x-kubernetes-validations``): no CEL engine is used. These CRDs contain five
rules (four distinct texts), and the three that only use ``has()``, boolean logic and
counting are translated to Python below and checked:

* PerconaServerMongoDB ``spec.storageScaling``:
  ``!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled
  || self.enableVolumeScaling`` (checked).
* PerconaServerMongoDB ``spec.storageScaling``:
  ``... || !has(self.enableExternalAutoscaling) || !self.enableExternalAutoscaling``
  (checked).
* Issuer and ClusterIssuer ``spec.venafi``:
  ``(has(self.tpp) ? 1 : 0) + (has(self.cloud) ? 1 : 0) + (has(self.ngts) ? 1 : 0) == 1``
  (checked).
* PerconaServerMongoDB ``spec.vault.endpointURL``: ``isURL(self)`` is NOT checked.
  ``isURL`` is a Kubernetes CEL library function whose result follows Go's
  ``url.ParseRequestURI``, which this module does not reproduce.

A rule whose text is not in the translation table (for example after a CRD upgrade) is
skipped. The API server's other checks (admission webhooks, immutable fields, the
operator's own validation) are not covered either.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SCHEMAS_DIR: Path = Path(__file__).resolve().parent.parent.parent / "shared" / "schemas"
"""Folder with the CRD files: ``shared/schemas`` beside the repository's root folder."""

CRD_FILES: tuple[str, ...] = (
    "psmdb.percona.com_perconaservermongodbs.yaml",
    "cert-manager.io_certificates.yaml",
    "cert-manager.io_issuers.yaml",
    "cert-manager.io_clusterissuers.yaml",
)
"""CRD files that ``validate_custom_resource`` loads from ``SCHEMAS_DIR``."""

EXAMPLE_CR_FILE: str = "psmdb-cr-example.yaml"
"""The Percona operator's example PerconaServerMongoDB, also in ``SCHEMAS_DIR``."""

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Kubernetes name syntax (k8s.io/apimachinery/pkg/util/validation).
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_QUALIFIED_NAME_PART_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL_MAX = 63
_DNS_SUBDOMAIN_MAX = 253
_QUALIFIED_NAME_PART_MAX = 63
_LABEL_VALUE_MAX = 63
_ANNOTATIONS_MAX_BYTES = 256 * 1024

_OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)

# Schema keywords that the conversion understands. Any other keyword raises ValueError, so a
# CRD using, say, x-kubernetes-embedded-resource fails loudly instead of being half-checked.
_KNOWN_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "default",
        "example",
        "externalDocs",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "nullable",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)
_COPIED_KEYWORDS = (
    "default",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
)
_MAX_VALUE_CHARS = 80


def _missing_schema_files() -> list[str]:
    names = (*CRD_FILES, EXAMPLE_CR_FILE)
    return [name for name in names if not (SCHEMAS_DIR / name).is_file()]


def schemas_available() -> bool:
    """Return whether ``SCHEMAS_DIR`` contains every CRD file and the example CR."""
    return not _missing_schema_files()


def _missing_schemas_reason() -> str:
    if not SCHEMAS_DIR.is_dir():
        return (
            f"CRD schemas not found: folder {SCHEMAS_DIR} does not exist "
            "(it is the shared/schemas folder beside the repository)"
        )
    missing = ", ".join(_missing_schema_files())
    return f"CRD schemas incomplete: {SCHEMAS_DIR} lacks {missing}"


requires_schemas: pytest.MarkDecorator = (
    pytest.mark.skipif(False, reason="CRD schemas found")
    if schemas_available()
    else pytest.mark.skipif(True, reason=_missing_schemas_reason())
)
"""Marker that skips a test when ``SCHEMAS_DIR`` is missing or incomplete."""


def load_example_cr() -> dict[str, Any]:
    """Load the operator's example PerconaServerMongoDB from ``SCHEMAS_DIR``.

    Raises FileNotFoundError when the file is missing.
    """
    with (SCHEMAS_DIR / EXAMPLE_CR_FILE).open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=_YAML_LOADER)
    if not isinstance(loaded, dict):
        raise TypeError(f"{SCHEMAS_DIR / EXAMPLE_CR_FILE} does not contain a YAML mapping")
    return loaded


@functools.lru_cache(maxsize=1)
def _load_crds() -> dict[tuple[str, str], dict[str, Any]]:
    """Load the CRDs and index them by (group, kind)."""
    missing = _missing_schema_files()
    if missing:
        raise FileNotFoundError(_missing_schemas_reason())
    crds: dict[tuple[str, str], dict[str, Any]] = {}
    for name in CRD_FILES:
        with (SCHEMAS_DIR / name).open(encoding="utf-8") as stream:
            for document in yaml.load_all(stream, Loader=_YAML_LOADER):
                if not document or document.get("kind") != "CustomResourceDefinition":
                    continue
                spec = document["spec"]
                crds[(spec["group"], spec["names"]["kind"])] = document
    return crds


# ---------------------------------------------------------------------------------------
# Conversion of Kubernetes structural schemas to JSON Schema


def to_json_schema(openapi_schema: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a CRD version's ``openAPIV3Schema`` to JSON Schema 2020-12.

    The result uses the keywords ``x-kubernetes-list-type`` and ``x-kubernetes-validations``,
    which only the validator behind ``validate_against_openapi_schema`` checks. Raises
    ValueError for schema keywords that the conversion does not support.
    """
    return _convert_schema(openapi_schema)


def _convert_schema(node: Mapping[str, Any], *, in_junctor: bool = False) -> dict[str, Any]:
    """Convert one structural-schema node to JSON Schema 2020-12.

    ``in_junctor`` is true below allOf/anyOf/oneOf/not. There the API server does not prune,
    so undeclared fields are not rejected.
    """
    unknown = set(node) - _KNOWN_KEYWORDS
    if unknown:
        raise ValueError(f"unsupported schema keywords {sorted(unknown)} in CRD schema node")

    result: dict[str, Any] = {key: node[key] for key in _COPIED_KEYWORDS if key in node}
    nullable = bool(node.get("nullable"))
    preserve_unknown = bool(node.get("x-kubernetes-preserve-unknown-fields"))

    schema_type = node.get("type")
    any_of = node.get("anyOf")
    if node.get("x-kubernetes-int-or-string"):
        schema_type = ["integer", "string"]
        if any_of == _INT_OR_STRING_ANY_OF:
            any_of = None
    if schema_type is not None:
        types = list(schema_type) if isinstance(schema_type, list) else [schema_type]
        if nullable:
            types.append("null")
        result["type"] = types[0] if len(types) == 1 else types
    if nullable and "enum" in result and None not in result["enum"]:
        result["enum"] = [*result["enum"], None]

    _convert_bounds(node, result)
    _convert_format(node, result)

    if "properties" in node:
        result["properties"] = {
            name: _convert_schema(child, in_junctor=in_junctor)
            for name, child in node["properties"].items()
        }
    if "required" in node:
        # The API server applies defaults before validation, so a required property with a
        # default is never missing.
        properties = node.get("properties", {})
        result["required"] = [
            name for name in node["required"] if "default" not in properties.get(name, {})
        ]
    additional = node.get("additionalProperties")
    if isinstance(additional, Mapping):
        result["additionalProperties"] = _convert_schema(additional, in_junctor=in_junctor)
    elif additional is not None:
        result["additionalProperties"] = bool(additional)
    elif schema_type == "object" and not preserve_unknown and not in_junctor:
        result["additionalProperties"] = False

    if "items" in node:
        result["items"] = _convert_schema(node["items"], in_junctor=in_junctor)
    for junctor in ("allOf", "oneOf"):
        if junctor in node:
            result[junctor] = [_convert_schema(child, in_junctor=True) for child in node[junctor]]
    if any_of is not None:
        result["anyOf"] = [_convert_schema(child, in_junctor=True) for child in any_of]
    if "not" in node:
        result["not"] = _convert_schema(node["not"], in_junctor=True)

    for key in ("x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-validations"):
        if key in node:
            result[key] = node[key]
    return result


def _convert_bounds(node: Mapping[str, Any], result: dict[str, Any]) -> None:
    """Turn OpenAPI 3.0 boolean exclusiveMinimum/exclusiveMaximum into JSON Schema numbers."""
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(flag) and bound in node:
            result[flag] = node[bound]
            result.pop(bound, None)


def _convert_format(node: Mapping[str, Any], result: dict[str, Any]) -> None:
    schema_format = node.get("format")
    if schema_format in ("int32", "int64"):
        low, high = _INT32_RANGE if schema_format == "int32" else _INT64_RANGE
        result["minimum"] = max(result.get("minimum", low), low)
        result["maximum"] = min(result.get("maximum", high), high)
    elif schema_format in ("date-time", "byte"):
        result["format"] = schema_format


# ---------------------------------------------------------------------------------------
# Keywords the API server checks beyond JSON Schema


def _autoscaling_enabled(storage_scaling: Mapping[str, Any]) -> bool:
    autoscaling = storage_scaling.get("autoscaling")
    return isinstance(autoscaling, Mapping) and autoscaling.get("enabled") is True


def _rule_autoscaling_needs_volume_scaling(storage_scaling: Mapping[str, Any]) -> bool:
    # A missing enableVolumeScaling is a CEL "no such key" error, which fails the rule.
    if not _autoscaling_enabled(storage_scaling):
        return True
    return storage_scaling.get("enableVolumeScaling") is True


def _rule_autoscaling_excludes_external(storage_scaling: Mapping[str, Any]) -> bool:
    if not _autoscaling_enabled(storage_scaling):
        return True
    return storage_scaling.get("enableExternalAutoscaling") is not True


def _rule_one_venafi_backend(venafi: Mapping[str, Any]) -> bool:
    return sum(1 for key in ("tpp", "cloud", "ngts") if key in venafi) == 1


# Keys are the CEL rule texts with runs of whitespace collapsed to one space.
_CEL_TRANSLATIONS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled"
    " || self.enableVolumeScaling": _rule_autoscaling_needs_volume_scaling,
    "!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled"
    " || !has(self.enableExternalAutoscaling) || !self.enableExternalAutoscaling": (
        _rule_autoscaling_excludes_external
    ),
    "(has(self.tpp) ? 1 : 0) + (has(self.cloud) ? 1 : 0) + (has(self.ngts) ? 1 : 0) == 1": (
        _rule_one_venafi_backend
    ),
}


def _check_cel_rules(
    validator: Any, rules: list[Mapping[str, Any]], instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if not isinstance(instance, Mapping):
        return
    for rule in rules:
        check = _CEL_TRANSLATIONS.get(" ".join(rule["rule"].split()))
        # NOTE: rules without a translation (isURL on spec.vault.endpointURL) are not checked.
        if check is None or check(instance):
            continue
        message = rule.get("message") or f"failed validation rule {rule['rule']!r}"
        yield jsonschema.ValidationError(message)


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _check_list_type(
    validator: Any, list_type: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    seen: set[str] = set()
    if list_type == "set":
        for item in instance:
            key = _json_key(item)
            if key in seen:
                yield jsonschema.ValidationError(
                    f"duplicate value {_json_excerpt(item)} in a set list"
                )
            seen.add(key)
        return
    key_names = schema.get("x-kubernetes-list-map-keys", [])
    item_properties = schema.get("items", {}).get("properties", {})
    for item in instance:
        if not isinstance(item, Mapping):
            continue
        keys = {
            name: item.get(name, item_properties.get(name, {}).get("default")) for name in key_names
        }
        key = _json_key(keys)
        if key in seen:
            yield jsonschema.ValidationError(
                f"duplicate entry with map keys {_json_excerpt(keys)} in a map list"
            )
        seen.add(key)


_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339_RE.fullmatch(value):
        return False
    datetime.datetime.fromisoformat(value.upper())
    return True


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True
    base64.b64decode(value, validate=True)
    return True


_FORMAT_CHECKER.checks("date-time", raises=ValueError)(_is_date_time)
_FORMAT_CHECKER.checks("byte", raises=binascii.Error)(_is_base64)


_KubernetesValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {
        "x-kubernetes-validations": _check_cel_rules,
        "x-kubernetes-list-type": _check_list_type,
    },
)


@functools.cache
def _validator_for(group: str, kind: str, version: str) -> Any:
    crd = _load_crds()[(group, kind)]
    (version_spec,) = [entry for entry in crd["spec"]["versions"] if entry["name"] == version]
    root = dict(version_spec["schema"]["openAPIV3Schema"])
    # The API server accepts apiVersion, kind and metadata at the root even where the schema
    # omits them. ObjectMeta is checked by _metadata_errors because CRDs declare it only as
    # an object.
    root["properties"] = {
        **root.get("properties", {}),
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {},
    }
    return _KubernetesValidator(_convert_schema(root), format_checker=_FORMAT_CHECKER)


def _schema_errors(validator: Any, instance: Any) -> list[str]:
    messages: list[str] = []
    for error in validator.iter_errors(instance):
        messages += _describe(error)
    return sorted(set(messages))


# ---------------------------------------------------------------------------------------
# Error messages


def _json_excerpt(value: Any) -> str:
    text = json.dumps(value, default=str)
    if len(text) > _MAX_VALUE_CHARS:
        return text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


_IDENTIFIER_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def format_path(parts: Iterable[Any]) -> str:
    """Format a JSON path as ``spec.replsets[0].name``. Keys that are not identifiers are quoted."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER_RE.fullmatch(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{json.dumps(str(part))}]"
    return text or "(root)"


def _child_path(path: list[Any], key: Any) -> str:
    return format_path([*path, key])


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """Turn one jsonschema error into messages that start with the JSON path."""
    path = list(error.absolute_path)
    keyword = error.validator
    instance = error.instance

    if keyword == "additionalProperties" and error.validator_value is False:
        declared = error.schema.get("properties", {})
        return [
            f"{_child_path(path, key)}: unknown field, not declared in the CRD schema "
            "(the API server would prune it)"
            for key in instance
            if key not in declared
        ]
    if keyword == "required":
        return [
            f"{_child_path(path, key)}: required field is missing"
            for key in error.validator_value
            if key not in instance
        ]

    where = format_path(path)
    expected = error.validator_value
    value = _json_excerpt(instance)
    if keyword == "type":
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return [f"{where}: invalid type {_json_type(instance)}, expected {expected_text}"]
    if keyword == "enum":
        allowed = ", ".join(_json_excerpt(option) for option in expected)
        return [f"{where}: invalid value {value}, expected one of: {allowed}"]
    if keyword == "format":
        return [f"{where}: invalid value {value}, expected format {expected}"]
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [f"{where}: value {value} violates {keyword} {expected}"]
    if keyword == "pattern":
        return [f"{where}: invalid value {value}, must match {expected}"]
    if keyword in ("x-kubernetes-validations", "x-kubernetes-list-type"):
        return [f"{where}: {error.message}"]
    return [f"{where}: {keyword} check failed: {error.message[:200]}"]


# ---------------------------------------------------------------------------------------
# ObjectMeta


def _dns_subdomain_error(value: str) -> str | None:
    if len(value) > _DNS_SUBDOMAIN_MAX:
        return f"longer than {_DNS_SUBDOMAIN_MAX} characters"
    if not _DNS_SUBDOMAIN_RE.fullmatch(value):
        return (
            "must be a lowercase RFC 1123 subdomain: a-z, 0-9, '-' and '.', "
            "starting and ending with an alphanumeric character"
        )
    return None


def _qualified_name_error(value: str) -> str | None:
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix:
            return "prefix before '/' is empty"
        prefix_error = _dns_subdomain_error(prefix)
        if prefix_error:
            return f"prefix {prefix!r} {prefix_error}"
    if len(name) > _QUALIFIED_NAME_PART_MAX:
        return f"name part longer than {_QUALIFIED_NAME_PART_MAX} characters"
    if not _QUALIFIED_NAME_PART_RE.fullmatch(name):
        return (
            "must be a qualified name: an optional DNS subdomain prefix and '/', then "
            "alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character"
        )
    return None


def _label_value_error(value: str) -> str | None:
    if len(value) > _LABEL_VALUE_MAX:
        return f"longer than {_LABEL_VALUE_MAX} characters"
    if value and not _QUALIFIED_NAME_PART_RE.fullmatch(value):
        return (
            "must be empty or alphanumerics, '-', '_' or '.', "
            "starting and ending with an alphanumeric character"
        )
    return None


def _string_map_errors(
    metadata: Mapping[str, Any], field: str, value_check: Callable[[str], str | None] | None
) -> list[str]:
    entries = metadata.get(field)
    if entries is None:
        return []
    if not isinstance(entries, Mapping):
        return [f"metadata.{field}: invalid type {_json_type(entries)}, expected object"]
    errors: list[str] = []
    for key, value in entries.items():
        where = format_path(["metadata", field, key])
        if not isinstance(key, str):
            errors.append(f"{where}: invalid key type {_json_type(key)}, expected string")
            continue
        key_error = _qualified_name_error(key)
        if key_error:
            errors.append(f"{where}: invalid key: {key_error}")
        if not isinstance(value, str):
            errors.append(f"{where}: invalid type {_json_type(value)}, expected string")
            continue
        value_error = value_check(value) if value_check else None
        if value_error:
            errors.append(f"{where}: invalid value {_json_excerpt(value)}: {value_error}")
    return errors


def _metadata_errors(metadata: Any, *, namespaced: bool, kind: str) -> list[str]:
    if not isinstance(metadata, Mapping):
        return [f"metadata: invalid type {_json_type(metadata)}, expected object"]
    errors = [
        f"metadata.{key}: unknown field, not part of ObjectMeta (the API server would drop it)"
        for key in metadata
        if key not in _OBJECT_META_FIELDS
    ]

    name = metadata.get("name")
    if name is None:
        errors.append("metadata.name: required field is missing")
    elif not isinstance(name, str):
        errors.append(f"metadata.name: invalid type {_json_type(name)}, expected string")
    else:
        name_error = _dns_subdomain_error(name)
        if name_error:
            errors.append(f"metadata.name: invalid value {_json_excerpt(name)}: {name_error}")

    namespace = metadata.get("namespace")
    if namespace is not None and not namespaced:
        errors.append(
            f"metadata.namespace: must be absent because {kind} is cluster-scoped "
            "(the API server would clear it)"
        )
    elif namespace is not None and not isinstance(namespace, str):
        errors.append(f"metadata.namespace: invalid type {_json_type(namespace)}, expected string")
    elif namespace is not None and (
        len(namespace) > _DNS_LABEL_MAX or not _DNS_LABEL_RE.fullmatch(namespace)
    ):
        errors.append(
            f"metadata.namespace: invalid value {_json_excerpt(namespace)}: must be a lowercase "
            f"RFC 1123 label of at most {_DNS_LABEL_MAX} characters"
        )

    errors += _string_map_errors(metadata, "labels", _label_value_error)
    errors += _string_map_errors(metadata, "annotations", None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        size = sum(len(str(key)) + len(str(value)) for key, value in annotations.items())
        if size > _ANNOTATIONS_MAX_BYTES:
            errors.append(
                f"metadata.annotations: total size {size} exceeds {_ANNOTATIONS_MAX_BYTES} bytes"
            )

    finalizers = metadata.get("finalizers")
    if finalizers is not None and not isinstance(finalizers, list):
        errors.append(f"metadata.finalizers: invalid type {_json_type(finalizers)}, expected array")
    for index, finalizer in enumerate(finalizers if isinstance(finalizers, list) else []):
        where = f"metadata.finalizers[{index}]"
        if not isinstance(finalizer, str):
            errors.append(f"{where}: invalid type {_json_type(finalizer)}, expected string")
            continue
        finalizer_error = _qualified_name_error(finalizer)
        if finalizer_error:
            errors.append(f"{where}: invalid value {_json_excerpt(finalizer)}: {finalizer_error}")
    return errors


# ---------------------------------------------------------------------------------------
# Public entry points


def _resolve_version(
    obj: Mapping[str, Any],
) -> tuple[tuple[str, str, str, dict[str, Any]] | None, list[str]]:
    """Find the CRD for obj's apiVersion and kind.

    Returns ((group, kind, version, crd) or None when no schema applies, error strings).
    """
    errors: list[str] = []
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not api_version:
        errors.append("apiVersion: required field is missing or not a string")
    if not isinstance(kind, str) or not kind:
        errors.append("kind: required field is missing or not a string")
    if errors:
        return None, errors
    assert isinstance(api_version, str) and isinstance(kind, str)

    group, slash, version = api_version.rpartition("/")
    crds = _load_crds()
    if not slash or (group, kind) not in crds:
        known = ", ".join(f"{g}/{k}" for g, k in sorted(crds))
        return None, [
            f"apiVersion/kind: no CRD for kind {kind!r} in {api_version!r}; known: {known}"
        ]
    crd = crds[(group, kind)]
    versions = {entry["name"]: entry for entry in crd["spec"]["versions"]}
    entry = versions.get(version)
    if entry is None:
        message = (
            f"apiVersion: unknown version {version!r} of {group}/{kind}; "
            f"defined: {', '.join(versions)}"
        )
        return None, [message]
    if not entry.get("served"):
        return None, [f"apiVersion: version {api_version!r} of {kind} is not served"]
    if entry.get("deprecated"):
        warning = entry.get("deprecationWarning") or "deprecated"
        errors.append(f"apiVersion: version {api_version!r} of {kind} is deprecated: {warning}")
    return (group, kind, version, crd), errors


def validate_custom_resource(obj: Mapping[str, Any]) -> list[str]:
    """Validate a custom resource against its CRD and return error strings (empty if valid).

    Supported kinds are PerconaServerMongoDB (``psmdb.percona.com/v1``, plus the older
    served versions) and Certificate, Issuer and ClusterIssuer (``cert-manager.io/v1``).
    Each error starts with the JSON path of the offending value, for example
    ``spec.replsets[0].sizee: unknown field, ...``. An unknown apiVersion or kind, or a
    deprecated version, is reported as an error too. See the module docstring for what is
    and is not checked.

    Raises FileNotFoundError when the CRD files are missing from ``SCHEMAS_DIR``. Tests
    should use the ``requires_schemas`` marker.
    """
    if not isinstance(obj, Mapping):
        return [f"(root): invalid type {_json_type(obj)}, expected object"]
    resolved, errors = _resolve_version(obj)
    if resolved is None:
        return errors
    group, kind, version, crd = resolved

    if "metadata" in obj:
        namespaced = crd["spec"]["scope"] == "Namespaced"
        errors += _metadata_errors(obj["metadata"], namespaced=namespaced, kind=kind)
    else:
        errors.append("metadata.name: required field is missing")

    errors += _schema_errors(_validator_for(group, kind, version), obj)
    return errors


def validate_against_openapi_schema(instance: Any, openapi_schema: Mapping[str, Any]) -> list[str]:
    """Validate ``instance`` against one structural schema and return error strings.

    This applies the same rules as ``validate_custom_resource`` to a bare schema node, without
    the apiVersion, kind and metadata checks. Paths in the errors are relative to
    ``instance``. Raises ValueError for schema keywords that the conversion does not support.
    """
    validator = _KubernetesValidator(to_json_schema(openapi_schema), format_checker=_FORMAT_CHECKER)
    return _schema_errors(validator, instance)


def assert_valid_custom_resource(obj: Mapping[str, Any]) -> None:
    """Raise AssertionError listing every error that ``validate_custom_resource`` returns."""
    errors = validate_custom_resource(obj)
    if errors:
        name = obj.get("metadata", {}).get("name") if isinstance(obj, Mapping) else None
        header = f"{obj.get('kind') if isinstance(obj, Mapping) else 'object'} {name!r} is invalid"
        listing = "\n".join(f"  - {error}" for error in errors)
        raise AssertionError(f"{header} ({len(errors)} errors):\n{listing}")
