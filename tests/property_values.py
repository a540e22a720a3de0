"""Helpers for Pulumi property values as the resource monitor receives them.

Inside the mock engine a secret value is the dict ``{<sig key>: <secret sig>, "value": v}`` that
``pulumi.runtime.rpc.wrap_rpc_secret`` builds, and an unknown value (preview only) is a
``pulumi.output.Unknown`` instance. These helpers decode protobuf structs without moving secret
markers, strip or test those markers, and turn values back into a form ``rpc.serialize_properties``
accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc

# pulumi.runtime.rpc has no public name for the key that marks special values (secrets, assets,
# resource references), so the private constant is read once here.
SIGNATURE_KEY: str = rpc._special_sig_key

PathElement = str | int


def is_secret(value: Any) -> bool:
    """Return True if ``value`` itself is a secret wrapper."""
    return rpc.is_rpc_secret(value)


def is_unknown(value: Any) -> bool:
    """Return True if ``value`` is an unknown value, as the SDK or the wire encodes it."""
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def contains_unknown(value: Any) -> bool:
    """Return True if ``value`` or any value nested in it is unknown."""
    if is_unknown(value):
        return True
    if is_secret(value):
        return contains_unknown(value["value"])
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


def contains_secret(value: Any) -> bool:
    """Return True if ``value`` is a secret wrapper or contains one at any depth."""
    if is_secret(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_secret(item) for item in value)
    return False


def unwrap_secrets(value: Any) -> Any:
    """Return a deep copy of ``value`` with every secret wrapper replaced by its content."""
    if is_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, Mapping):
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def secret_at(value: Any, path: Sequence[PathElement]) -> bool:
    """Return True if ``value`` at ``path`` is secret or sits inside a secret container.

    Raises KeyError if the path does not exist in ``value``.
    """
    current = value
    for element in path:
        if is_secret(current):
            return True
        if (
            isinstance(current, Mapping)
            and isinstance(element, str)
            and element in current
            or isinstance(current, list)
            and isinstance(element, int)
            and element < len(current)
        ):
            current = current[element]
        else:
            raise KeyError(f"property path {list(path)!r} not found at {element!r}")
    return is_secret(current) or contains_secret(current)


def decode_value(value: struct_pb2.Value, *, keep_unknowns: bool) -> Any:
    """Decode one protobuf ``Value`` into Python values, keeping secret wrappers where they are.

    ``rpc.deserialize_property`` moves a nested secret up to the enclosing dict or list. The real
    engine keeps it in place, so this decoder does too. Assets, archives and resource references
    are left to the SDK decoder. An unknown becomes ``Unknown()`` when ``keep_unknowns`` is true
    and ``None`` otherwise, as the SDK does outside a preview.
    """
    kind = value.WhichOneof("kind")
    if kind == "null_value" or kind is None:
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        if value.string_value == rpc.UNKNOWN:
            return Unknown() if keep_unknowns else None
        return value.string_value
    if kind == "list_value":
        return [decode_value(item, keep_unknowns=keep_unknowns) for item in value.list_value.values]
    return decode_struct(value.struct_value, keep_unknowns=keep_unknowns)


def decode_struct(struct: struct_pb2.Struct, *, keep_unknowns: bool) -> Any:
    """Decode a protobuf ``Struct`` like ``decode_value``. Keys whose value is null are dropped."""
    signature = struct.fields.get(SIGNATURE_KEY)
    if signature is not None:
        if signature.string_value == rpc.wrap_rpc_secret(None)[SIGNATURE_KEY]:
            inner = struct.fields.get("value")
            decoded = None if inner is None else decode_value(inner, keep_unknowns=keep_unknowns)
            return rpc.wrap_rpc_secret(decoded)
        return rpc.deserialize_properties(struct, keep_unknowns=keep_unknowns)
    result: dict[str, Any] = {}
    for key, item in struct.fields.items():
        decoded = decode_value(item, keep_unknowns=keep_unknowns)
        if decoded is not None:
            result[key] = decoded
    return result


def to_wire(value: Any) -> Any:
    """Return ``value`` with ``Unknown`` instances replaced by the wire marker for unknowns."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if is_secret(value):
        return rpc.wrap_rpc_secret(to_wire(value["value"]))
    if isinstance(value, Mapping):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    return value


def from_wire(value: Any) -> Any:
    """Return ``value`` with wire markers for unknowns replaced by ``Unknown`` instances."""
    if value == rpc.UNKNOWN:
        return Unknown()
    if is_secret(value):
        return rpc.wrap_rpc_secret(from_wire(value["value"]))
    if isinstance(value, Mapping):
        return {key: from_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    return value


def values_equal(left: Any, right: Any) -> bool:
    """Compare two plain values the way a property diff does. Unknowns never compare equal."""
    if is_unknown(left) or is_unknown(right):
        return False
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        if set(left) != set(right):
            return False
        return all(values_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return False
        return all(values_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def changed_paths(old: Any, new: Any, prefix: tuple[PathElement, ...] = ()) -> list[tuple]:
    """List the paths at which two plain values differ, stopping at the first differing level.

    Dict keys are compared one by one. Lists and scalars are compared whole, as a JSON merge
    patch replaces them whole.
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        paths: list[tuple] = []
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                paths.append((*prefix, key))
            else:
                paths.extend(changed_paths(old[key], new[key], (*prefix, key)))
        return paths
    if values_equal(old, new):
        return []
    return [prefix]


def format_path(path: Sequence[PathElement]) -> str:
    """Format a property path the way Pulumi prints it (``a.b[0]``, ``data["tls.crt"]``)."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        elif element.replace("_", "a").replace("-", "a").isalnum():
            text += f".{element}" if text else element
        else:
            text += f'["{element}"]'
    return text


def parse_path(text: str) -> list[PathElement]:
    """Parse a Pulumi property path such as ``spec.tls``, ``data["tls.crt"]`` or ``items[0]``.

    ``*`` elements are kept as the string ``"*"`` and match any key or index.
    """
    elements: list[PathElement] = []
    index = 0
    name = ""
    while index < len(text):
        char = text[index]
        if char == ".":
            if name:
                elements.append(name)
            name = ""
            index += 1
        elif char == "[":
            if name:
                elements.append(name)
            name = ""
            end = text.index("]", index)
            inner = text[index + 1 : end]
            if inner.startswith('"') and inner.endswith('"'):
                elements.append(inner[1:-1])
            elif inner == "*":
                elements.append("*")
            else:
                elements.append(int(inner))
            index = end + 1
        else:
            name += char
            index += 1
    if name:
        elements.append(name)
    return elements


def path_overlaps(pattern: Sequence[PathElement], path: Sequence[PathElement]) -> bool:
    """Return True if ``path`` lies at, under or above ``pattern`` (``"*"`` matches anything)."""
    for left, right in zip(pattern, path, strict=False):
        if left != "*" and right != "*" and left != right:
            return False
    return True
