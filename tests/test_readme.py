"""The help and the README say what the tool does: every option and argument is explained,
no command offers an option it ignores, the README's option table lists exactly `check`'s
options, and its sample outputs are the golden files (`make readme`)."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import click

from scim_doctor.cli.app import cli, every_command
from tests.conftest import ROOT

README = ROOT / "README.md"


def _readme_script() -> ModuleType:
    """scripts/readme.py, the one writer of the samples (a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("readme_script", ROOT / "scripts" / "readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands() -> list[tuple[str, click.Command]]:
    return [("scim-doctor", cli), *((f"scim-doctor {n}", c) for n, c in every_command().items())]


def _option_names(command: click.Command) -> set[str]:
    return {
        max(p.opts, key=len)
        for p in command.params
        if isinstance(p, click.Option) and p.name != "help"
    }


def test_given_the_click_tree_every_option_has_help_and_every_argument_is_documented() -> None:
    """Given every command of `scim-doctor`, when its --help is read, then each option has a
    help text and each argument's name (BASE_URL, CODE, ...) appears in the command's text."""
    missing: list[str] = []
    for path, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"{path} {max(param.opts, key=len)}: no help")
            if isinstance(param, click.Argument):
                name = param.human_readable_name
                if name not in (command.help or ""):
                    missing.append(f"{path} {name}: not named in the command's docstring")
    assert not missing, "\n".join(missing)


def test_given_demo_and_cleanup_then_neither_offers_options_it_cannot_honour() -> None:
    """Given `demo` (its own server, pinned to 127.0.0.1) and `cleanup` (deletes, so it needs a
    token, and writes no report), when their options are listed, then demo has no token,
    trust or reach options, and cleanup has no --no-token nor report options."""
    demo = _option_names(every_command()["demo"])
    cleanup = _option_names(every_command()["cleanup"])
    connection = {"--token-env", "--token-file", "--token-stdin", "--no-token", "--cacert"}
    connection |= {"--insecure", "--resolve", "--proxy", "--http-port", "--reach"}
    assert not demo & connection
    assert not cleanup & {"--no-token", "--report", "--output", "--bundle", "--fail-on"}


def _table_options() -> set[str]:
    """The option names in the first column of README's `| option | meaning |` table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| option | meaning |") :].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first = row.split(" | ", 1)[0]
        names.update(re.findall(r"`(-{1,2}[a-z][\w-]*)", first))
    return names


def test_given_the_readme_option_table_then_it_lists_exactly_the_options_of_check() -> None:
    """Given README's option table, when its first column is read, then it names every option
    `check` has (by any of its names) and none it does not have."""
    check = every_command()["check"]
    by_name = {
        name: max(p.opts, key=len)
        for p in check.params
        if isinstance(p, click.Option) and p.name != "help"
        for name in (*p.opts, *p.secondary_opts)
    }
    listed = _table_options()
    unknown = listed - set(by_name)
    assert not unknown, f"README's option table names options check lacks: {sorted(unknown)}"
    absent = _option_names(check) - {by_name[n] for n in listed}
    assert not absent, f"README's option table lacks check's options: {sorted(absent)}"


def test_given_the_golden_files_then_readme_samples_are_what_make_readme_writes() -> None:
    """Given the reporters' golden files, when scripts/readme.py renders README.md, then it
    changes nothing: a stale sample fails here with the command that fixes it."""
    script = _readme_script()
    current = README.read_text(encoding="utf-8")
    assert "<!-- sample: failing.text -->" in current
    assert script.render(current) == current, "README.md's samples are stale: run `make readme`"


def test_a_sample_marker_is_replaced_by_its_golden_file_in_a_fence() -> None:
    """Given a sample block with outdated text, when rendered, then it holds the golden file."""
    script = _readme_script()
    golden = (ROOT / "tests" / "reporters" / "golden" / "healthy.json.json").read_text("utf-8")
    before = "intro\n<!-- sample: healthy.json -->\n```\nold\n```\n<!-- /sample -->\nafter\n"
    after = script.render(before)
    assert (
        after
        == f"intro\n<!-- sample: healthy.json -->\n```json\n{golden}```\n<!-- /sample -->\nafter\n"
    )
