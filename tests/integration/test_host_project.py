"""The package installed into a real dbt project nobody here wrote: dbt Labs' classic jaffle_shop.

A copy of ../shared/hosts/jaffle_shop gets exactly what the README's "Use it as a dbt
package" section tells a user to add, and nothing else:

- packages.yml with this repository as a `local:` package,
- one model, models/segments_order_lines.sql, that maps the shop's orders and payments
  to the package's order lines,
- the package's vars in its dbt_project.yml,
- a profiles.yml for DuckDB,

then runs `dbt deps`, `dbt seed` and one `dbt build` on a fresh database. The host's own
models and tests must still pass, its customers come through with their ids unchanged,
revenue matches an independent computation from the host's raw seed CSVs, and the
package's relations land in their own schemas, never in the host's nor in `None`.

A second variant adds a generate_schema_name to the host that returns
custom_schema_name verbatim: the package keeps its layout (it brings its own
generate_schema_name, which dbt uses for the package's nodes).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dbt_harness import REPO_ROOT, dbt_target_dir, query_duckdb, run_dbt

HOST = REPO_ROOT.parent / "shared" / "hosts" / "jaffle_shop"

# The one model a user adds: one order line per payment. stg_payments already turns the
# raw amount (cents) into dollars, so unit_price is in dollars; quantity is 1, the
# payment method is the channel and the order's status is passed on as it is.
HOST_MODEL = """\
select
    orders.order_id,
    payments.payment_id as line_number,
    orders.customer_id,
    orders.order_date as ordered_at,
    1 as quantity,
    payments.amount as unit_price,
    payments.payment_method as channel,
    orders.status
from {{ ref('stg_payments') }} as payments
inner join {{ ref('stg_orders') }} as orders
    on orders.order_id = payments.order_id
"""

# Appended to the host's dbt_project.yml, which has no vars block.
HOST_VARS = """
vars:
  segments_order_lines_model: segments_order_lines
  segments_customers_model: stg_customers
  segments_using_products: false
  segments_using_engagement_events: false
  segments_customer_id_type: integer
"""

PROFILES = """\
jaffle_shop:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('SEGMENTS_DUCKDB_PATH') }}"
      schema: main
      threads: 1
