"""A Pulumi engine emulation for unit tests: stateful provider mocks and a recording monitor.

``EmulatedProviders`` takes the place of the engine's step generator and of the pulumi-tls and
pulumi-kubernetes providers. For each registration it compares the inputs with the
``EngineState`` an earlier run left and decides whether the resource is created, unchanged
(``same``), updated in place or replaced. It produces outputs the way the real providers do,
with real keys and certificates for pulumi-tls. ``RecordingMonitor`` records every
``RegisterResourceRequest`` with its options and inputs, secret markers kept where the program
put them.

Engine rules emulated:

- ``ignoreChanges`` copies old input values over new ones before the diff.
- ``replaceOnChanges`` paths and a changed ``replacementTrigger`` force replacement. A null
  trigger on either side does not.
- Replacing a resource protected in both the old state and the new registration fails at once
  in an update and after the run in a preview. Deleting a protected resource fails. Both rules
  and their messages come from pulumi/pulumi ``pkg/resource/deploy`` (step_generator.go,
  step.go).
- ``additionalSecretOutputs`` and secret inputs make the same-named outputs secret.
- Deletes are computed when the run ends, and only a successful update commits them.
"""

from __future__ import annotations

import copy
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pulumi
from google.protobuf import empty_pb2
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tests.emulation_common import (
    CreateResult,
    DiffResult,
    ProviderError,
    ProviderRequest,
    ResourceEmulation,
)
from tests.kubernetes_emulation import KubernetesEmulation
from tests.property_values import (
    PathElement,
    changed_paths,
    contains_secret,
    decode_struct,
    decode_value,
    format_path,
    from_wire,
    is_secret,
    is_unknown,
    parse_path,
    path_overlaps,
    to_wire,
    unwrap_secrets,
    values_equal,
)
from tests.tls_emulation import TlsEmulation

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"

CREATE = "create"
SAME = "same"
UPDATE = "update"
REPLACE = "replace"
DELETE = "delete"
READ = "read"

# Environment variables the kubernetes provider reads when its inputs leave a flag unset.
KUBERNETES_ENVIRONMENT_FLAGS = {
    "PULUMI_K8S_ENABLE_SECRET_MUTABLE": "enableSecretMutable",
    "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE": "enableConfigMapMutable",
}


class EngineError(Exception):
    """A deployment failure the engine itself raises, such as replacing a protected resource."""

    def __init__(self, urn: str, message: str) -> None:
        super().__init__(message)
        self.urn = urn


def build_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """Build a URN the way the engine does: children of the root stack get no type prefix.

    A child of any other resource has the parent's qualified type chain, then ``$``, then its
    own type.
    """
    qualified_type = type_
    if parent_urn:
        parent_type = parent_urn.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified_type = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified_type}::{name}"


@dataclass
class StoredResource:
    """One resource as the engine keeps it in a stack's state after a run.

    ``inputs`` and ``outputs`` keep secret wrappers. ``checked_inputs`` are plain, with the
    provider's defaults filled in. ``replacement_trigger`` is plain and None when unset.
    """

    urn: str
    type: str
    name: str
    custom: bool
    id: str
    parent: str
    provider: str
    inputs: dict[str, Any]
    checked_inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    replacement_trigger: Any = None

    def __repr__(self) -> str:
        # Property values stay out of the repr, because they include private keys.
        return f"StoredResource({self.type} {self.name!r})"


