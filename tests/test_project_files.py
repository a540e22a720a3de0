"""Project files: Pulumi.yaml declares every config key, packages are pinned, CI runs the README's tests."""

from __future__ import annotations

import re

import yaml

from tests.harness import REPO_ROOT

PROJECT_FILE = REPO_ROOT / "Pulumi.yaml"
MAIN_PROGRAM = REPO_ROOT / "__main__.py"
README = REPO_ROOT / "README.md"
CI_SCRIPT = REPO_ROOT / ".ci" / "run"


def project() -> dict:
    return yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8"))


def keys_read_by_program() -> set[str]:
    """Return the project config keys __main__.py reads, from its read_config_value calls."""
    source = MAIN_PROGRAM.read_text(encoding="utf-8")
    return set(re.findall(r'read_config_value\(config, "([A-Za-z]+)"\)', source))


def test_project_name_and_runtime():
    document = project()
    assert document["name"] == "psmdb-tls"
    assert document["runtime"]["name"] == "python"
    assert document["runtime"]["options"]["virtualenv"] == "venv"


def test_program_reads_known_keys():
    assert {"cluster", "tls"} <= keys_read_by_program()


def test_every_config_key_declared():
    declared = project()["template"]["config"]
    for key in keys_read_by_program():
        entry = declared.get(f"psmdb-tls:{key}")
        assert entry is not None, key
        assert entry["description"].strip(), key


def test_declared_keys_are_read():
    declared = set(project()["template"]["config"])
    assert declared == {f"psmdb-tls:{key}" for key in keys_read_by_program()}


def test_requirements_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith(("#", "-r ")):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.]*", line), (
                f"{name}: {line}"
            )


def readme_test_command() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Run the tests", 1)[1]
    return re.search(r"```sh\n(.+?)\n```", section, re.DOTALL).group(1).strip()


def test_ci_runs_readme_test_command():
    command = readme_test_command()
    assert command in CI_SCRIPT.read_text(encoding="utf-8")


def test_readme_command_installs_dev_requirements():
    assert "requirements-dev.txt" in readme_test_command()
