"""``segments fit``: fit a view's model anywhere, then score it inside the warehouse.

Warehouses without dbt Python models (PostgreSQL, Spark in session or Thrift mode,
Redshift, ...) still get segments from ``dbt build``: this command reads the view's
features through the user's dbt profile and target, fits a model version on the
bounded training sample exactly as the dbt Python model ``segments__model_<view>`` does
(same configuration from the project, same deterministic sample, same refit decision,
warm start and id matching), and appends the model row to the model history table in
that warehouse. ``dbt build`` then scores every customer in SQL from the stored JSON
(``models/scoring``).

Which table is the history comes from the dbt project itself (``dbt parse``): the
Python model ``segments__model_<view>`` where Python models run, else the SQL store
``segments__model_sql_<view>``. Memory stays flat: features stream through a bottom-k
sampler that keeps at most ``sample_size`` rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import click
import pandas as pd
import yaml

from segmentation.config import VIEWS
from segmentation.model_store import MODEL_COLUMNS

FEATURES_MODEL = "customer_features"
_BATCH_ROWS = 50_000


class FitError(click.ClickException):
    """A problem the user can fix (project, profile, missing table); printed without a trace."""


# --------------------------------------------------------------------- the project


@dataclass(frozen=True)
class ViewTarget:
    """What fitting one view needs from the parsed dbt project."""

    view: str
    settings: Mapping[str, Any]
    overrides: Mapping[str, Any]
    refit: Any
    store_relation: str
    store_node: str
    features_relation: str


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    """A meta value as a mapping; Jinja-rendered text is parsed as YAML."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise FitError(f"{what}: not a mapping: {value!r} ({exc})") from exc
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FitError(f"{what}: expected a mapping, got {value!r}")
    return value


def _nodes_named(manifest: Any, name: str) -> tuple[list[Any], list[Any]]:
    """(enabled, disabled) model nodes called ``name``."""
    enabled = [n for n in manifest.nodes.values() if n.resource_type == "model" and n.name == name]
    disabled = [
        n
        for nodes in manifest.disabled.values()
        for n in nodes
        if getattr(n, "resource_type", None) == "model" and n.name == name
    ]
    return enabled, disabled


def view_targets(manifest: Any, views: Sequence[str]) -> list[ViewTarget]:
    """Resolve config, features relation and history table per view from a manifest."""
    features, _ = _nodes_named(manifest, FEATURES_MODEL)
    if not features:
        raise FitError(
            f"the dbt project has no enabled model {FEATURES_MODEL!r}; run this command in "
            "the segments project (or a project that installs it as a package)"
        )
    features_relation = str(features[0].relation_name)
    out = []
    for view in views:
        python_name, sql_name = f"segments__model_{view}", f"segments__model_sql_{view}"
        py_enabled, py_disabled = _nodes_named(manifest, python_name)
        sql_enabled, _ = _nodes_named(manifest, sql_name)
        config_nodes = py_enabled + py_disabled
        if not config_nodes:
            raise FitError(
                f"view {view!r}: the project has no model {python_name!r}, whose "
                "meta.segmentation holds the view's configuration"
            )
        meta = config_nodes[0].config.meta or {}
        if "segmentation" not in meta:
            raise FitError(f"view {view!r}: model {python_name!r} has no meta.segmentation")
        if py_enabled:
            store = py_enabled[0]
        elif sql_enabled:
            store = sql_enabled[0]
        else:
            raise FitError(
                f"view {view!r}: neither {python_name!r} nor {sql_name!r} is enabled on this "
                "target, so there is no model history table to write to"
            )
        out.append(
            ViewTarget(
                view=view,
                settings=_mapping(meta.get("segmentation"), f"{python_name} meta.segmentation"),
                overrides=_mapping(meta.get("segments_view_overrides"), "var segments_view_overrides"),
                refit=meta.get("segments_refit", False),
                store_relation=str(store.relation_name),
                store_node=str(store.name),
                features_relation=features_relation,
            )
        )
    return out


def parse_project(
    project_dir: Path,
    profiles_dir: str | None,
    profile: str | None,
    target: str | None,
    dbt_vars: str | None,
) -> Any:
    """The project's manifest, parsed by dbt itself so vars and configs resolve as in a run."""
    from dbt.cli.main import dbtRunner

    args = ["parse", "--project-dir", str(project_dir)]
    if profiles_dir:
        args += ["--profiles-dir", profiles_dir]
    if profile:
        args += ["--profile", profile]
    if target:
        args += ["--target", target]
    if dbt_vars:
        args += ["--vars", dbt_vars]
    result = dbtRunner().invoke(args)
    if not result.success or result.result is None:
        detail = f": {result.exception}" if result.exception else " (see the dbt output above)"
        raise FitError(f"dbt parse failed in {project_dir}{detail}")
    return result.result


# ------------------------------------------------------------------- the warehouse