@dataclass
class EngineState:
    """A stack's state between emulated runs, keyed by URN; empty means a first deploy.

    ``outputs`` are the stack outputs of the last successful update (secret wrappers kept); a
    ``pulumi:pulumi:StackReference`` to this stack reads them.

    Pass the ``state`` of one run to the next run of the same stack. A state is never changed
    by a run: every run works on its own copy.
    """

    stack: str | None = None
    project: str | None = None
    resources: dict[str, StoredResource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Property values stay out of the repr, because they include private keys.
        return f"EngineState({len(self.resources)} resources, stack={self.stack!r})"

    def get(self, type_: str, name: str) -> StoredResource | None:
        """Return the resource with this type and name, or None; raise if two match."""
        matches = [r for r in self.resources.values() if r.type == type_ and r.name == name]
        if len(matches) > 1:
            urns = ", ".join(r.urn for r in matches)
            raise LookupError(f"{len(matches)} resources match {type_} '{name}': {urns}")
        return matches[0] if matches else None

    def copy(self) -> EngineState:
        """Return a deep copy."""
        return copy.deepcopy(self)

    def __len__(self) -> int:
        return len(self.resources)


@dataclass
class RegistrationOptions:
    """The resource options a ``RegisterResourceRequest`` carried.

    ``aliases`` contains one dict per alias: ``{"urn": ...}`` or the spec fields ``name``,
    ``type``, ``stack``, ``project``, ``parentUrn`` and ``noParent``. ``replacement_trigger``
    keeps secret wrappers. ``has_replacement_trigger`` is False when the option was not given.
    """

    protect: bool | None = None
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool | None = None
    retain_on_delete: bool | None = None
    additional_secret_outputs: list[str] = field(default_factory=list)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    replacement_trigger: Any = None
    has_replacement_trigger: bool = False
    deleted_with: str = ""
    replace_with: list[str] = field(default_factory=list)
    import_id: str = ""
    hide_diffs: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] | None = None
    version: str = ""
    plugin_download_url: str = ""


class RegistrationArgs(MockResourceArgs):
    """``MockResourceArgs`` plus the URN, parent and options of a registration.

    ``inputs`` keep secret wrappers where the program put them.
    """

    def __init__(
        self,
        *,
        typ: str,
        name: str,
        inputs: dict[str, Any],
        urn: str,
        parent: str,
        custom: bool,
        provider: str,
        options: RegistrationOptions,
        resource_id: str | None = None,
    ) -> None:
        super().__init__(
            typ=typ,
            name=name,
            inputs=inputs,
            provider=provider,
            resource_id=resource_id,
            custom=custom,
        )
        self.urn = urn
        self.parent = parent
        self.options = options


@dataclass
class OperationRecord:
    """What the emulated engine did with one resource in one run.

    ``changed`` lists the changed input paths in Pulumi's notation and ``reasons`` gives the
    cause of a forced replacement. ``delete_before_replace`` is True when a replacement deletes the
    old object before creating the new one.
    """

    urn: str
    type: str
    name: str
    operation: str
    changed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass(frozen=True)
class LogRecord:
    """A diagnostic message: ``severity`` is debug, info, warning or error; ``urn`` may be None."""

    severity: str
    message: str
    urn: str | None


class RecordingEngine(MockEngine):
    """A ``MockEngine`` that also keeps every log message with its severity and resource URN."""

    SEVERITIES: ClassVar[dict[int, str]] = {
        engine_pb2.DEBUG: "debug",
        engine_pb2.INFO: "info",
        engine_pb2.WARNING: "warning",
        engine_pb2.ERROR: "error",
    }

    def __init__(self, logger: Any = None) -> None:
        super().__init__(logger)
        self.records: list[LogRecord] = []
        self._lock = threading.Lock()

    def Log(self, request: Any) -> None:
        """Record the message, then pass it to the logger like ``MockEngine``."""
        severity = self.SEVERITIES.get(request.severity, "info")
        with self._lock:
            self.records.append(LogRecord(severity, request.message, request.urn or None))
        super().Log(request)


