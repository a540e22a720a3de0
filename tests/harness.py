"""Run the Pulumi program under the emulated engine and collect what it registered.

``run_program`` executes the real ``__main__.py`` (or a callable) the way the Python language
host does, against ``mock_engine.EmulatedProviders`` and ``mock_engine.RecordingMonitor``, and
returns a ``ProgramRun``. Passing ``run.state`` to the next call emulates the next
``pulumi up`` of the same stack.

If the program or the emulated engine fails, ``run_program`` raises ``ProgramFailed``, whose
``error`` is the original exception and whose ``run`` still contains every registration made
before the failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack, wait_for_rpcs
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tests.emulation_common import ProviderError
from tests.mock_engine import (
    EmulatedProviders,
    EngineError,
    EngineState,
    LogRecord,
    OperationRecord,
    RecordedRegistration,
    RecordingEngine,
    RecordingMonitor,
    RegistrationOptions,
)
from tests.property_values import PathElement, contains_secret, secret_at, unwrap_secrets

PROJECT = "psmdb-tls"
# The organization a self-managed (DIY) backend reports.
ORGANIZATION = "organization"
TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
MAIN_PROGRAM = REPO_ROOT / "__main__.py"


@dataclass
class RecordedResource:
    """One registered resource: what the program sent and what the emulated engine returned.

    ``inputs`` and ``outputs`` are plain values; ``raw_inputs`` and ``raw_outputs`` keep secret
    wrappers. ``secret_inputs`` and ``secret_outputs`` name the top-level properties that are
    secret or contain a secret at any depth, and ``is_secret`` and ``is_output_secret`` check a
    nested path. ``operation`` is create, same, update, replace or read (None if the
    registration failed), ``change`` has the changed paths and replacement reasons, and
    ``error`` is the exception the engine raised for the registration.
    ``raw_registered_outputs`` are the outputs a component registered, secret wrappers kept.
    """

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    remote: bool
    id: str | None
    provider: str
    providers: dict[str, str]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    options: RegistrationOptions
    raw_inputs: dict[str, Any]
    raw_outputs: dict[str, Any]
    operation: str | None
    change: OperationRecord | None
    read: bool = False
    error: Exception | None = None
    raw_registered_outputs: dict[str, Any] | None = None
    inputs: dict[str, Any] = field(init=False)
    outputs: dict[str, Any] = field(init=False)
    secret_inputs: set[str] = field(init=False)
    secret_outputs: set[str] = field(init=False)

    def __repr__(self) -> str:
        # Property values stay out of the repr, because they include private keys.
        return f"RecordedResource({self.type} {self.name!r}, operation={self.operation})"

    def __post_init__(self) -> None:
        self.inputs = unwrap_secrets(self.raw_inputs)
        self.outputs = unwrap_secrets(self.raw_outputs)
        self.secret_inputs = {k for k, v in self.raw_inputs.items() if contains_secret(v)}
        self.secret_outputs = {k for k, v in self.raw_outputs.items() if contains_secret(v)}

    @property
    def registered_outputs(self) -> dict[str, Any] | None:
        """Plain values a component passed to ``register_outputs`` (None if it never did)."""
        if self.raw_registered_outputs is None:
            return None
        return unwrap_secrets(self.raw_registered_outputs)

    def is_secret(self, *path: PathElement) -> bool:
        """Return True if the input at ``path`` (keys and list indexes) is or contains a secret.

        A value inside a secret container counts as secret. Raises KeyError for a missing path.
        """
        return secret_at(self.raw_inputs, path)

    def is_output_secret(self, *path: PathElement) -> bool:
        """Like ``is_secret``, for the outputs the engine returned."""
        return secret_at(self.raw_outputs, path)


class OperationMap(Mapping[str, str]):
    """Resource name to operation (create, same, update, replace, delete, read).

    Looking up a name that several resources share raises KeyError listing their types; use
    ``ProgramRun.operation(type, name)`` for those.
    """

    def __init__(self, records: Iterable[OperationRecord]) -> None:
        self._by_name: dict[str, list[OperationRecord]] = {}
        for record in records:
            self._by_name.setdefault(record.name, []).append(record)

    def __getitem__(self, name: str) -> str:
        records = self._by_name[name]
        if len(records) > 1:
            types = ", ".join(record.type for record in records)
            raise KeyError(f"{len(records)} resources are named {name!r} ({types})")
        return records[0].operation

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return repr(
            {name: [r.operation for r in records] for name, records in self._by_name.items()}
        )


@dataclass
class ProgramRun:
    """The outcome of one emulated ``pulumi up`` (or preview) of the program.

    ``resources`` are in registration order, the root stack excluded. ``operation_records``
    maps URNs to what the engine did, deletes included. ``stack_outputs`` are plain values and
    ``secret_stack_outputs`` names the outputs that are secret or contain a secret. ``logs``
    has every message logged through ``pulumi.log`` or reported by an emulated provider, each
    with the URN it is tied to (None when untied). ``warnings`` are those at warning severity.
    ``state`` is what to pass to the next run; a preview or a failed run leaves the stack
    outputs of the previous run in it.
    """

    resources: list[RecordedResource]
    operation_records: dict[str, OperationRecord]
    raw_stack_outputs: dict[str, Any]
    logs: list[LogRecord]
    state: EngineState
    preview: bool
    errors: list[Exception] = field(default_factory=list)

    def __repr__(self) -> str:
        # Property values stay out of the repr, because they include private keys.
        return f"ProgramRun({len(self.resources)} resources, preview={self.preview})"

    @property
    def operations(self) -> OperationMap:
        """Resource name to operation; see ``OperationMap``."""
        return OperationMap(self.operation_records.values())

    def operation(self, type_: str, name: str) -> str:
        """Return the operation for the resource with this type and name."""
        for record in self.operation_records.values():
            if record.type == type_ and record.name == name:
                return record.operation
        raise KeyError(f"no operation recorded for {type_} {name!r}")

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The stack outputs as plain values."""
        return unwrap_secrets(self.raw_stack_outputs)

    @property
    def secret_stack_outputs(self) -> set[str]:
        """Names of the stack outputs that are secret or contain a secret."""
        return {k for k, v in self.raw_stack_outputs.items() if contains_secret(v)}

    @property
    def warnings(self) -> list[LogRecord]:
        """Messages logged or reported at warning severity."""
        return [record for record in self.logs if record.severity == "warning"]

    def find(self, type_: str, name: str | None = None) -> RecordedResource:
        """Return the one resource of ``type_`` (and ``name``). Raises LookupError for 0 or 2+."""
        matches = [
            r for r in self.resources if r.type == type_ and (name is None or r.name == name)
        ]
        if len(matches) != 1:
            expected = type_ if name is None else f"{type_} named {name!r}"
            found = ", ".join(r.name for r in self.find_all(type_)) or "none"
            raise LookupError(
                f"expected one {expected}, found {len(matches)}; {type_} names: {found}"
            )
        return matches[0]

    def find_all(self, type_: str) -> list[RecordedResource]:
        """Return every resource of ``type_`` in registration order."""
        return [r for r in self.resources if r.type == type_]


