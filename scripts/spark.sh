#!/usr/bin/env bash
# Apache Spark for the portability tests: PySpark and dbt-spark in session mode.
#
#   scripts/spark.sh install   install the pinned PySpark + dbt-spark[session] into .venv
#   scripts/spark.sh check     Java 17+ and the packages are there (exit 1 with a reason if not)
#   scripts/spark.sh profile DIR
#                              print a dbt output (target `spark`) whose catalog (Derby
#                              metastore) and warehouse live in DIR, so every process
#                              (loading, dbt, segments fit) sees the same tables
#
# Spark runs inside the Python process (dbt-spark `method: session`): no cluster and no
# Thrift server. Java comes from the machine (Debian: apt-get install openjdk-17-jre-headless).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# Pinned together: dbt-spark 1.11 accepts pyspark < 5; PySpark 4 needs Java 17 or newer.
PINS=(
  "dbt-spark[session]==1.11.0"
  "pyspark==4.3.0"
  "py4j==0.10.9.9"
  "sqlparams==6.2.0"
)

die() { echo "spark.sh: $*" >&2; exit 1; }

java_major() {
  command -v java >/dev/null 2>&1 || return 1
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

check() {
  local major
  major="$(java_major)" || die "no java on PATH (Debian: apt-get install openjdk-17-jre-headless)"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Java $major found; PySpark 4 needs Java 17 or newer"
  "$VENV/bin/python" -c "import pyspark, dbt.adapters.spark" 2>/dev/null \
    || die "PySpark / dbt-spark missing in $VENV (run: scripts/spark.sh install)"
}

install() {
  [[ -x "$VENV/bin/pip" ]] || die "no virtualenv at $VENV (run make first)"
  # requirements.lock constrains the shared dependencies (dbt-core, pandas, ...).
  "$VENV/bin/pip" install --quiet -c "$ROOT/requirements.lock" "${PINS[@]}"
  check
  echo "spark.sh: PySpark $("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)') and dbt-spark installed"
}

profile() {
  local dir="${1:?usage: spark.sh profile DIR}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  cat <<YAML
spark:
  type: spark
  method: session
  host: localhost          # required by dbt-spark, unused in session mode
  schema: segments
  threads: 1
  server_side_parameters:
    spark.master: "local[2]"
    spark.driver.memory: 4g
    spark.sql.warehouse.dir: "$dir/warehouse"
    spark.hadoop.javax.jdo.option.ConnectionURL: "jdbc:derby:;databaseName=$dir/metastore_db;create=true"
    spark.driver.extraJavaOptions: "-Dderby.system.home=$dir"
    spark.sql.session.timeZone: UTC
    spark.sql.shuffle.partitions: "2"
    spark.ui.enabled: "false"
YAML
}

case "${1:-}" in
  install) install ;;
  check) check ;;
  profile) shift; profile "$@" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
