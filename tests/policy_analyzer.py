"""Run the policy pack the way the Pulumi CLI does, without the CLI, and talk to it over gRPC.

`running_policy_pack` starts `python -m pulumi.policy <engine> policy` (the command the CLI's
Python policy runner uses), reads the port the pack prints, and connects on 127.0.0.1.
`reconcile_config` turns a `--policy-pack-config` file into per-policy config the way the CLI
does before it calls Configure: schema defaults first, then `all`, then each policy's entry,
and the result checked against each policy's config schema.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tests.harness import REPO_ROOT, ProgramRun
from tests.policy_args import analyze_request, analyze_stack_request

POLICY_DIR = REPO_ROOT / "policy"
PRODUCTION_CONFIG = POLICY_DIR / "production.json"
STARTUP_TIMEOUT_SECONDS = 60.0
RPC_TIMEOUT_SECONDS = 30.0

LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVELS = {name: value for value, name in LEVEL_NAMES.items()}


@dataclass(frozen=True)
class PolicyConfig:
    """The config of one policy as the CLI hands it to Configure."""

    enforcement_level: str
    properties: dict[str, Any]


def _read_port(process: subprocess.Popen[str]) -> int:
    """Return the port the pack prints on its first line, or raise with its stderr."""
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []
    # readline blocks, so it runs in a thread that the join below bounds in time.
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(STARTUP_TIMEOUT_SECONDS)
    if not lines or not lines[0].strip().isdigit():
        process.kill()
        _, stderr = process.communicate(timeout=10)
        raise RuntimeError(f"policy pack did not print its port: {lines!r}\n{stderr}")
    return int(lines[0])


@contextlib.contextmanager
def running_policy_pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the policy pack, yield a stub connected to it, and stop the process afterwards."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    process = subprocess.Popen(
        # The engine address is parsed but not used by a Python policy pack.
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=environment,
    )
    try:
        port = _read_port(process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT_SECONDS)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)


def analyzer_info(stub: analyzer_pb2_grpc.AnalyzerStub) -> analyzer_pb2.AnalyzerInfo:
    return stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_SECONDS)


def config_schema(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    """Return a policy's config schema as the JSON Schema object the CLI validates with."""
    schema: dict[str, Any] = {"type": "object"}
    properties = json_format.MessageToDict(policy.configSchema.properties)
    if properties:
        schema["properties"] = properties
    if policy.configSchema.required:
        schema["required"] = list(policy.configSchema.required)
    return schema


def load_config_file(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _split_entry(entry: Any) -> tuple[str | None, dict[str, Any]]:
    """Split a config file entry into its enforcement level and its properties."""
    if isinstance(entry, str):
        return entry, {}
    properties = dict(entry)
    return properties.pop("enforcementLevel", None), properties


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, file_config: Mapping[str, Any] | None = None
) -> dict[str, PolicyConfig]:
    """Return the per-policy config the CLI would send, or raise ValueError for invalid config."""
    result: dict[str, PolicyConfig] = {}
    for policy in info.policies:
        schema = config_schema(policy)
        defaults = {
            key: spec["default"]
            for key, spec in schema.get("properties", {}).items()
            if "default" in spec
        }
        result[policy.name] = PolicyConfig(LEVEL_NAMES[policy.enforcementLevel], defaults)
    entries = dict(file_config or {})
    all_level, _ = _split_entry(entries.pop("all", {}))
    if all_level is not None:
        result = {
            name: PolicyConfig(all_level, config.properties) for name, config in result.items()
        }
    for name, entry in entries.items():
        level, properties = _split_entry(entry)
        current = result.get(name, PolicyConfig("advisory", {}))
        result[name] = PolicyConfig(
            level or current.enforcement_level, {**current.properties, **properties}
        )
    errors = []
    for policy in info.policies:
        validator = jsonschema.Draft7Validator(config_schema(policy))
        for error in validator.iter_errors(result[policy.name].properties):
            errors.append(f"{policy.name}: {error.message}")
    if errors:
        raise ValueError("invalid policy pack config: " + "; ".join(errors))
    return result


def mandatory_violations(
    stub: analyzer_pb2_grpc.AnalyzerStub, run: ProgramRun
) -> list[tuple[str, str]]:
    """Return (policy name, message) of each mandatory violation the pack reports for `run`.

    Each custom resource goes through Analyze with its inputs and all of them through
    AnalyzeStack with their outputs, as the engine sends them during an update.
    """
    custom = [resource for resource in run.resources if resource.custom]
    responses = [stub.Analyze(analyze_request(r), timeout=RPC_TIMEOUT_SECONDS) for r in custom]
    responses.append(stub.AnalyzeStack(analyze_stack_request(custom), timeout=RPC_TIMEOUT_SECONDS))
    return [
        (item.policyName, item.message)
        for response in responses
        for item in response.diagnostics
        if item.enforcementLevel == analyzer_pb2.MANDATORY
    ]


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, config: Mapping[str, PolicyConfig]) -> None:
    """Send the per-policy config to the pack, as the CLI does before analysis."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, policy_config in config.items():
        properties = struct_pb2.Struct()
        properties.update(policy_config.properties)
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[policy_config.enforcement_level], properties=properties
            )
        )
    stub.Configure(request, timeout=RPC_TIMEOUT_SECONDS)