class SparkSessionWarehouse:
    """A local or cluster Spark session, for dbt-spark's ``method: session`` targets.

    dbt-spark's session cursor has no ``fetchmany``; here rows stream from
    ``toLocalIterator`` so only one batch is in Python at a time.
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        from pyspark.sql import SparkSession

        from sync.warehouse import DIALECTS

        builder = SparkSession.builder.enableHiveSupport()
        for key, value in dict(settings.get("server_side_parameters") or {}).items():
            builder = builder.config(str(key), str(value))
        self._spark = builder.getOrCreate()
        self.dialect = DIALECTS["spark"]
        self.description = "Spark session"

    def stream(self, sql: str, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
        frame = self._spark.sql(sql)
        names = [c.lower() for c in frame.columns]
        batch: list[dict[str, Any]] = []
        for row in frame.toLocalIterator():
            batch.append(dict(zip(names, row, strict=True)))
            if len(batch) >= batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [row for chunk in self.stream(sql, 10_000) for row in chunk]

    def execute(self, sql: str) -> None:
        self._spark.sql(sql).collect()

    def columns(self, relation: Any) -> dict[str, str]:
        frame = self._spark.sql(f"select * from {self.dialect.relation(relation)} where 1 = 0")
        return {f.name.lower(): f.dataType.simpleString() for f in frame.schema.fields}

    def exists(self, relation: Any) -> bool:
        try:
            self.columns(relation)
        except Exception:  # AnalysisException: table or view not found
            return False
        return True

    def insert_rows(self, relation: Any, columns: Sequence[Any], rows: Sequence[Any]) -> None:
        names = ", ".join(c.name for c in columns)
        values = ", ".join("(" + ", ".join(self.dialect.literal(v) for v in row) + ")" for row in rows)
        self.execute(f"insert into {self.dialect.relation(relation)} ({names}) values {values}")

    def close(self) -> None:
        """The session is shared with anything else in this process; it stays up."""


def open_target(project_dir: Path, profiles_dir: str | None, profile: str | None, target: str | None) -> Any:
    """A connection to the warehouse of the dbt profile and target (sync's access layer)."""
    from sync.config import WarehouseConfig
    from sync.errors import ConfigError, WarehouseError
    from sync.profiles import resolve_target
    from sync.warehouse import DbtAdapterWarehouse, open_warehouse

    config = WarehouseConfig(profile=profile, target=target, profiles_dir=profiles_dir, project_dir=str(project_dir))
    try:
        resolved = resolve_target(config)
        if resolved.adapter_type == "spark" and resolved.settings.get("method") == "session":
            return SparkSessionWarehouse(resolved.settings)
        if resolved.adapter_type == "duckdb":
            return open_warehouse(config)
        return DbtAdapterWarehouse(resolved)
    except (ConfigError, WarehouseError) as exc:
        raise FitError(str(exc)) from exc


class _Relation:
    """The relation a dbt Python model would get, backed by SQL on a warehouse connection.

    :mod:`segmentation.relations` recognises platforms by their methods; this offers
    the batch interface (``columns``, ``select``, ``to_pandas``,
    ``to_pandas_batches``) so :func:`segmentation.dbt_entry.build_model_versions`
    runs unchanged, and its refit decision and fit are exactly the dbt model's.
    """

    def __init__(self, warehouse: Any, sql: str, columns: Sequence[str]) -> None:
        self._warehouse = warehouse
        self._sql = sql
        self.columns = list(columns)

    def select(self, *names: str) -> _Relation:
        listed = ", ".join(names)
        return _Relation(self._warehouse, f"select {listed} from ({self._sql}) as projected", names)

    def _frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=[c.lower() for c in self.columns])

    def to_pandas(self) -> pd.DataFrame:
        return self._frame(self._warehouse.query(self._sql))

    def to_pandas_batches(self) -> Iterator[pd.DataFrame]:
        for rows in self._warehouse.stream(self._sql, _BATCH_ROWS):
            yield self._frame(rows)


class _Session:
    def __init__(self, warehouse: Any) -> None:
        self._warehouse = warehouse

    def sql(self, query: str) -> _Relation:
        names = list(self._warehouse.columns(_raw(f"({query}) as probe")))
        return _Relation(self._warehouse, query, names)


@dataclass(frozen=True)
class _DbtContext:
    this: str
    is_incremental: bool


def _raw(sql_relation: str) -> Any:
    """A rendered relation name (or subquery) as sync's Relation, used verbatim."""
    from sync.config import Relation

    return Relation((sql_relation,))


# ----------------------------------------------------------------- model rows out

_KINDS = {"string": "string", "Int64": "integer", "datetime64[us]": "timestamp"}


def _column_kind(dtype: str) -> str:
    return _KINDS.get(dtype, "double")