class ProviderResourceEmulation:
    """Explicit provider resources (``pulumi:providers:<package>``): echoed, updated in place."""

    def handles(self, type_: str) -> bool:
        return type_.startswith("pulumi:providers:")

    def secret_outputs(self, type_: str) -> frozenset[str]:
        return frozenset()

    def check(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(inputs)

    def diff(
        self, request: ProviderRequest, old_inputs: dict[str, Any], old_outputs: dict[str, Any]
    ) -> DiffResult:
        # NOTE: the real kubernetes provider replaces itself when the cluster identity changes;
        # every provider change is an update here.
        return DiffResult(changed=changed_paths(old_inputs, request.inputs))

    def create(self, request: ProviderRequest) -> CreateResult:
        resource_id = "" if request.preview else str(uuid.uuid4())
        return CreateResult(id=resource_id, outputs=copy.deepcopy(request.inputs))

    def update(
        self, request: ProviderRequest, old_id: str, old_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        return copy.deepcopy(request.inputs)


class EmulatedProviders(pulumi.runtime.Mocks):
    """Engine and provider emulation for successive runs of one stack.

    ``state`` is the previous run's ``EngineState`` (None or empty for a first deploy) and is
    not modified. ``now`` is the clock certificates and renewal checks use (timezone-aware;
    defaults to the current UTC time). ``config`` maps full config keys to the string values the
    program gets; the emulated default providers read their ``<package>:<key>`` settings there.

    After the program finishes call ``finish()``, then read ``operations``, ``warnings``,
    ``errors`` and ``result_state()``.
    """

    def __init__(
        self,
        state: EngineState | None = None,
        now: datetime | None = None,
        *,
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.previous = state.copy() if state is not None else EngineState()
        self.now = _aware(now) if now is not None else datetime.now(UTC)
        self.config = dict(config or {})
        self.tls = TlsEmulation()
        self.emulations: list[ResourceEmulation] = [
            self.tls,
            KubernetesEmulation(),
            ProviderResourceEmulation(),
        ]
        self.current: dict[str, StoredResource] = {}
        self.operations: dict[str, OperationRecord] = {}
        self.warnings: list[LogRecord] = []
        self.errors: list[Exception] = []
        # Old URNs matched by this run's registrations, keyed by the new URN (they differ when an
        # alias matched).
        self._matched_old_urns: dict[str, str] = {}
        self._lock = threading.RLock()

    # --- Mocks interface ------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        """Run one registration through the emulated engine and return its id and outputs."""
        registration = args if isinstance(args, RegistrationArgs) else _plain_args(args)
        with self._lock:
            if registration.resource_id and not registration.options.import_id:
                return self._read(registration)
            if not registration.custom:
                return self._register_component(registration)
            # NOTE: a registration with an import id is emulated as a create.
            return self._register_custom(registration)

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        """Emulate the provider functions the program may call and reject the others."""
        if args.token == "tls:index/getPublicKey:getPublicKey":
            return self.tls.get_public_key(unwrap_secrets(args.args)), []
        raise NotImplementedError(
            f"no emulation for function {args.token}; add one to EmulatedProviders.call in "
            "tests/mock_engine.py"
        )

    # --- end of run -----------------------------------------------------------------------

    def finish(self) -> None:
        """Record deletes for resources the program no longer registers.

        Call it only after a program that completed, because the engine deletes nothing when
        the program fails.
        """
        with self._lock:
            matched = set(self._matched_old_urns.values())
            for urn, old in self.previous.resources.items():
                if urn in matched:
                    continue
                self.operations[urn] = OperationRecord(urn, old.type, old.name, DELETE)
                if old.protect:
                    self.errors.append(
                        EngineError(
                            urn,
                            f'unable to delete resource "{urn}"\nas it is currently marked for '
                            "protection. To unprotect the resource, either remove the `protect` "
                            "flag from the resource in your Pulumi program and run `pulumi up` "
                            f"or use the command:\n`pulumi state unprotect {urn}`",
                        )
                    )

    def result_state(self, *, preview: bool, succeeded: bool) -> EngineState:
        """Return the state the engine would save after this run.

        A preview saves nothing. A failed update keeps every old resource that no successful
        registration of this run replaced, plus what was registered. A successful update keeps
        only what was registered.
        """
        if preview:
            return self.previous.copy()
        state = EngineState(stack=settings.get_stack(), project=settings.get_project())
        if not succeeded:
            superseded = {
                old_urn
                for new_urn, old_urn in self._matched_old_urns.items()
                if new_urn in self.current
            }
            for urn, old in self.previous.resources.items():
                if urn not in superseded and urn not in self.current:
                    state.resources[urn] = copy.deepcopy(old)
        for urn, stored in self.current.items():
            state.resources[urn] = copy.deepcopy(stored)
        return state

    # --- registrations --------------------------------------------------------------------

    def _register_component(self, args: RegistrationArgs) -> tuple[str, dict]:
        old = self._find_previous(args)
        plain = unwrap_secrets(args.inputs)
        if old is None:
            operation = CREATE
        elif values_equal(unwrap_secrets(old.inputs), plain):
            operation = SAME
        else:
            operation = UPDATE
        self._record(args, operation, DiffResult())
        self._store(args, resource_id="", checked=plain, outputs=args.inputs)
        return "", args.inputs

    def _register_custom(self, args: RegistrationArgs) -> tuple[str, dict]:
        emulation = self._emulation_for(args.typ, args.name)
        preview = settings.is_dry_run()
        old = self._find_previous(args)
        plain = unwrap_secrets(args.inputs)
        if old is not None and args.options.ignore_changes:
            plain = _apply_ignore_changes(plain, unwrap_secrets(old.inputs), args)
        checked = emulation.check(args.typ, args.name, plain)
        request = ProviderRequest(
            type=args.typ,
            name=args.name,
            urn=args.urn,
            inputs=checked,
            now=self.now,
            preview=preview,
            provider_inputs=self._provider_inputs(args),
        )

        if old is None:
            operation, diff = CREATE, DiffResult()
        else:
            diff = emulation.diff(request, old.checked_inputs, unwrap_secrets(old.outputs))
            self._apply_engine_replacement_rules(args, old, diff)
            if diff.replace:
                operation = REPLACE
            elif diff.changed:
                operation = UPDATE
            else:
                operation = SAME
        if operation == REPLACE and old is not None:
            self._check_protected_replacement(args, old, preview)

        warnings: list[str] = []
        if operation == SAME and old is not None:
            resource_id, outputs = old.id, old.outputs
        elif operation == UPDATE and old is not None:
            plain_outputs = emulation.update(request, old.id, unwrap_secrets(old.outputs))
            resource_id = old.id
            outputs = self._mark_secrets(emulation, args, plain_outputs)
        else:
            created = emulation.create(request)
            resource_id, warnings = created.id, created.warnings
            outputs = self._mark_secrets(emulation, args, created.outputs)

        record = self._record(args, operation, diff)
        if operation == REPLACE:
            record.delete_before_replace = self._delete_before_replace(args)
        for message in warnings:
            self.warnings.append(LogRecord("warning", message, args.urn))
        self._store(args, resource_id=resource_id, checked=checked, outputs=outputs)
        return resource_id, to_wire(outputs)

    def _read(self, args: RegistrationArgs) -> tuple[str, dict]:
        """Read an existing resource by id. Only resources this stack manages can be found."""
        if args.typ == STACK_REFERENCE_TYPE:
            return self._read_stack_reference(args)
        for stored in [*self.current.values(), *self.previous.resources.values()]:
            if stored.type == args.typ and stored.id == args.resource_id:
                self._record(args, READ, DiffResult())
                return stored.id, to_wire(stored.outputs)
        raise ProviderError(
            args.typ,
            args.name,
            "id",
            f"resource {args.resource_id!r} was not found (the emulation can read only "
            "resources this stack created)",
        )

    def _read_stack_reference(self, args: RegistrationArgs) -> tuple[str, dict]:
        """Return this stack's last outputs for a reference to itself. Other stacks are not found.

        The name may be ``stack``, ``organization/stack`` or ``organization/project/stack``.
        """
        stack_name = str(args.resource_id)
        organization = settings.get_organization()
        project = settings.get_project()
        stack = settings.get_stack()
        full_name = f"{organization}/{project}/{stack}"
        if stack_name not in {stack, f"{organization}/{stack}", full_name}:
            raise ProviderError(
                args.typ,
                args.name,
                "name",
                f"stack {stack_name!r} not found; the emulation can read only {full_name!r}",
            )
        outputs = copy.deepcopy(self.previous.outputs)
        secret_names = sorted(key for key, value in outputs.items() if contains_secret(value))
        self._record(args, READ, DiffResult())
        state = {"name": stack_name, "outputs": outputs, "secretOutputNames": secret_names}
        return stack_name, to_wire(state)

    # --- engine rules ---------------------------------------------------------------------

    def _apply_engine_replacement_rules(
        self, args: RegistrationArgs, old: StoredResource, diff: DiffResult
    ) -> None:
        for pattern_text in args.options.replace_on_changes:
            pattern = parse_path(pattern_text)
            for path in diff.changed:
                if path_overlaps(pattern, path) and path not in diff.replace:
                    diff.replace.append(path)
                    diff.reasons.append(f"replaceOnChanges {pattern_text} matched")
        if args.options.has_replacement_trigger:
            new_trigger = unwrap_secrets(args.options.replacement_trigger)
            old_trigger = old.replacement_trigger
            both_set = new_trigger is not None and old_trigger is not None
            # NOTE: an unknown trigger in a preview is treated as changed; the engine's
            # handling of unknown triggers was not checked.
            if both_set and (is_unknown(new_trigger) or not values_equal(old_trigger, new_trigger)):
                diff.replace.append(("__replacementTrigger",))
                diff.reasons.append("replacementTrigger changed")

    def _check_protected_replacement(
        self, args: RegistrationArgs, old: StoredResource, preview: bool
    ) -> None:
        if not (old.protect and args.options.protect):
            return
        error = EngineError(
            args.urn,
            f'unable to replace resource "{args.urn}"\nas it is currently marked for protection. '
            "To unprotect the resource, remove the `protect` flag from the resource in your "
            "Pulumi program and run `pulumi up`",
        )
        # The engine bails out of an update at once but lets a preview run to the end.
        if not preview:
            raise error
        self.errors.append(error)

    def _delete_before_replace(self, args: RegistrationArgs) -> bool:
        if args.options.delete_before_replace:
            return True
        # pulumi-kubernetes replaces an object with an explicit name by deleting it first, since
        # two objects cannot share a name.
        if args.typ.startswith("kubernetes:") and args.typ != "kubernetes:helm.sh/v3:Release":
            metadata = unwrap_secrets(args.inputs).get("metadata") or {}
            return isinstance(metadata.get("name"), str)
        return False

    def _mark_secrets(
        self, emulation: ResourceEmulation, args: RegistrationArgs, outputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Mark outputs secret the way the engine does.

        Echoed secret inputs stay secret, and schema secrets and ``additionalSecretOutputs``
        become secret.
        """
        secret_names = emulation.secret_outputs(args.typ) | set(
            args.options.additional_secret_outputs
        )
        marked: dict[str, Any] = {}
        for key, value in outputs.items():
            raw = args.inputs.get(key)
            if raw is not None and contains_secret(raw):
                value = raw if values_equal(unwrap_secrets(raw), value) else _wrap(value)
            if key in secret_names and not is_secret(value):
                value = _wrap(value)
            marked[key] = value
        return marked

    # --- helpers --------------------------------------------------------------------------

    def _emulation_for(self, type_: str, name: str) -> ResourceEmulation:
        for emulation in self.emulations:
            if emulation.handles(type_):
                return emulation
        raise NotImplementedError(
            f"no emulation for resource type {type_} (resource '{name}'); add one to "
            "EmulatedProviders.emulations in tests/mock_engine.py"
        )

    def _find_previous(self, args: RegistrationArgs) -> StoredResource | None:
        candidates = [args.urn]
        for alias in args.options.aliases:
            candidates.append(alias.get("urn") or _alias_spec_urn(alias, args))
        for urn in candidates:
            old = self.previous.resources.get(urn)
            if old is not None:
                self._matched_old_urns[args.urn] = urn
                return old
        return None

    def _provider_inputs(self, args: RegistrationArgs) -> dict[str, Any]:
        """Inputs of the explicit provider, or the default provider's stack config."""
        if args.provider:
            provider_urn = args.provider.rsplit("::", 1)[0]
            provider = self.current.get(provider_urn)
            return dict(provider.checked_inputs) if provider is not None else {}
        package = args.typ.split(":", 1)[0]
        inputs: dict[str, Any] = {}
        if package == "kubernetes":
            for variable, key in KUBERNETES_ENVIRONMENT_FLAGS.items():
                if variable in os.environ:
                    inputs[key] = os.environ[variable]
        prefix = f"{package}:"
        for key, value in self.config.items():
            if key.startswith(prefix):
                inputs[key[len(prefix) :]] = value
        return inputs

    def _record(self, args: RegistrationArgs, operation: str, diff: DiffResult) -> OperationRecord:
        record = OperationRecord(
            urn=args.urn,
            type=args.typ,
            name=args.name,
            operation=operation,
            changed=[format_path(path) for path in diff.changed],
            reasons=list(diff.reasons),
        )
        self.operations[args.urn] = record
        return record

    def _store(
        self,
        args: RegistrationArgs,
        *,
        resource_id: str,
        checked: dict[str, Any],
        outputs: dict[str, Any],
    ) -> None:
        trigger = None
        if args.options.has_replacement_trigger:
            trigger = unwrap_secrets(args.options.replacement_trigger)
        self.current[args.urn] = StoredResource(
            urn=args.urn,
            type=args.typ,
            name=args.name,
            custom=bool(args.custom),
            id=resource_id,
            parent=args.parent,
            provider=args.provider or "",
            inputs=copy.deepcopy(args.inputs),
            checked_inputs=copy.deepcopy(checked),
            outputs=copy.deepcopy(outputs),
            protect=bool(args.options.protect),
            retain_on_delete=bool(args.options.retain_on_delete),
            replacement_trigger=trigger,
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _wrap(value: Any) -> Any:
    return rpc.wrap_rpc_secret(value)


def _plain_args(args: MockResourceArgs) -> RegistrationArgs:
    """Adapt args from a plain ``MockMonitor``, which carries no URN, parent or options."""
    return RegistrationArgs(
        typ=args.typ,
        name=args.name,
        inputs=args.inputs,
        urn=build_urn(settings.get_stack(), settings.get_project(), "", args.typ, args.name),
        parent="",
        custom=bool(args.custom),
        provider=args.provider or "",
        options=RegistrationOptions(),
        resource_id=args.resource_id,
    )


def _alias_spec_urn(alias: dict[str, Any], args: RegistrationArgs) -> str:
    # NOTE: aliases a child inherits from its parent's aliases are not computed here.
    parent = "" if alias.get("noParent") else alias.get("parentUrn") or args.parent
    return build_urn(
        alias.get("stack") or settings.get_stack(),
        alias.get("project") or settings.get_project(),
        parent,
        alias.get("type") or args.typ,
        alias.get("name") or args.name,
    )


def _apply_ignore_changes(
    new: dict[str, Any], old: dict[str, Any], args: RegistrationArgs
) -> dict[str, Any]:
    """Copy old input values over new ones at each ``ignoreChanges`` path, as the engine does."""
    result = copy.deepcopy(new)
    for path_text in args.options.ignore_changes:
        if path_text == "*":
            return copy.deepcopy(old)
        _copy_path(result, old, parse_path(path_text))
    return result


def _copy_path(target: Any, source: Any, path: list[PathElement]) -> None:
    """Make ``target`` match ``source`` at ``path``: copy the old value, or drop the new one."""
    head, rest = path[0], path[1:]
    if isinstance(target, dict):
        old = source if isinstance(source, dict) else {}
        keys = set(target) | set(old) if head == "*" else {head}
        for key in keys:
            if not rest:
                if key in old:
                    target[key] = copy.deepcopy(old[key])
                else:
                    target.pop(key, None)
            elif key in target:
                _copy_path(target[key], old.get(key), rest)
            elif isinstance(old.get(key), dict):
                target[key] = {}
                _copy_path(target[key], old[key], rest)
    elif isinstance(target, list) and isinstance(source, list):
        indexes = range(min(len(target), len(source))) if head == "*" else [head]
        for index in indexes:
            if not isinstance(index, int) or index >= len(target) or index >= len(source):
                continue
            if rest:
                _copy_path(target[index], source[index], rest)
            else:
                target[index] = copy.deepcopy(source[index])


# --- monitor --------------------------------------------------------------------------------


@dataclass
class RecordedRegistration:
    """One ``RegisterResourceRequest`` (or ``ReadResourceRequest``) as the monitor received it.

    ``raw_inputs`` keep secret wrappers where the program put them. ``id`` and ``raw_outputs``
    are filled in when the engine returns, and ``error`` when it fails.
    """

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    remote: bool
    provider: str
    providers: dict[str, str]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    raw_inputs: dict[str, Any]
    options: RegistrationOptions
    read: bool = False
    id: str | None = None
    raw_outputs: dict[str, Any] | None = None
    error: Exception | None = None

    def __repr__(self) -> str:
        # Property values stay out of the repr, because they include private keys.
        return f"RecordedRegistration({self.type} {self.name!r})"


class RecordingMonitor(MockMonitor):
    """A ``MockMonitor`` that records every registration and builds URNs like the engine.

    ``registrations`` lists resources in the order they reached the monitor, the root stack
    excluded. ``registered_outputs`` maps a URN to the outputs given to
    ``RegisterResourceOutputs`` (secret wrappers kept). The root stack's entry contains the stack
    outputs. Registrations arrive on several threads, so they are serialised.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[RecordedRegistration] = []
        self.registered_outputs: dict[str, dict[str, Any]] = {}
        self.stack_urn: str | None = None
        self._lock = threading.RLock()

    def reset(self) -> None:
        """Forget everything recorded so far (used to drop the stack ``set_mocks`` creates)."""
        with self._lock:
            self.registrations.clear()
            self.registered_outputs.clear()
            self.resources.clear()
            self.stack_urn = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """Build the URN the engine would assign."""
        return build_urn(settings.get_stack(), settings.get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        """Record the request, run it through the mocks and respond like ``MockMonitor``."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            with self._lock:
                self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        keep_unknowns = settings.is_dry_run()
        registration = RecordedRegistration(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            custom=request.custom,
            remote=request.remote,
            provider=request.provider,
            providers=dict(request.providers),
            dependencies=list(request.dependencies),
            property_dependencies={
                key: list(value.urns) for key, value in request.propertyDependencies.items()
            },
            raw_inputs=decode_struct(request.object, keep_unknowns=keep_unknowns),
            options=_decode_options(request, keep_unknowns),
        )
        return self._run(registration, request.importId or None)

    def ReadResource(self, request: Any) -> Any:
        """Record a ``Resource.get`` read and serve it from the emulated state."""
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        registration = RecordedRegistration(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            custom=True,
            remote=False,
            provider=request.provider,
            providers={},
            dependencies=list(request.dependencies),
            property_dependencies={},
            raw_inputs=decode_struct(request.properties, keep_unknowns=settings.is_dry_run()),
            options=RegistrationOptions(),
            read=True,
        )
        response = self._run(registration, request.id)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=response.object)

    def _run(self, registration: RecordedRegistration, resource_id: str | None) -> Any:
        with self._lock:
            self.registrations.append(registration)
            args = RegistrationArgs(
                typ=registration.type,
                name=registration.name,
                inputs=registration.raw_inputs,
                urn=registration.urn,
                parent=registration.parent,
                custom=registration.custom,
                provider=registration.provider,
                options=registration.options,
                resource_id=resource_id,
            )
            try:
                resource_id, state = self.mocks.new_resource(args)
            except Exception as error:
                registration.error = error
                raise
            registration.id = resource_id or ""
            registration.raw_outputs = from_wire(state)
            self.resources[registration.urn] = MockMonitor.ResourceRegistration(
                registration.urn, resource_id or "", state
            )
        wire_state = _sync_await(rpc.serialize_properties(to_wire(state), {}))
        return resource_pb2.RegisterResourceResponse(
            urn=registration.urn, id=resource_id or "", object=wire_state
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """Record the outputs a component or the root stack registered."""
        outputs = decode_struct(request.outputs, keep_unknowns=settings.is_dry_run())
        with self._lock:
            self.registered_outputs[request.urn] = outputs
        return empty_pb2.Empty()


def _decode_options(request: Any, keep_unknowns: bool) -> RegistrationOptions:
    aliases: list[dict[str, Any]] = []
    for alias in request.aliases:
        if alias.WhichOneof("alias") == "urn":
            aliases.append({"urn": alias.urn})
            continue
        spec = alias.spec
        entry: dict[str, Any] = {
            key: getattr(spec, key) for key in ("name", "type", "stack", "project")
        }
        if spec.WhichOneof("parent") == "parentUrn":
            entry["parentUrn"] = spec.parentUrn
        elif spec.WhichOneof("parent") == "noParent":
            entry["noParent"] = spec.noParent
        aliases.append(entry)
    aliases.extend({"urn": urn} for urn in request.aliasURNs)

    has_trigger = request.HasField("replacement_trigger")
    trigger = (
        decode_value(request.replacement_trigger, keep_unknowns=keep_unknowns)
        if has_trigger
        else None
    )
    timeouts = None
    if request.HasField("customTimeouts"):
        timeouts = {
            key: getattr(request.customTimeouts, key)
            for key in ("create", "update", "delete")
            if getattr(request.customTimeouts, key)
        }
    return RegistrationOptions(
        protect=request.protect if request.HasField("protect") else None,
        ignore_changes=list(request.ignoreChanges),
        replace_on_changes=list(request.replaceOnChanges),
        delete_before_replace=(
            request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None
        ),
        retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
        additional_secret_outputs=list(request.additionalSecretOutputs),
        aliases=aliases,
        replacement_trigger=trigger,
        has_replacement_trigger=has_trigger,
        deleted_with=request.deletedWith,
        replace_with=list(request.replace_with),
        import_id=request.importId,
        hide_diffs=list(request.hideDiffs),
        custom_timeouts=timeouts,
        version=request.version,
        plugin_download_url=request.pluginDownloadURL,
    )
