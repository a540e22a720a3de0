"""docs/operations.md against the program: its config commands, stack outputs and sections."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from policy.psmdb_tls_policy import resource_values
from tests.cert_manager_runs import cert_manager_config
from tests.config_commands import apply_config_set, check_config, config_set_commands
from tests.harness import REPO_ROOT, ProgramFailed, load_stack_config, run_program
from tests.policy_analyzer import (
    PRODUCTION_CONFIG,
    analyzer_info,
    configure,
    load_config_file,
    mandatory_violations,
    reconcile_config,
    running_policy_pack,
)
from tests.program_views import SELF_SIGNED

OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
# The local update the prod section prescribes for a step that needs the policy override.
OVERRIDE_UP = "pulumi up --stack prod --policy-pack policy"
SH_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```", re.DOTALL | re.MULTILINE)


def doc_text() -> str:
    return OPERATIONS_DOC.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """Return the doc from `heading` (a whole heading line) to the next heading of its level."""
    text = doc_text()
    start = text.index(f"\n{heading}\n") + 1
    body_start = start + len(heading) + 1
    level = len(heading.split(" ", 1)[0])
    following = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, body_start)
    return text[start : len(text) if following is None else following.start()]


def blocks_by_heading() -> list[tuple[str, str]]:
    """Return (nearest heading above, script) for every ```sh block of the doc."""
    text = doc_text()
    headings = [
        (match.start(), match.group(1)) for match in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)
    ]
    result = []
    for match in SH_BLOCK.finditer(text):
        heading = [title for position, title in headings if position < match.start()][-1]
        result.append((heading, match.group(1)))
    return result


def fill_placeholders(config: dict[str, Any], raw: str) -> str:
    """Replace `<name>` and `<next-generation>` in a documented value for `config`."""
    name = config["psmdb-tls:cluster"]["name"]
    generation = config.get("psmdb-tls:tls", {}).get("caRotation", {}).get("generation", 1)
    return raw.replace("<name>", name).replace("<next-generation>", str(generation + 1))


def apply_commands(config: dict[str, Any], commands: list[tuple[str, list[str], str]]) -> Any:
    for key, path, raw in commands:
        config = apply_config_set(config, key, path, fill_placeholders(config, raw))
    return config


def test_doc_has_config_commands():
    assert len(config_set_commands(doc_text())) >= 8


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_doc_config_commands_valid_in_order(stack):
    # Applied one after another, as the procedures run them, every step is a valid config.
    config: Any = load_stack_config(REPO_ROOT / f"Pulumi.{stack}.yaml")
    for command in config_set_commands(doc_text()):
        config = apply_commands(config, [command])
        check_config(config)


def test_doc_stack_outputs_exist():
    outputs = run_program(load_stack_config(REPO_ROOT / "Pulumi.dev.yaml")).stack_outputs
    named = set(re.findall(r"pulumi stack output (\w+)", doc_text()))
    assert named == {"certificateNotAfter", "caRotation", "caCertificatePem"}
    assert named <= set(outputs)


def test_policy_messages_link_existing_sections():
    headings = set(re.findall(r"^#+ (.+)$", doc_text(), re.MULTILINE))
    assert OPERATIONS_DOC.relative_to(REPO_ROOT).as_posix() == resource_values.OPERATIONS_DOC
    for section_title in resource_values.DOC_SECTIONS:
        assert section_title in headings


# --- Config changes go through commits and CI ---------------------------------------------------


def test_doc_config_changes_committed_not_applied():
    blocks = [block for _, block in blocks_by_heading() if "pulumi config set" in block]
    assert len(blocks) >= 10
    for block in blocks:
        assert "pulumi up" not in block, block
        after_last_set = block[block.rindex("pulumi config set") :]
        assert re.search(r"git commit .*Pulumi\.(<stack>|prod)\.yaml", after_last_set), block


def test_doc_local_up_only_where_documented():
    headings = {heading for heading, block in blocks_by_heading() if "pulumi up" in block}
    assert headings == {"On prod", "Recover a deleted TLS Secret"}


# --- The prod mode switch under production.json -------------------------------------------------


def prod_steps() -> list[tuple[list[tuple[str, list[str], str]], bool]]:
    """Return each config step of the prod section, with whether the doc overrides policy.

    A step needs the override when a block running OVERRIDE_UP without production.json
    follows it, before the next step.
    """
    steps: list[tuple[list[tuple[str, list[str], str]], bool]] = []
    for block in SH_BLOCK.findall(section("### On prod")):
        commands = config_set_commands(block)
        if commands:
            steps.append((commands, False))
        elif OVERRIDE_UP in block and "production.json" not in block and steps:
            steps[-1] = (steps[-1][0], True)
    return steps


@pytest.fixture(scope="module")
def production_pack():
    with running_policy_pack() as stub:
        configure(stub, reconcile_config(analyzer_info(stub), load_config_file(PRODUCTION_CONFIG)))
        yield stub


def test_doc_prod_mode_steps_meet_production(production_pack):
    # Every step the doc deploys through CI passes production.json, and every step it marks
    # for the override really needs it, for the two policies the doc names.
    config: Any = load_stack_config(REPO_ROOT / "Pulumi.prod.yaml")
    run = run_program(config, stack="prod", now=NOW)
    assert mandatory_violations(production_pack, run) == []
    steps = prod_steps()
    assert [override for _, override in steps] == [False, True, True, True, False, False]
    for commands, override in steps:
        config = apply_commands(config, commands)
        run = run_program(config, stack="prod", state=run.state, now=NOW)
        policies = {name for name, _ in mandatory_violations(production_pack, run)}
        expected = {"psmdb-tls-mode-required", "psmdb-tls-unsafe-flags-off"} if override else set()
        assert policies == expected, commands
    assert config["psmdb-tls:tls"]["mode"] == "requireTLS"
    assert config["psmdb-tls:cluster"]["pause"] is False


def test_doc_prod_never_uses_prefer_or_allow():
    for _, _, raw in config_set_commands(section("### On prod")):
        assert raw not in ("preferTLS", "allowTLS")


# --- Facts the doc states about the program -----------------------------------------------------


@pytest.mark.parametrize("way", ["selfSigned", "pulumiCa"])
def test_cert_manager_stack_lacks_expiry_outputs(way):
    outputs = run_program(cert_manager_config(way), now=NOW).stack_outputs
    assert "certificateNotAfter" not in outputs
    assert "caRotation" not in outputs
    assert "kubectl get certificate" in section("## Read certificate expiry")


def test_ca_rotation_no_way_back_after_trust_both():
    config: Any = load_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    first = run_program(config, now=NOW)
    trust_both = apply_commands(
        config,
        [
            ("psmdb-tls:tls", ["caRotation", "generation"], "<next-generation>"),
            ("psmdb-tls:tls", ["caRotation", "phase"], "trustBoth"),
        ],
    )
    rotating = run_program(trust_both, state=first.state, now=NOW)
    cas = rotating.find_all(SELF_SIGNED)
    assert len(cas) == 2
    assert all(ca.options.protect for ca in cas)
    back = apply_commands(
        trust_both,
        [
            ("psmdb-tls:tls", ["caRotation", "generation"], "1"),
            ("psmdb-tls:tls", ["caRotation", "phase"], "complete"),
        ],
    )
    with pytest.raises(ProgramFailed):
        run_program(back, state=rotating.state, now=NOW)
    assert "cannot be aborted" in section("## Rotate the CA")
