"""A fleet spread over a CI matrix: `--shard K/N` partitions a config so every target is checked
exactly once, balanced and stable, and `merge` joins the shards' JSON reports into the report one
runner would have written (issue 23)."""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scim_doctor.core.errors import InputError
from scim_doctor.core.shard import parse_shard, shard_of
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, FleetServers, fleet_servers

ROOT = Path(__file__).resolve().parent.parent
ENV = {TOKEN_ENV: TOKEN, "GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None}
TRANSPORT = ("--only", "url,dns,connect,tls")
TENANTS = [f"tenant-{index:03d}" for index in range(1, 201)]


def balanced(names: list[str], count: int) -> bool:
    sizes = Counter(shard_of(name, count) for name in names)
    mean = len(names) / count
    return len(sizes) == count and all(abs(n - mean) <= 0.25 * mean for n in sizes.values())


# --- the partition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    name: str


def test_four_shards_of_two_hundred_targets_cover_each_once_within_a_quarter_of_the_mean() -> None:
    targets = [Named(name) for name in TENANTS]
    shards = [parse_shard(f"{k}/4").select(targets) for k in range(1, 5)]
    assert sorted(t.name for shard in shards for t in shard) == sorted(TENANTS)
    assert all(list(shard) == sorted(shard, key=targets.index) for shard in shards)  # in order
    assert balanced(TENANTS, 4), Counter(shard_of(name, 4) for name in TENANTS)


def test_adding_a_target_moves_no_other_target() -> None:
    before = {name: shard_of(name, 4) for name in TENANTS}
    after = {name: shard_of(name, 4) for name in [*TENANTS, "tenant-new"]}
    assert {name: after[name] for name in TENANTS} == before


def test_growing_the_matrix_by_one_runner_moves_about_one_target_in_n_and_only_to_the_new_one() -> (
    None
):
    moved = [name for name in TENANTS if shard_of(name, 4) != shard_of(name, 5)]
    assert all(shard_of(name, 5) == 5 for name in moved)
    assert 20 <= len(moved) <= 60  # 200 / 5 = 40 expected


def test_fleets_of_random_names_are_balanced_as_a_fair_draw_would_be() -> None:
    """No stable partition can do better than chance (a target's shard may depend on its own
    name only); a fair draw keeps 4 shards of 200 within 25 % of the mean ~85 % of the time."""
    draw = random.Random(23)
    fleets = [
        ["".join(draw.choices(string.ascii_lowercase, k=10)) for _ in range(200)]
        for _ in range(200)
    ]
    share = sum(balanced(names, 4) for names in fleets) / len(fleets)
    assert share >= 0.75, share


@pytest.mark.parametrize("text", ["0/4", "5/4", "4", "a/b", "1/0", "2/1001"])
def test_a_shard_that_is_not_k_of_n_is_refused_with_one_line(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


# --- shards and merge, end to end ---------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[FleetServers]:
    with fleet_servers(tmp_path, {"healthy": None, "expired": "expired_cert"}) as servers:
        yield servers


def _label(index: int) -> str:
    return "expired" if index % 7 == 0 else "healthy"


def _without_timings(value: Any) -> Any:
    """The report with what differs between two runs of the same targets left out."""
    if isinstance(value, dict):
        return {
            key: _without_timings(item)
            for key, item in value.items()
            if key not in ("duration_ms", "timings_ms", "started_at", "environment", "facts")
        }
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    if isinstance(value, str):
        return re.sub(r"\b\d+(\.\d+)? ms\b", "N ms", value)  # "connected ... in 8 ms"
    return value


def test_merging_the_shards_gives_the_unsharded_report_apart_from_timings(
    run_cli: Any, fleet: FleetServers, tmp_path: Path
) -> None:
    targets = [(f"tenant-{index:02d}", _label(index)) for index in range(1, 25)]
    config = fleet.config(targets)
    common = ("check", "--config", str(config), *TRANSPORT, "--format", "json")
    whole = run_cli(*common, env=ENV)
    parts = []
    for k in (1, 2, 3):
        path = tmp_path / f"shard-{k}.json"
        result = run_cli(*common, "--shard", f"{k}/3", "--output", str(path), env=ENV)
        assert result.exit_code in (0, 1), result.stderr
        shard = json.loads(path.read_text())
        assert shard["environment"]["shard"] == f"{k}/3"
        parts.append(shard)
    names = [t["name"] for part in parts for t in part["targets"]]
    assert sorted(names) == sorted(name for name, _ in targets)

    files = [str(tmp_path / f"shard-{k}.json") for k in (3, 1, 2)]
    merged = run_cli("merge", *files, "--format", "json", env=ENV)

    schema = json.loads((ROOT / "docs" / "report-schema-v2.json").read_text())
    jsonschema.validate(merged.json(), schema)
    assert merged.exit_code == whole.exit_code == 1
    assert merged.json()["environment"]["merged_from"] == 3
    assert _without_timings(merged.json()) == _without_timings(whole.json())


def test_merge_writes_junit_and_markdown_and_the_text_summary_of_the_whole_fleet(
    run_cli: Any, fleet: FleetServers, tmp_path: Path
) -> None:
    config = fleet.config([(f"tenant-{index:02d}", _label(index)) for index in range(1, 9)])
    for k in (1, 2):
        run_cli(
            "check", "--config", str(config), *TRANSPORT, "--format", "json",
            "--shard", f"{k}/2", "--output", str(tmp_path / f"s{k}.json"), env=ENV,
        )  # fmt: skip
    junit, markdown = tmp_path / "merged.xml", tmp_path / "merged.md"

    result = run_cli(
        "merge", str(tmp_path / "s1.json"), str(tmp_path / "s2.json"),
        "--report", f"junit={junit}", "--report", f"markdown={markdown}", env=ENV,
    )  # fmt: skip

    assert result.exit_code == 1
    assert "Summary: 8 targets, 1 failing" in result.stdout
    assert junit.read_text().count("<testsuite ") == 8
    assert "tenant-07" in markdown.read_text()


def test_reports_of_different_schema_versions_are_refused_with_one_clear_line(
    run_cli: Any, tmp_path: Path
) -> None:
    fleet_doc = tmp_path / "fleet.json"
    single = tmp_path / "single.json"
    fleet_doc.write_text(json.dumps({"schema_version": "2.1", "targets": []}))
    single.write_text(json.dumps({"schema_version": "1.1", "checks": []}))

    result = run_cli("merge", str(fleet_doc), str(single))

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "single.json: schema version '1.1' is not a fleet report" in result.stderr


def test_a_target_in_two_reports_is_refused(
    run_cli: Any, fleet: FleetServers, tmp_path: Path
) -> None:
    config = fleet.config([("tenant-01", "healthy")])
    path = tmp_path / "once.json"
    run_cli(
        "check", "--config", str(config), *TRANSPORT, "--format", "json", "-o", str(path), env=ENV
    )

    result = run_cli("merge", str(path), str(path))

    assert result.exit_code == 2
    assert "target 'tenant-01' is in both" in result.stderr
