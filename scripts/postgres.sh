#!/usr/bin/env bash
# A throw-away PostgreSQL server on 127.0.0.1 for tests and trying the project on Postgres.
#
#   scripts/postgres.sh install   install PostgreSQL from Debian's packages if missing (root)
#   scripts/postgres.sh start     install if needed, initdb (first time) and start; prints env
#   scripts/postgres.sh env       the PG* variables to reach the running server (eval-able)
#   scripts/postgres.sh status    exit 0 when the server answers
#   scripts/postgres.sh stop      stop the server (the data directory is kept)
#   scripts/postgres.sh destroy   stop and delete the data directory
#
# Settings (environment):
#   SEGMENTS_PG_DIR    data + socket + log directory (default: ${TMPDIR:-/tmp}/segments-postgres)
#   SEGMENTS_PG_PORT   TCP port (default: a free port chosen at first start, then kept)
#   SEGMENTS_PG_USER   superuser and database name (default: segments)
#
# The server listens on 127.0.0.1 only and trusts local connections (no password):
# it is for tests and demos, never for real data. PostgreSQL refuses to run as root,
# so under root the server runs as the `postgres` system user that Debian's package
# creates.
set -euo pipefail

PG_DIR="${SEGMENTS_PG_DIR:-${TMPDIR:-/tmp}/segments-postgres}"
PG_USER="${SEGMENTS_PG_USER:-segments}"
DATA="$PG_DIR/data"
LOG="$PG_DIR/server.log"
PORT_FILE="$PG_DIR/port"

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bindir() {
  # Newest PostgreSQL under /usr/lib/postgresql (Debian layout), else whatever is on PATH.
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return 0; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

install_server() {
  if pg_bindir >/dev/null; then return 0; fi
  if [[ "$(id -u)" != 0 ]]; then
    die "PostgreSQL is not installed and installing it needs root: sudo apt-get install postgresql"
  fi
  echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # Debian's package starts a cluster of its own on port 5432; this script does not use it.
  pg_bindir >/dev/null || die "apt-get installed postgresql but no initdb was found"
}

# Run a server binary as the right user: ourselves, or `postgres` when we are root.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user (apt-get install postgresql creates it)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

port() {
  if [[ -n "${SEGMENTS_PG_PORT:-}" ]]; then echo "$SEGMENTS_PG_PORT"; return; fi
  if [[ -f "$PORT_FILE" ]]; then cat "$PORT_FILE"; return; fi
  free_port
}

print_env() {
  [[ -f "$PORT_FILE" ]] || die "no server in $PG_DIR (run: scripts/postgres.sh start)"
  echo "export PGHOST=127.0.0.1"
  echo "export PGPORT=$(cat "$PORT_FILE")"
  echo "export PGUSER=$PG_USER"
  echo "export PGDATABASE=$PG_USER"
  echo "export PGPASSWORD="
}

is_running() {
  local bin
  bin="$(pg_bindir)" || return 1
  [[ -f "$PORT_FILE" ]] || return 1
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PORT_FILE")" >/dev/null 2>&1
}

start_server() {
  install_server
  local bin p
  bin="$(pg_bindir)"
  if is_running; then print_env; return 0; fi
  mkdir -p "$PG_DIR"
  chmod 755 "$PG_DIR"
  [[ "$(id -u)" == 0 ]] && chown postgres "$PG_DIR"
  p="$(port)"
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$DATA" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $p -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { tail -n 30 "$LOG" >&2 || true; die "the server did not start (log: $LOG)"; }
  echo "$p" >"$PORT_FILE"
  # The database named after the user, for clients that default to it.
  if ! "$bin/psql" -h 127.0.0.1 -p "$p" -U "$PG_USER" -d postgres -tAc \
      "select 1 from pg_database where datname = '$PG_USER'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$p" -U "$PG_USER" "$PG_USER"
  fi
  print_env
}

stop_server() {
  local bin
  bin="$(pg_bindir)" || return 0
  if [[ -f "$DATA/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
  fi
}

case "${1:-}" in
  install) install_server ;;
  start) start_server ;;
  env) print_env ;;
  status) is_running ;;
  stop) stop_server ;;
  destroy) stop_server; rm -rf "$PG_DIR" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
