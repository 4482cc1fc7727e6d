"""The backfill command without dbt: dates, dbt invocations, progress and failures."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segmentation import backfill
from segmentation.backfill import BuildResult, backfill_command, backfill_dates


class FakeDbt:
    """Records every dbt invocation; fails on the dates listed in ``fail_on``."""

    def __init__(self, fail_on: tuple[str, ...] = ()) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[list[str], dict[str, str], Path]] = []

    def __call__(self, command: list[str], env: dict[str, str], cwd: Path) -> BuildResult:
        self.calls.append((command, env, cwd))
        as_of = json.loads(command[command.index("--vars") + 1])["as_of_date"]
        if as_of in self.fail_on:
            return BuildResult(1, "lots of dbt output\nDatabase Error in model segment_history\n")
        return BuildResult(0, "Completed successfully")

    @property
    def dates(self) -> list[str]:
        return [json.loads(c[c.index("--vars") + 1])["as_of_date"] for c, _, _ in self.calls]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "dbt_project.yml").write_text("name: segments\n")
    (folder / "profiles.yml").write_text("segments: {}\n")
    return folder


@pytest.fixture
def fake_dbt(monkeypatch: pytest.MonkeyPatch) -> FakeDbt:
    fake = FakeDbt()
    monkeypatch.setattr(backfill, "run_subprocess", fake)
    monkeypatch.setattr(backfill, "dbt_executable", lambda: "/venv/bin/dbt")
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    return fake


def invoke(project: Path, *args: str, isolated: bool = True) -> tuple[int, str]:
    mode = ["--isolated"] if isolated else []
    result = CliRunner().invoke(backfill_command, ["--project-dir", str(project), *mode, *args])
    return result.exit_code, result.output


# ---------------------------------------------------------------- dates


def test_monthly_dates_include_both_ends() -> None:
    dates = backfill_dates(date(2025, 11, 1), date(2026, 10, 1), "month")
    assert len(dates) == 12
    assert dates[0] == date(2025, 11, 1)
    assert dates[2] == date(2026, 1, 1)
    assert dates[-1] == date(2026, 10, 1)


def test_month_end_start_is_clamped_but_keeps_its_day() -> None:
    assert backfill_dates(date(2024, 1, 31), date(2024, 5, 1), "month") == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_daily_weekly_and_quarterly_steps() -> None:
    assert backfill_dates(date(2026, 2, 27), date(2026, 3, 2), "day") == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert backfill_dates(date(2026, 1, 1), date(2026, 1, 20), "week") == [
        date(2026, 1, 1),
        date(2026, 1, 8),
        date(2026, 1, 15),
    ]
    assert backfill_dates(date(2025, 11, 30), date(2026, 8, 30), "quarter") == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
    ]


def test_end_before_start_and_unknown_frequency_are_rejected() -> None:
    with pytest.raises(ValueError, match="before start"):
        backfill_dates(date(2026, 2, 1), date(2026, 1, 1), "month")
    with pytest.raises(ValueError, match="every must be one of"):
        backfill_dates(date(2026, 1, 1), date(2026, 2, 1), "fortnight")


# ---------------------------------------------------------------- command


def test_builds_every_date_in_order_with_its_as_of_date(project: Path, fake_dbt: FakeDbt, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    code, output = invoke(project, "--start", "2025-11-01", "--end", "2026-04-01", "--duckdb", str(warehouse))
    assert code == 0, output
    assert fake_dbt.dates == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    command, env, cwd = fake_dbt.calls[0]
    assert command[:2] == ["/venv/bin/dbt", "build"]
    assert command[command.index("--project-dir") + 1] == str(project.resolve())
    assert command[command.index("--profiles-dir") + 1] == str(project)
    assert env["SEGMENTS_DUCKDB_PATH"] == str(warehouse.resolve())
    assert cwd == project.resolve()
    assert "--exclude-resource-type unit_test" in " ".join(command)
    assert "[1/6] 2025-11-01 ok in" in output
    assert "[6/6] 2026-04-01 ok in" in output
    assert "backfill: 6 date(s) built in" in output


def test_stops_at_the_first_failing_date_and_names_it(project: Path, fake_dbt: FakeDbt) -> None:
    fake_dbt.fail_on = ("2026-01-01",)
    code, output = invoke(project, "--start", "2025-11-01", "--end", "2026-04-01")
    assert code == 1
    assert fake_dbt.dates == ["2025-11-01", "2025-12-01", "2026-01-01"]
    assert "backfill stopped at 2026-01-01 (3 of 6): dbt build failed with exit code 1" in output
    assert "Database Error in model segment_history" in output


def test_selection_target_and_extra_dbt_arguments_reach_every_build(project: Path, fake_dbt: FakeDbt) -> None:
    code, output = invoke(
        project,
        "--start", "2026-01-01", "--end", "2026-02-01",
        "--select", "+segment_history+", "--target", "ci",
        "--", "--exclude", "tag:slow", "--threads", "1",
    )  # fmt: skip
    assert code == 0, output
    for command, _, _ in fake_dbt.calls:
        assert command[command.index("--select") + 1] == "+segment_history+"
        assert command[command.index("--target") + 1] == "ci"
        assert command[-4:] == ["--exclude", "tag:slow", "--threads", "1"]


def test_dry_run_lists_the_commands_and_builds_nothing(project: Path, fake_dbt: FakeDbt) -> None:
    code, output = invoke(project, "--start", "2026-01-01", "--end", "2026-03-01", "--dry-run")
    assert code == 0, output
    assert fake_dbt.calls == []
    assert output.count("dbt build --project-dir") == 3
    assert '{"as_of_date": "2026-03-01"}' in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-01", "--end", "2026-02-01"], "'2026-13-01' is not a date in YYYY-MM-DD form"),
        (["--start", "2026-03-01", "--end", "2026-02-01"], "end 2026-02-01 is before start 2026-03-01"),
        (["--start", "2026-01-01", "--end", "2026-02-01", "--every", "year"], "'year' is not one of"),
    ],
)
def test_bad_arguments_exit_with_a_usage_error(project: Path, fake_dbt: FakeDbt, args: list[str], message: str) -> None:
    code, output = invoke(project, *args)
    assert code == 2
    assert message in output
    assert fake_dbt.calls == []


def test_missing_project_and_profiles_are_explained(tmp_path: Path, fake_dbt: FakeDbt) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = invoke(empty, "--start", "2026-01-01", "--end", "2026-01-01")
    assert code == 1
    assert f"no dbt_project.yml in {empty}" in output

    (empty / "dbt_project.yml").write_text("name: segments\n")
    code, output = invoke(empty, "--start", "2026-01-01", "--end", "2026-01-01", "--profiles-dir", str(tmp_path))
    assert code == 1
    assert "there is no profiles.yml in it" in output
    assert fake_dbt.calls == []


def test_warns_when_history_already_has_later_dates(project: Path, fake_dbt: FakeDbt, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table main.segment_history as select date '2026-06-01' as as_of_date")
    con.close()
    code, output = invoke(project, "--start", "2026-01-01", "--end", "2026-02-01", "--duckdb", str(warehouse))
    assert code == 0, output
    assert "segment_history already reaches 2026-06-01" in output
    code, output = invoke(project, "--start", "2026-07-01", "--end", "2026-07-01", "--duckdb", str(warehouse))
    assert code == 0, output
    assert "already reaches" not in output


# ---------------------------------------------------------------- in process


class FakeResult:
    def __init__(self, success: bool, result: object = None, exception: BaseException | None = None) -> None:
        self.success = success
        self.result = result
        self.exception = exception


class FakeNode:
    def __init__(self, status: str) -> None:
        self.status = status


class FakeRun:
    def __init__(self, statuses: list[str]) -> None:
        self.results = [FakeNode(s) for s in statuses]


class FakeEvent:
    def __init__(self, level: str, msg: str) -> None:
        self.info = type("Info", (), {"level": level, "msg": msg})()


class FakeRunners:
    """Stands in for dbt's dbtRunner: records argv, manifest and environment of every invocation."""

    def __init__(self, fail_on: str | None = None, parse_fails: bool = False) -> None:
        self.fail_on = fail_on
        self.parse_fails = parse_fails
        self.invocations: list[dict[str, object]] = []
        self.released = 0

    def __call__(self, manifest: object = None, callbacks: list | None = None) -> object:
        runners = self

        class Runner:
            def invoke(self, argv: list[str]) -> FakeResult:
                runners.invocations.append(
                    {
                        "argv": argv,
                        "manifest": manifest,
                        "duckdb": os.environ.get("SEGMENTS_DUCKDB_PATH"),
                        "cwd": Path.cwd(),
                    }
                )
                for callback in callbacks or []:
                    callback(FakeEvent("debug", "noise"))
                    callback(FakeEvent("info", f"running {argv[0]}"))
                if argv[0] == "parse":
                    if runners.parse_fails:
                        callback(FakeEvent("error", "Parsing Error in models/x.sql"))
                        return FakeResult(False, exception=RuntimeError("parse failed"))
                    return FakeResult(True, result="THE-MANIFEST")
                as_of = json.loads(argv[argv.index("--vars") + 1])["as_of_date"]
                if as_of == runners.fail_on:
                    for callback in callbacks or []:
                        callback(FakeEvent("error", "Failure in test transitions_reconcile_with_customers"))
                    return FakeResult(False, result=FakeRun(["success", "pass", "fail", "skipped"]))
                return FakeResult(True, result=FakeRun(["success", "success", "pass", "warn"]))

        return Runner()


