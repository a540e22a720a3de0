"""Types shared by the engine emulation and the per-provider emulations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class ProviderError(Exception):
    """An input or operation the real provider would reject, tied to one property.

    ``property`` is the wire (camelCase) name or path of the offending input, and the message
    names the resource type, the resource name and that property.
    """

    def __init__(self, type_: str, name: str, property_: str, detail: str) -> None:
        super().__init__(f"{type_} resource '{name}': invalid input '{property_}': {detail}")
        self.type = type_
        self.name = name
        self.property = property_
        self.detail = detail


@dataclass
class ProviderRequest:
    """What the engine hands a provider emulation for one registration.

    ``inputs`` are the plain inputs after the provider's check (defaults applied). In a preview
    they may contain ``pulumi.output.Unknown`` values. ``provider_inputs`` are the plain inputs of
    the explicit provider resource the registration names, or the ``<package>:<key>`` stack
    config values when the default provider is used.
    """

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    now: datetime
    preview: bool
    provider_inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiffResult:
    """Property paths that changed, and the subset that forces a replacement."""

    changed: list[tuple] = field(default_factory=list)
    replace: list[tuple] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class CreateResult:
    """A new resource's id, its plain outputs and any warnings the provider reported."""

    id: str
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class ResourceEmulation(Protocol):
    """The contract each provider emulation implements for the engine."""

    def handles(self, type_: str) -> bool:
        """Return True if this emulation implements resource type ``type_``."""
        ...

    def check(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Validate plain inputs and return them with defaults applied, or raise ProviderError."""
        ...

    def diff(
        self,
        request: ProviderRequest,
        old_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
    ) -> DiffResult:
        """Compare checked inputs with the previous run's checked inputs and outputs."""
        ...

    def create(self, request: ProviderRequest) -> CreateResult:
        """Create the resource. A preview leaves computed outputs ``Unknown`` and the id empty."""
        ...

    def update(
        self, request: ProviderRequest, old_id: str, old_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Return the plain outputs after an in-place update that keeps generated material."""
        ...

    def secret_outputs(self, type_: str) -> frozenset[str]:
        """Return the output names the provider schema marks secret."""
        ...
