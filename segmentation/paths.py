"""Where the project's DuckDB warehouse file is when no path is given.

Only the standard library is imported here, so command-line entry points (demo data,
report, backfill) can use it without loading pandas, DuckDB or scikit-learn.
"""

from __future__ import annotations

import os
from pathlib import Path

DUCKDB_PATH_ENV = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DUCKDB_PATH = Path(".data") / "segments.duckdb"


def default_duckdb_path() -> Path:
    """``$SEGMENTS_DUCKDB_PATH`` if set, else ``.data/segments.duckdb`` (relative to the cwd).

    Surrounding whitespace is stripped; a value of only spaces is not a path and counts
    as unset.
    """
    configured = os.environ.get(DUCKDB_PATH_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_DUCKDB_PATH
