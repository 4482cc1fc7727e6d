"""Small Spark jobs the portability tests run in their own process (one JVM at a time).

python -m tests.portability.spark_tasks --home DIR export --out OUT schema.table ...
python -m tests.portability.spark_tasks --home DIR append-models --table T --rows FILE.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from segmentation.model_store import MODEL_COLUMNS


def main(argv: Sequence[str] | None = None) -> None:
    from segmentation.fit_cli import SparkSessionWarehouse, _column_kind, _raw
    from sync.warehouse import TableColumn
    from tests.portability.engines import spark_conf

    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write tables as Parquet folders under --out")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("tables", nargs="+")
    append = sub.add_parser("append-models", help="insert model rows (JSON lists in MODEL_COLUMNS order)")
    append.add_argument("--table", required=True)
    append.add_argument("--rows", type=Path, required=True)
    args = parser.parse_args(argv)

    warehouse = SparkSessionWarehouse({"server_side_parameters": spark_conf(args.home)})
    spark = warehouse._spark
    if args.command == "export":
        for table in args.tables:
            spark.table(table).coalesce(1).write.mode("overwrite").parquet(str(args.out / table))
            print(f"exported {table}")
    else:
        columns = [TableColumn(name, _column_kind(dtype)) for name, dtype in MODEL_COLUMNS.items()]  # type: ignore[arg-type]
        rows = [
            tuple(
                datetime.fromisoformat(v) if c.kind == "timestamp" and isinstance(v, str) else v
                for c, v in zip(columns, row, strict=True)
            )
            for row in json.loads(args.rows.read_text())
        ]
        if rows:
            warehouse.insert_rows(_raw(args.table), columns, rows)
        print(f"appended {len(rows)} model row(s) to {args.table}")


if __name__ == "__main__":
    main()
