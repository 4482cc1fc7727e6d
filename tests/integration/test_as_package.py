"""The project used as a dbt package by another project (integration_tests/), fivetran style.

A copy of integration_tests/ installs this repository as a local package, loads its own
raw tables as seeds named shop_* in its own schema, points the package's source vars
at them and runs `dbt build`. Everything the standalone project produces must come out
the same way: RFM to the cent, every view segmented, CRM rows with emails.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dbt_harness import REPO_ROOT, query_duckdb, run_dbt
from tests.integration.hand_rfm import assert_rfm_matches_hand

AS_OF = dt.date(2026, 11, 1)  # integration_tests/dbt_project.yml pins as_of_date
# The package's own schemas (macros/schemas.sql): <target schema>_<role> beside the project's `main`.
OUT = "main_segments"
INTERMEDIATE = "main_segments_intermediate"


@dataclass(frozen=True)
class PackageBuild:
    path: Path
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def package_build(tmp_path_factory: pytest.TempPathFactory) -> PackageBuild:
    work = tmp_path_factory.mktemp("as-package")
    project = work / "project"
    shutil.copytree(REPO_ROOT / "integration_tests", project, ignore=shutil.ignore_patterns("target", "dbt_packages"))
    # The copy lives elsewhere, so the local package path becomes absolute.
    (project / "packages.yml").write_text(f"packages:\n  - local: {REPO_ROOT}\n")
    path = work / "shop.duckdb"
    outputs = {}
    for step in ("deps", "seed", "build"):
        result = run_dbt([step], path, project_dir=project)
        outputs[step] = result.output
        assert result.ok, f"dbt {step} failed:\n{result.output}"
    return PackageBuild(path=path, outputs=outputs)


def test_the_package_builds_on_the_projects_own_tables(package_build: PackageBuild) -> None:
    output = package_build.outputs["build"]
    assert "ERROR=0" in output and "WARN=0" in output, output
    # The package's own demo location must not have been read: the sources follow the vars.
    schemas = {
        row[0]
        for row in query_duckdb(package_build.path, "select distinct table_schema from information_schema.tables")
    }
    assert "raw" not in schemas
    # The package's relations go to its own schemas; the project's schema keeps only its own seeds.
    assert schemas == {"main", OUT, "main_segments_staging", INTERMEDIATE}, schemas
    own = query_duckdb(
        package_build.path, "select table_name from information_schema.tables where table_schema = 'main'"
    )
    assert {row[0] for row in own} == {"shop_order_lines", "shop_customers", "shop_products", "shop_engagement_events"}


def test_rfm_matches_a_hand_computation_from_the_shop_seeds(package_build: PackageBuild) -> None:
    assert (
        assert_rfm_matches_hand(package_build.path, AS_OF, table="main.shop_order_lines", rfm=f"{OUT}.customer_rfm")
        > 250
    )


def test_every_line_is_counted_or_excluded_for_a_reason(package_build: PackageBuild) -> None:
    (lines,) = query_duckdb(package_build.path, "select count(*) from main.shop_order_lines")[0]
    rows = query_duckdb(
        package_build.path,
        f"select reason, detail, action, row_count from {OUT}.data_quality where table_name = 'order_lines'",
    )
    excluded = {reason for reason, _, action, count in rows if action == "excluded" and count > 0}
    assert excluded == {"null_customer_id", "non_positive_quantity", "null_ordered_at", "duplicate_line_key"}
    accounted = sum(count for _, _, action, count in rows if action in ("excluded", "filtered", "counted"))
    assert accounted == lines
    # The shop's odd statuses count, and each is listed so the user sees it.
    statuses = query_duckdb(
        package_build.path, "select lower(trim(status)), count(*) from main.shop_order_lines group by 1"
    )
    documented = {"completed", "cancelled", "returned"}
    odd = {status: count for status, count in statuses if status is not None and status not in documented}
    listed = {detail: count for reason, detail, _, count in rows if reason == "unrecognised_status"}
    assert odd and listed == odd


def test_every_view_segments_every_customer_in_scope(package_build: PackageBuild) -> None:
    (in_scope,) = query_duckdb(package_build.path, f"select count(*) from {OUT}.customer_rfm")[0]
    per_view = query_duckdb(
        package_build.path,
        "select view, count(distinct customer_id), count(distinct segment_id), min(segment_name) is not null "
        f"from {OUT}.segment_assignments where as_of_date = ? group by view order by view",
        [AS_OF],
    )
    assert [row[0] for row in per_view] == ["behavioral", "channel", "value"]
    for view, customers, segments, named in per_view:
        assert customers == in_scope, view
        assert segments >= 2 and named, view
    crm = query_duckdb(
        package_build.path,
        "select count(*), count(segments.email), count(distinct segments.email) "
        f"from {OUT}.customer_segments as segments inner join main.shop_customers as shop "
        "on shop.customer_id = segments.customer_id and shop.email = segments.email",
    )
    assert crm == [(in_scope, in_scope, in_scope)]
