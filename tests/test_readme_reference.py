"""Docs as tests: every CLI command and option, and every config key, appears in the README.

The commands are walked from the Typer app itself; the config keys are those each section's
validator accepts (`Section.check_keys`), recorded while the default tickerwire.toml loads — so
a new command, option or key fails here until the README mentions it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from pipelines import config as config_mod
from pipelines.cli import app
from pipelines.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(`import bars`-style path, click command) for every leaf command of the app."""
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            yield from commands(command.get_command(None, name), (*path, name))
    else:
        yield " ".join(path), command


def long_options(command: Any) -> list[str]:
    """The --long spellings of a command's options (both halves of --x/--no-x)."""
    found = []
    for param in command.params:
        if param.param_type_name == "option":
            found += [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
    return found


ROOT = typer.main.get_command(app)
COMMANDS = dict(commands(ROOT))


def mentioned_option(option: str) -> bool:
    """The option spelled whole in the README (--since does not count for --since-id)."""
    return re.search(re.escape(option) + r"(?![\w-])", README) is not None


def test_the_walk_finds_the_commands():
    assert {"status", "sql", "events list", "import bars", "study"} <= set(COMMANDS)
    assert "--format" in long_options(COMMANDS["sql"])


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_and_its_options_are_in_the_readme(path):
    assert f"tickerwire {path}" in README or f"`{path}" in README, f"`tickerwire {path}`"
    missing = [o for o in long_options(COMMANDS[path]) if not mentioned_option(o)]
    assert missing == [], f"tickerwire {path}: options not in the README"


def test_the_global_options_are_in_the_readme():
    assert [o for o in long_options(ROOT) if not mentioned_option(o)] == []


def accepted_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Section → the keys its validator accepts, recorded while the defaults file loads."""
    seen: dict[str, set[str]] = {}
    check_keys = config_mod.Section.check_keys

    def recording(section, allowed):
        where = re.sub(r"\[\d+\]", "", section.where)  # instruments[3] → instruments
        seen.setdefault(where, set()).update(allowed)
        return check_keys(section, allowed)

    monkeypatch.setattr(config_mod.Section, "check_keys", recording)
    config_mod.load_config(REPO_ROOT / "tickerwire.toml")
    return seen


def documented_key(key: str) -> bool:
    """A key written as `key` or as a `key = …` line of a TOML example."""
    return f"`{key}`" in README or re.search(rf"^\s*#?\s*{re.escape(key)}\s*=", README, re.M)


def test_every_config_key_is_in_the_readme(monkeypatch):
    keys = accepted_keys(monkeypatch)
    assert {"database", "instruments", "feeds", "alerts", "schedule"} <= set(keys)
    # A sub-table whose keys are names (study.benchmarks: asset classes) is documented by its key.
    settings = {where: allowed for where, allowed in keys.items() if "." not in where}
    missing = {
        where: sorted(k for k in allowed if not documented_key(k))
        for where, allowed in settings.items()
    }
    assert {w: m for w, m in missing.items() if m} == {}
    absent = [w for w in settings if f"[{w}]" not in README and f"[[{w}]]" not in README]
    assert absent == [], "sections without a [section] in the README"


def test_a_key_missing_from_the_readme_is_found():
    assert not documented_key("no_such_setting_anywhere")
    assert not mentioned_option("--no-such-option")