class ProgramFailed(Exception):
    """Failure of the program or the emulated engine: ``error`` is the cause, ``run`` what ran."""

    def __init__(self, run: ProgramRun, error: BaseException) -> None:
        super().__init__(f"program failed: {type(error).__name__}: {error}")
        self.run = run
        self.error = error


def run_program(
    config: Mapping[str, object],
    *,
    stack: str = "dev",
    state: EngineState | None = None,
    now: datetime | None = None,
    preview: bool = False,
    program: Callable[[], object] | None = None,
    secret_keys: Iterable[str] = (),
) -> ProgramRun:
    """Run the program once under the emulated engine and return what happened.

    ``config`` maps full keys (``psmdb-tls:cluster``) to values; strings are passed as they are
    and other values JSON-encoded, replacing all earlier config. ``secret_keys`` names the keys
    to mark secret. ``state`` is the previous run's ``ProgramRun.state`` (None for a new stack)
    and must belong to ``stack``. ``now`` is the clock the emulated providers use (default: the
    current time). ``program`` replaces ``__main__.py`` with a callable.

    Raises ProgramFailed when the program raises or the engine fails (for example a provider
    rejects an input, or a protected resource would be replaced or deleted).
    """
    if state is not None and state.stack not in (None, stack):
        raise ValueError(f"state belongs to stack {state.stack!r}, not {stack!r}")
    config_strings = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    set_all_config(config_strings, secret_keys=list(secret_keys))

    providers = EmulatedProviders(state, now=now, config=config_strings)
    monitor = RecordingMonitor(providers)
    # RecordingEngine captures each message with its URN, so the logger only keeps test output
    # quiet.
    logger = logging.getLogger(f"{__name__}.program")
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    engine = RecordingEngine(logger)

    _start_runtime(providers, monitor, engine, stack=stack, preview=preview, logger=logger)
    error = _execute(program)
    if error is None:
        providers.finish()
    if error is None and providers.errors:
        error = providers.errors[0]

    succeeded = error is None
    new_state = providers.result_state(preview=preview, succeeded=succeeded)
    stack_outputs = monitor.registered_outputs.get(monitor.stack_urn or "", {})
    previous_outputs = state.outputs if state is not None else {}
    new_state.outputs = dict(stack_outputs if succeeded and not preview else previous_outputs)

    run = ProgramRun(
        resources=[
            _resource(registration, providers, monitor) for registration in monitor.registrations
        ],
        operation_records=dict(providers.operations),
        raw_stack_outputs=stack_outputs,
        logs=[*engine.records, *providers.warnings],
        state=new_state,
        preview=preview,
        errors=list(providers.errors),
    )
    if error is not None:
        raise ProgramFailed(run, error) from error
    return run


