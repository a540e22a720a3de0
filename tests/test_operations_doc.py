"""docs/operations.md against the program: its config commands, stack outputs and sections."""

from __future__ import annotations

import re

import pytest

from policy.psmdb_tls_policy import resource_values
from tests.config_commands import apply_config_set, check_config, config_set_commands
from tests.harness import REPO_ROOT, load_stack_config, run_program

OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"


def doc_text() -> str:
    return OPERATIONS_DOC.read_text(encoding="utf-8")


def test_doc_has_config_commands():
    assert len(config_set_commands(doc_text())) >= 8


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_doc_config_commands_valid_in_order(stack):
    # Applied one after another, as the procedures run them, every step is a valid config.
    config = load_stack_config(REPO_ROOT / f"Pulumi.{stack}.yaml")
    name = config["psmdb-tls:cluster"]["name"]  # type: ignore[index]
    for key, path, raw in config_set_commands(doc_text()):
        config = apply_config_set(config, key, path, raw.replace("<name>", name))
        check_config(config)


def test_doc_stack_outputs_exist():
    outputs = run_program(load_stack_config(REPO_ROOT / "Pulumi.dev.yaml")).stack_outputs
    named = set(re.findall(r"pulumi stack output (\w+)", doc_text()))
    assert named == {"certificateNotAfter", "caRotation", "caCertificatePem"}
    assert named <= set(outputs)


def test_policy_messages_link_existing_sections():
    headings = set(re.findall(r"^#+ (.+)$", doc_text(), re.MULTILINE))
    assert OPERATIONS_DOC.relative_to(REPO_ROOT).as_posix() == resource_values.OPERATIONS_DOC
    for section in resource_values.DOC_SECTIONS:
        assert section in headings
