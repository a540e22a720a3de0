"""Emulation of pulumi-kubernetes custom resources: API objects, helm.sh/v3 Release and provider.

Objects echo their inputs, get a generated name when ``metadata.name`` is absent and the default
namespace when a namespaced object has none, and take the id ``namespace/name`` (``name`` for
cluster-scoped kinds), as the real provider reports them.

The replacement rules follow ``forceNewProperties`` in pulumi-kubernetes
(provider/pkg/provider) and its diff tests. A change to ``.metadata.name`` or
``.metadata.namespace`` replaces any object. A Secret's ``.type`` always replaces. Its
``.data`` and ``.stringData`` replace unless the provider has ``enableSecretMutable`` and the
Secret is not ``immutable``. ConfigMap follows the same rule with ``enableConfigMapMutable``. A
changed ``apiVersion`` or ``kind`` also replaces.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from typing import Any

from pulumi.output import Unknown

from tests.emulation_common import CreateResult, DiffResult, ProviderError, ProviderRequest
from tests.property_values import changed_paths, is_unknown

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

# Kinds the API server serves without a namespace; every other kind, custom ones included, is
# treated as namespaced.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

# Kinds whose names must be DNS-1123 labels; other kinds take DNS-1123 subdomains.
LABEL_NAMED_KINDS = frozenset({"Namespace", "Service"})

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+\Z")


def split_type(type_: str) -> tuple[str, str]:
    """Split ``kubernetes:<group>/<version>:<Kind>`` into (``<group>/<version>``, ``<Kind>``)."""
    _, group_version, kind = type_.split(":", 2)
    return group_version, kind


def _flag(provider_inputs: dict[str, Any], key: str) -> bool:
    """Read a provider boolean; the SDK sends provider inputs as JSON strings."""
    value = provider_inputs.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return value is True


def _default_namespace(provider_inputs: dict[str, Any]) -> str:
    namespace = provider_inputs.get("namespace")
    return namespace if isinstance(namespace, str) and namespace else "default"


def _autoname(resource_name: str) -> str:
    """The provider's generated name: the resource name, a dash and 8 random hex digits."""
    return f"{resource_name}-{secrets.token_hex(4)}"