def load_stack_config(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a ``Pulumi.<stack>.yaml`` file's ``config:`` mapping in the form run_program takes.

    Keys without a namespace get the project's. Raises ValueError for an encrypted
    (``secure:``) value, which cannot be decrypted here.
    """
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    result: dict[str, object] = {}
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            raise ValueError(
                f"config key {full_key!r} in {path} is encrypted; pass a plain value instead"
            )
        result[full_key] = value
    return result


def _start_runtime(
    providers: EmulatedProviders,
    monitor: RecordingMonitor,
    engine: RecordingEngine,
    *,
    stack: str,
    preview: bool,
    logger: logging.Logger,
) -> None:
    """Point the Pulumi runtime at the emulated engine, with no resource registered yet."""
    # An output that an earlier run left tracked would make the wait_for_rpcs call below
    # re-raise that run's error.
    _discard_tracked_outputs()
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        providers,
        project=PROJECT,
        stack=stack,
        preview=preview,
        logger=logger,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    settings.SETTINGS.engine = engine
    settings.SETTINGS.root_directory = str(REPO_ROOT)
    # set_mocks registers a root stack of its own; let it finish, then forget it, because
    # run_in_stack creates the stack the program exports into.
    _sync_await(wait_for_rpcs())
    monitor.reset()
    settings.ROOT.set(None)
    settings.SETTINGS.outputs.clear()


def _execute(program: Callable[[], object] | None) -> BaseException | None:
    """Run the program inside a new root stack and return the exception it raised, if any."""

    def body() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(MAIN_PROGRAM), run_name="__main__")

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    # NOTE: unlike a real `pulumi up`, which starts a new process, project modules stay imported
    # between runs, so module-level state in components/ would carry over from run to run.
    previous_directory = Path.cwd()
    os.chdir(REPO_ROOT)
    try:
        _sync_await(run_in_stack(body))
    except Exception as error:  # noqa: BLE001 (handed to the caller inside ProgramFailed)
        return error
    finally:
        os.chdir(previous_directory)
        _drain_event_loop()
        _discard_tracked_outputs()
    return None


def _ignore_reported_failures(loop: Any, context: dict[str, Any]) -> None:
    """Event loop exception handler that drops reports of failures ProgramFailed carries.

    When a registration fails, the SDK resolves every output of that resource with the error.
    Outputs the program never awaited are then reported as "never retrieved" when they are
    garbage collected, long after the test that caused them.
    """
    unretrieved = context.get("message") == "Future exception was never retrieved"
    if unretrieved and isinstance(context.get("exception"), (ProviderError, EngineError)):
        return
    loop.default_exception_handler(context)


def _drain_event_loop() -> None:
    """Let fire-and-forget tasks finish, such as pulumi.log calls tied to a resource."""
    loop = _ensure_event_loop()
    loop.set_exception_handler(_ignore_reported_failures)
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))


def _discard_tracked_outputs() -> None:
    """Stop tracking the outputs of a finished run, so that the next run starts clean.

    The SDK (pulumi 3.272) keeps a failed output in ``SETTINGS.outputs`` so that
    ``wait_for_rpcs`` re-raises its error when the program exits. But ``wait_for_rpcs`` raises
    at the first failed RPC before it awaits the tracked outputs, and ``set_mocks`` does not
    replace the set. ``pulumi.runtime.test`` likewise clears the set before each test.
    Outputs still unfinished are cancelled.
    """
    with settings.SETTINGS.lock:
        leftovers = list(settings.SETTINGS.outputs)
        settings.SETTINGS.outputs.clear()
    unfinished = [future for future in leftovers if not future.done()]
    for future in unfinished:
        future.cancel()
    if unfinished:
        _ensure_event_loop().run_until_complete(asyncio.wait(unfinished, timeout=5))
    for future in leftovers:
        if future.done() and not future.cancelled():
            # Marks the error retrieved, so the event loop does not report it when the future
            # is garbage collected. ProgramFailed already carries the run's error.
            future.exception()


def _resource(
    registration: RecordedRegistration, providers: EmulatedProviders, monitor: RecordingMonitor
) -> RecordedResource:
    change = providers.operations.get(registration.urn)
    return RecordedResource(
        type=registration.type,
        name=registration.name,
        urn=registration.urn,
        parent=registration.parent,
        custom=registration.custom,
        remote=registration.remote,
        id=registration.id,
        provider=registration.provider,
        providers=registration.providers,
        dependencies=registration.dependencies,
        property_dependencies=registration.property_dependencies,
        options=registration.options,
        raw_inputs=registration.raw_inputs,
        raw_outputs=registration.raw_outputs or {},
        operation=None if change is None else change.operation,
        change=change,
        read=registration.read,
        error=registration.error,
        raw_registered_outputs=monitor.registered_outputs.get(registration.urn),
    )
