"""`pulumi config set --path` commands found in text, applied to a stack config as the CLI would.

The CLI stores `true` and `false` as booleans and whole numbers as integers, and everything
else as a string. Placeholders such as `<name>` in a value are filled in by the caller.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from components.config import load_settings
from components.config_install import load_install

CONFIG_SET = re.compile(r"pulumi config set --path '(psmdb-tls:[A-Za-z]+)\.([A-Za-z.]+)' (\S+)")


def config_set_commands(text: str) -> list[tuple[str, list[str], str]]:
    """Return (top-level key, nested path, raw value) for each command in `text`, in order."""
    return [
        (key, path.split("."), value.rstrip(".,`")) for key, path, value in CONFIG_SET.findall(text)
    ]


def cli_value(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def apply_config_set(config: dict[str, Any], key: str, path: list[str], raw: str) -> dict[str, Any]:
    """Return a copy of `config` with the value set at `key` and the nested `path`."""
    result = copy.deepcopy(config)
    node = result.setdefault(key, {})
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = cli_value(raw)
    return result


def check_config(config: dict[str, Any]) -> None:
    """Parse the config the way the program does; raises ConfigError when it is invalid."""
    settings = load_settings(config)
    load_install(config.get("psmdb-tls:install"), settings.cluster)