class KubernetesEmulation:
    """Kubernetes API objects (any ``kubernetes:<group>/<version>:<Kind>``) and Helm releases."""

    def handles(self, type_: str) -> bool:
        """Return True for custom resource types of the kubernetes package."""
        return type_.startswith("kubernetes:")

    def secret_outputs(self, type_: str) -> frozenset[str]:
        """Return the Secret fields the kubernetes schema marks secret."""
        return frozenset({"data", "stringData"}) if type_ == SECRET else frozenset()

    def check(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Reject what the provider or API server would reject for these inputs."""
        checked = copy.deepcopy(inputs)
        if type_ == HELM_RELEASE:
            if checked.get("chart") is None:
                raise ProviderError(type_, name, "chart", "missing required input")
            return checked
        group_version, kind = split_type(type_)
        # A patch resource (``SecretPatch``) carries the kind of the object it patches.
        expected_values = {
            "apiVersion": {group_version.removeprefix("core/")},
            "kind": {kind, kind.removesuffix("Patch")},
        }
        for key, expected in expected_values.items():
            value = checked.get(key)
            if value is not None and not is_unknown(value) and value not in expected:
                allowed = " or ".join(repr(item) for item in sorted(expected))
                raise ProviderError(type_, name, key, f"expected {allowed}, got {value!r}")
        metadata = checked.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ProviderError(type_, name, "metadata", f"expected an object, got {metadata!r}")
        self._check_name(type_, name, kind, metadata)
        if type_ == SECRET:
            self._check_secret(type_, name, checked)
        return checked

    def _check_name(self, type_: str, name: str, kind: str, metadata: dict[str, Any]) -> None:
        object_name = metadata.get("name")
        if isinstance(object_name, str):
            label = kind in LABEL_NAMED_KINDS
            pattern, limit = (DNS_LABEL, 63) if label else (DNS_SUBDOMAIN, 253)
            if not pattern.match(object_name) or len(object_name) > limit:
                form = "DNS-1123 label" if label else "DNS-1123 subdomain"
                raise ProviderError(
                    type_,
                    name,
                    "metadata.name",
                    f"{object_name!r} is not a valid {form} (lower-case letters, digits, '-'"
                    f"{'' if label else ', ' + repr('.')}; at most {limit} characters)",
                )
        namespace = metadata.get("namespace")
        if isinstance(namespace, str) and (not DNS_LABEL.match(namespace) or len(namespace) > 63):
            raise ProviderError(
                type_, name, "metadata.namespace", f"{namespace!r} is not a valid DNS-1123 label"
            )

    def _check_secret(self, type_: str, name: str, inputs: dict[str, Any]) -> None:
        keys: set[str] = set()
        for field in ("data", "stringData"):
            entries = inputs.get(field)
            if entries is None or is_unknown(entries):
                continue
            if not isinstance(entries, dict):
                raise ProviderError(type_, name, field, f"expected an object, got {entries!r}")
            for key, value in entries.items():
                if not CONFIG_KEY.match(key):
                    raise ProviderError(
                        type_, name, f"{field}.{key}", "keys may contain only [-._a-zA-Z0-9]"
                    )
                if is_unknown(value):
                    keys.add(key)
                    continue
                if not isinstance(value, str):
                    raise ProviderError(type_, name, f"{field}.{key}", "expected a string")
                if field == "data":
                    try:
                        base64.b64decode(value, validate=True)
                    except ValueError as error:
                        raise ProviderError(
                            type_, name, f"data.{key}", "value is not valid base64"
                        ) from error
                keys.add(key)
        secret_type = inputs.get("type")
        if secret_type == "kubernetes.io/tls" and not any(
            is_unknown(inputs.get(field)) for field in ("data", "stringData")
        ):
            for required in ("tls.crt", "tls.key"):
                if required not in keys:
                    raise ProviderError(
                        type_, name, f"data.{required}", "required for type kubernetes.io/tls"
                    )

    def diff(
        self,
        request: ProviderRequest,
        old_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
    ) -> DiffResult:
        """Diff inputs and mark the paths the provider treats as forcing replacement."""
        result = DiffResult(changed=changed_paths(old_inputs, request.inputs))
        replacing: set[tuple]
        if request.type == HELM_RELEASE:
            replacing = {("name",), ("namespace",)}
        else:
            replacing = {("metadata", "name"), ("metadata", "namespace"), ("apiVersion",)}
            replacing |= {("kind",)} | self._content_paths(request)
        for path in result.changed:
            if any(path[: len(prefix)] == prefix for prefix in replacing):
                result.replace.append(path)
                result.reasons.append(f"{'.'.join(str(p) for p in path)} changed")
        return result

    def _content_paths(self, request: ProviderRequest) -> set[tuple]:
        immutable = request.inputs.get("immutable") is True
        if request.type == SECRET:
            mutable = _flag(request.provider_inputs, "enableSecretMutable") and not immutable
            return {("type",)} if mutable else {("type",), ("data",), ("stringData",)}
        if request.type == CONFIG_MAP:
            mutable = _flag(request.provider_inputs, "enableConfigMapMutable") and not immutable
            return set() if mutable else {("data",), ("binaryData",)}
        return set()

    def create(self, request: ProviderRequest) -> CreateResult:
        """Echo the inputs with the generated name and default namespace filled in."""
        outputs = self._outputs(request, previous_name=None)
        resource_id = "" if request.preview else self._id(request, outputs)
        return CreateResult(id=resource_id, outputs=outputs)

    def update(
        self, request: ProviderRequest, old_id: str, old_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Echo the new inputs, keeping the generated name an earlier create chose."""
        if request.type == HELM_RELEASE:
            previous_name = old_outputs.get("name")
            outputs = self._outputs(request, previous_name=previous_name)
            status = old_outputs.get("status") or {}
            outputs["status"]["revision"] = int(status.get("revision", 1)) + 1
            return outputs
        previous_name = (old_outputs.get("metadata") or {}).get("name")
        return self._outputs(request, previous_name=previous_name)

    def _outputs(self, request: ProviderRequest, previous_name: str | None) -> dict[str, Any]:
        outputs = copy.deepcopy(request.inputs)
        namespace = _default_namespace(request.provider_inputs)
        if request.type == HELM_RELEASE:
            outputs.setdefault("name", previous_name or _autoname(request.name))
            outputs.setdefault("namespace", namespace)
            outputs["status"] = {
                "name": outputs["name"],
                "namespace": outputs["namespace"],
                "chart": outputs.get("chart"),
                "version": outputs.get("version"),
                "status": Unknown() if request.preview else "deployed",
                "revision": 1,
            }
            return outputs
        metadata = outputs.setdefault("metadata", {})
        metadata.setdefault("name", previous_name or _autoname(request.name))
        _, kind = split_type(request.type)
        if kind not in CLUSTER_SCOPED_KINDS:
            metadata.setdefault("namespace", namespace)
        return outputs

    def _id(self, request: ProviderRequest, outputs: dict[str, Any]) -> str:
        if request.type == HELM_RELEASE:
            return f"{outputs['namespace']}/{outputs['name']}"
        metadata = outputs["metadata"]
        namespace = metadata.get("namespace")
        if isinstance(namespace, str) and namespace:
            return f"{namespace}/{metadata['name']}"
        return str(metadata["name"])