def _python_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def model_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The rows of a ``models_frame`` as plain Python values in MODEL_COLUMNS order."""
    return [tuple(_python_value(row[c]) for c in MODEL_COLUMNS) for row in frame.astype(object).to_dict("records")]


def ensure_store(warehouse: Any, relation: str) -> bool:
    """Create the model history table if it is missing; True when it already existed."""
    if warehouse.exists(_raw(relation)):
        return True
    dialect = warehouse.dialect
    columns = ", ".join(f"{name} {dialect.type_for(_column_kind(dtype))}" for name, dtype in MODEL_COLUMNS.items())
    warehouse.execute(f"create table {relation} ({columns})")
    return False


def write_models(warehouse: Any, relation: str, frame: pd.DataFrame) -> None:
    from sync.warehouse import ColumnType, TableColumn

    columns = [TableColumn(name, cast(ColumnType, _column_kind(dtype))) for name, dtype in MODEL_COLUMNS.items()]
    warehouse.insert_rows(_raw(relation), columns, model_rows(frame))


# -------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class FitOutcome:
    view: str
    relation: str
    fitted: bool
    model_version: int | None
    summary: str


def fit_view_in_warehouse(warehouse: Any, target: ViewTarget, refit: bool, dry_run: bool = False) -> FitOutcome:
    """Fit (or keep) one view's model from the warehouse and append a new version there."""
    from segmentation.config import ConfigError
    from segmentation.dbt_entry import build_model_versions

    existed = warehouse.exists(_raw(target.store_relation))
    try:
        feature_columns = list(warehouse.columns(_raw(target.features_relation)))
    except Exception as exc:
        raise FitError(
            f"cannot read {target.features_relation}: {exc}; build the features first "
            f"(dbt run --select +{FEATURES_MODEL})"
        ) from exc
    features = _Relation(warehouse, f"select * from {target.features_relation}", feature_columns)
    try:
        frame = build_model_versions(
            _DbtContext(this=target.store_relation, is_incremental=existed),
            _Session(warehouse),
            features,
            target.settings,
            target.overrides,
            True if refit else target.refit,
        )
    except ConfigError as exc:
        raise FitError(str(exc)) from exc
    if len(frame) == 0:
        return FitOutcome(target.view, target.store_relation, False, None, "no new version (see the log above)")
    row = frame.iloc[0]
    names = json.loads(str(row["segment_names"]))
    summary = (
        f"version {int(row['model_version'])} ({row['fit_reason']}): {row['algorithm']}, "
        f"k={int(row['k'])}, {int(row['n_train'])} of {int(row['n_customers'])} customers "
        f"in the training sample; segments {names}"
    )
    if not dry_run:
        ensure_store(warehouse, target.store_relation)
        write_models(warehouse, target.store_relation, frame)
    return FitOutcome(target.view, target.store_relation, True, int(row["model_version"]), summary)


@click.command("fit")
@click.option(
    "--view",
    "views",
    multiple=True,
    type=click.Choice(VIEWS),
    help="View to fit (repeat for several; default: every view).",
)
@click.option("--target", "-t", default=None, help="dbt target (default: the profile's).")
@click.option("--profile", default=None, help="dbt profile (default: the project's).")
@click.option("--profiles-dir", default=None, help="Folder with profiles.yml (default: dbt's search order).")
@click.option(
    "--project-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The dbt project (this one, or one that installs it as a package).",
)
@click.option("--vars", "dbt_vars", default=None, help="dbt vars as YAML, as for dbt itself.")
@click.option("--refit", is_flag=True, help="Fit a new version even if the stored one fits.")
@click.option("--dry-run", is_flag=True, help="Fit and report, but write nothing.")
def fit_command(
    views: tuple[str, ...],
    target: str | None,
    profile: str | None,
    profiles_dir: str | None,
    project_dir: Path,
    dbt_vars: str | None,
    refit: bool,
    dry_run: bool,
) -> None:
    """Fit segment models through the dbt target and store them in its warehouse.

    Reads customer_features with the profile's credentials, fits each view on a
    bounded sample exactly like the dbt Python model would, and appends the model
    version to the view's model history table. A later `dbt build` scores every
    customer in SQL, so warehouses without dbt Python models get segments too.
    """
    project = project_dir.resolve()
    if not (project / "dbt_project.yml").is_file():
        raise FitError(f"{project} has no dbt_project.yml (use --project-dir)")
    manifest = parse_project(project, profiles_dir, profile, target, dbt_vars)
    targets = view_targets(manifest, list(views) or list(VIEWS))
    warehouse = open_target(project, profiles_dir, profile, target)
    started = dt.datetime.now()
    try:
        for item in targets:
            outcome = fit_view_in_warehouse(warehouse, item, refit, dry_run)
            verb = "would write" if dry_run and outcome.fitted else "wrote"
            where = f"; {verb} it to {outcome.relation}" if outcome.fitted else ""
            click.echo(f"{outcome.view}: {outcome.summary}{where}")
    finally:
        warehouse.close()
    seconds = (dt.datetime.now() - started).total_seconds()
    click.echo(f"done in {seconds:.1f}s; `dbt build` now scores every customer in the warehouse")


if __name__ == "__main__":  # `python -m segmentation.fit_cli` until `segments fit` is registered
    fit_command()