@pytest.fixture
def runners(monkeypatch: pytest.MonkeyPatch) -> FakeRunners:
    fake = FakeRunners()
    monkeypatch.setattr(backfill, "_dbt_runner", fake)
    monkeypatch.setattr(backfill, "_release_duckdb", lambda: setattr(fake, "released", fake.released + 1))
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("SEGMENTS_DUCKDB_PATH", raising=False)
    return fake


def test_in_process_parses_once_and_reuses_the_manifest(project: Path, runners: FakeRunners, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    code, output = invoke(
        project,
        "--start", "2026-01-01", "--end", "2026-03-01", "--duckdb", str(warehouse),
        "--vars", "{segments_refit: true}",
        isolated=False,
    )  # fmt: skip
    assert code == 0, output
    kinds = [inv["argv"][0] for inv in runners.invocations]
    assert kinds == ["parse", "build", "build", "build"]
    parse, *builds = runners.invocations
    assert json.loads(parse["argv"][parse["argv"].index("--vars") + 1]) == {"segments_refit": True}
    for inv, as_of in zip(builds, ["2026-01-01", "2026-02-01", "2026-03-01"], strict=True):
        argv = inv["argv"]
        assert inv["manifest"] == "THE-MANIFEST"
        assert json.loads(argv[argv.index("--vars") + 1]) == {"segments_refit": True, "as_of_date": as_of}
        assert "--exclude-resource-type" in argv
        assert inv["duckdb"] == str(warehouse.resolve())
        assert inv["cwd"] == project.resolve()
    assert os.environ.get("SEGMENTS_DUCKDB_PATH") is None, "the environment is restored"
    assert Path.cwd() != project.resolve()
    assert "[3/3] 2026-03-01 ok in" in output and "(PASS=3 WARN=1)" in output
    assert runners.released == 1


def test_in_process_failure_shows_dbt_errors_and_statuses(project: Path, runners: FakeRunners) -> None:
    runners.fail_on = "2026-02-01"
    code, output = invoke(project, "--start", "2026-01-01", "--end", "2026-03-01", "--unit-tests", isolated=False)
    assert code == 1
    assert "--exclude-resource-type" not in runners.invocations[1]["argv"]
    assert "Failure in test transitions_reconcile_with_customers" in output
    assert "noise" not in output
    assert "backfill stopped at 2026-02-01 (2 of 3)" in output
    assert "(PASS=2 ERROR=1 SKIP=1)" in output
    assert len(runners.invocations) == 3
    assert runners.released == 1, "dbt's database is released even when a date fails"


def test_in_process_parse_failure_stops_before_any_build(project: Path, runners: FakeRunners) -> None:
    runners.parse_fails = True
    code, output = invoke(project, "--start", "2026-01-01", "--end", "2026-03-01", isolated=False)
    assert code == 1
    assert "Parsing Error in models/x.sql" in output
    assert "backfill stopped at 2026-01-01 (1 of 3): dbt build failed with exit code 2" in output
    assert [inv["argv"][0] for inv in runners.invocations] == ["parse"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{as_of_date: 2026-01-01}", "as_of_date is set by the backfill"),
        ("[1, 2]", "expected a mapping"),
        ("{unclosed", "not valid YAML"),
    ],
)
def test_bad_vars_are_rejected(project: Path, runners: FakeRunners, text: str, message: str) -> None:
    code, output = invoke(project, "--start", "2026-01-01", "--end", "2026-01-01", "--vars", text, isolated=False)
    assert code == 2
    assert message in output
    assert runners.invocations == []
