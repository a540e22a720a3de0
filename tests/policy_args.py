"""pulumi-policy argument objects and analyzer requests built from resources that run_program recorded.

Properties take the path the engine gives them. They are encoded into a protobuf Struct, so every
number becomes a float and an unknown value the wire marker. pulumi-policy's own deserializer then
drops the secret markers, and its unknown-checking proxy wraps the result. Resource validations get
a resource's inputs and stack validations its outputs, as the engine sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tests.harness import ProgramRun, RecordedResource
from tests.property_values import is_secret, is_unknown

Violation = tuple[str, str | None]


def to_wire(value: Any) -> Any:
    """Return a raw recorded value as JSON the engine would send: unknowns as the wire marker."""
    if is_unknown(value):
        return rpc.UNKNOWN
    if is_secret(value):
        return {**value, "value": to_wire(value["value"])}
    if isinstance(value, Mapping):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    return value


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(to_wire(values))
    return struct


def policy_props(values: Mapping[str, Any]) -> Any:
    """Return `values` in the form a policy receives them (see the module docstring)."""
    decoded = deserialize_properties(json_format.MessageToDict(to_struct(values)))
    return unknown_checking_proxy(decoded)


def policy_options(resource: RecordedResource) -> PolicyResourceOptions:
    options = resource.options
    return PolicyResourceOptions(
        protect=bool(options.protect),
        ignore_changes=list(options.ignore_changes),
        delete_before_replace=options.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(options.additional_secret_outputs),
        parent=resource.parent or None,
    )


def resource_args(
    resource: RecordedResource,
    *,
    config: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> ResourceValidationArgs:
    """Build the args of a resource validation; `inputs` replaces the recorded raw inputs."""
    return ResourceValidationArgs(
        resource.type,
        policy_props(resource.raw_inputs if inputs is None else inputs),
        resource.urn,
        resource.name,
        policy_options(resource),
        None,
        dict(config or {}),
    )


def policy_resource(
    resource: RecordedResource, outputs: Mapping[str, Any] | None = None
) -> PolicyResource:
    return PolicyResource(
        resource.type,
        policy_props(resource.raw_outputs if outputs is None else outputs),
        resource.urn,
        resource.name,
        policy_options(resource),
        None,
        None,
        [],
        {},
    )


def stack_args(
    run: ProgramRun,
    *,
    config: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackValidationArgs:
    """Build the args of a stack validation from every custom resource of `run`.

    `outputs` maps Pulumi resource names to raw outputs that replace the recorded ones.
    """
    replaced = outputs or {}
    resources = [
        policy_resource(resource, replaced.get(resource.name))
        for resource in run.resources
        if resource.custom
    ]
    return StackValidationArgs(resources, dict(config or {}))


def collect(validate: Any, args: Any) -> list[Violation]:
    """Call a validation function and return the (message, urn) pairs it reported."""
    violations: list[Violation] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        violations.append((message, urn))

    result = validate(args, report_violation)
    assert result is None, "the psmdb-tls validations are synchronous"
    return violations


def analyze_request(
    resource: RecordedResource, inputs: Mapping[str, Any] | None = None
) -> analyzer_pb2.AnalyzeRequest:
    """Build the request the engine sends to Analyze for one resource, from its inputs."""
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=to_struct(resource.raw_inputs if inputs is None else inputs),
        urn=resource.urn,
        name=resource.name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=bool(resource.options.protect)),
    )


def analyze_stack_request(
    resources: Iterable[RecordedResource],
) -> analyzer_pb2.AnalyzeStackRequest:
    """Build the request the engine sends to AnalyzeStack, from the resources' outputs."""
    return analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=resource.type,
                properties=to_struct(resource.raw_outputs),
                urn=resource.urn,
                name=resource.name,
                parent=resource.parent,
            )
            for resource in resources
        ]
    )