"""

# The kind of override from issue #12 point 5: custom schema names used verbatim.
VERBATIM_SCHEMA_MACRO = """\
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
"""

# A line counts unless its trimmed, case-folded status is in this list (var
# segments_excluded_statuses, its default once unknown statuses count).
EXCLUDED_STATUSES = {"cancelled", "canceled", "returned", "refunded", "voided", "failed"}
HOST_SCHEMA = "main"
PACKAGE_SCHEMAS = {"main_segments", "main_segments_staging", "main_segments_intermediate"}
OUT = "main_segments"


@dataclass(frozen=True)
class HostBuild:
    variant: str
    path: Path
    output: str
    results: list[dict[str, Any]]
    seconds: float


@pytest.fixture(scope="module", params=["dbt_default_schema_names", "host_verbatim_schema_names"])
def host_build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> HostBuild:
    assert HOST.is_dir(), f"the host project is expected at {HOST} (../shared/hosts beside the clone)"
    work = tmp_path_factory.mktemp(f"host-{request.param}")
    project = work / "jaffle_shop"
    shutil.copytree(HOST, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs"))
    (project / "packages.yml").write_text(f"packages:\n  - local: {REPO_ROOT}\n")
    (project / "models" / "segments_order_lines.sql").write_text(HOST_MODEL)
    with (project / "dbt_project.yml").open("a") as handle:
        handle.write(HOST_VARS)
    if request.param == "host_verbatim_schema_names":
        (project / "macros").mkdir(exist_ok=True)
        (project / "macros" / "generate_schema_name.sql").write_text(VERBATIM_SCHEMA_MACRO)
    profiles = work / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(PROFILES)
    path = work / "jaffle_shop.duckdb"
    env = {"DBT_PROFILES_DIR": str(profiles)}
    for step in ("deps", "seed"):
        result = run_dbt([step], path, extra_env=env, project_dir=project)
        assert result.ok, f"dbt {step} failed:\n{result.output}"
    started = time.perf_counter()
    result = run_dbt(["build"], path, extra_env=env, project_dir=project)
    seconds = time.perf_counter() - started
    assert result.ok, f"dbt build failed:\n{result.output}"
    results = json.loads((dbt_target_dir(path) / "run_results.json").read_text())["results"]
    print(f"\nhost dbt build ({request.param}): {seconds:.1f} s wall, {len(results)} nodes")
    return HostBuild(variant=request.param, path=path, output=result.output, results=results, seconds=seconds)


def _raw(name: str) -> list[dict[str, str]]:
    with (HOST / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected_revenue() -> dict[int, Decimal]:
    """Revenue per customer from the raw seed CSVs: payments (cents) of the orders that count."""
    orders = {row["id"]: row for row in _raw("raw_orders")}
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    for payment in _raw("raw_payments"):
        order = orders.get(payment["order_id"])
        if order is None or order["status"].strip().casefold() in EXCLUDED_STATUSES:
            continue
        revenue[int(order["user_id"])] += Decimal(payment["amount"]) / 100
    return dict(revenue)


def test_the_hosts_own_models_and_tests_still_pass(host_build: HostBuild) -> None:
    host_nodes = [r for r in host_build.results if r["unique_id"].split(".")[1] == "jaffle_shop"]
    # stg_*, customers, orders, the added model, and the host's own data tests.
    assert len(host_nodes) >= 6 + 20
    assert {r["unique_id"]: r["status"] for r in host_nodes if r["status"] not in ("success", "pass")} == {}
    failed = {r["unique_id"]: r["status"] for r in host_build.results if r["status"] in ("error", "fail")}
    assert failed == {}
    assert "ERROR=0" in host_build.output, host_build.output


def test_the_package_keeps_out_of_the_hosts_schema(host_build: HostBuild) -> None:
    tables = query_duckdb(host_build.path, "select table_schema, table_name from information_schema.tables")
    schemas = {schema for schema, _ in tables}
    assert "None" not in schemas and "none" not in schemas
    assert schemas == {HOST_SCHEMA, *PACKAGE_SCHEMAS}, schemas
    host_relations = {name for schema, name in tables if schema == HOST_SCHEMA}
    assert host_relations == {
        "raw_customers",
        "raw_orders",
        "raw_payments",
        "stg_customers",
        "stg_orders",
        "stg_payments",
        "customers",
        "orders",
        "segments_order_lines",
    }
    # Every relation the build wrote for the package is in one of its schemas.
    manifest = json.loads((dbt_target_dir(host_build.path) / "manifest.json").read_text())
    package = [
        n for n in manifest["nodes"].values() if n["package_name"] == "segments" and n["resource_type"] != "test"
    ]
    assert package and {n["schema"] for n in package if n["config"].get("enabled", True)} <= PACKAGE_SCHEMAS


def test_every_customer_with_a_counting_order_is_segmented(host_build: HostBuild) -> None:
    expected = set(expected_revenue())
    segmented = {row[0] for row in query_duckdb(host_build.path, f"select customer_id from {OUT}.customer_segments")}
    assert segmented == expected
    per_view = {
        view: (customers, ids, segments)
        for view, customers, ids, segments in query_duckdb(
            host_build.path,
            "select view, count(*), count(distinct customer_id), count(distinct segment_id) "
            f"from {OUT}.segment_assignments group by view",
        )
    }
    # No products: the behavioral view is skipped; value and channel segment everyone.
    assert set(per_view) == {"value", "channel"}, per_view
    for view, (customers, ids, segments) in per_view.items():
        assert customers == ids == len(expected), view
        assert segments >= 2, view
    nulls = query_duckdb(
        host_build.path,
        "select count(*) filter (where value_segment_id is null), count(*) filter (where channel_segment_id is null),"
        f" count(*) filter (where behavioral_segment_id is not null) from {OUT}.customer_segments",
    )
    assert nulls == [(0, 0, 0)]


def test_revenue_matches_the_raw_seeds(host_build: HostBuild) -> None:
    expected = expected_revenue()
    rows = query_duckdb(host_build.path, f"select customer_id, monetary_total, frequency from {OUT}.customer_rfm")
    assert {r[0] for r in rows} == set(expected)
    for customer_id, monetary, _ in rows:
        assert Decimal(str(monetary)).quantize(Decimal("0.01")) == expected[customer_id].quantize(Decimal("0.01")), (
            customer_id
        )
    (as_of,) = query_duckdb(host_build.path, f"select distinct as_of_date from {OUT}.customer_rfm")[0]
    newest = max(dt.date.fromisoformat(row["order_date"]) for row in _raw("raw_orders"))
    assert as_of == newest + dt.timedelta(days=1)


def test_ids_come_through_unchanged(host_build: HostBuild) -> None:
    host_ids = {int(row["id"]) for row in _raw("raw_customers")}
    segmented = {row[0] for row in query_duckdb(host_build.path, f"select customer_id from {OUT}.customer_segments")}
    assert segmented <= host_ids and all(type(i) is int for i in segmented)

    def column_type(schema: str, table: str) -> str:
        (row,) = query_duckdb(
            host_build.path,
            "select data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? and column_name = 'customer_id'",
            [schema, table],
        )
        return str(row[0])

    # Every output keeps the host's key type (customer_segments is a contract on it,
    # var segments_customer_id_type), segment_assignments too, though the Python
    # scorer's Arrow output passes through it.
    host_type = column_type(HOST_SCHEMA, "stg_customers")
    for table in ("customer_rfm", "customer_features", "customer_segments", "segment_assignments"):
        assert column_type(OUT, table) == host_type, table
    assigned = {row[0] for row in query_duckdb(host_build.path, f"select customer_id from {OUT}.segment_assignments")}
    assert assigned == segmented


def test_an_optional_input_given_as_a_model_is_used_on_a_fresh_database(host_build: HostBuild) -> None:
    # stg_customers did not exist when the build started; the package read it all the same.
    (staged,) = query_duckdb(host_build.path, "select count(*) from main_segments_staging.stg_segments__customers")[0]
    assert staged == len(_raw("raw_customers"))
    assert "optional source table" not in host_build.output
