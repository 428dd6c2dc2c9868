#!/usr/bin/env bash
# Makes sure the services the tests use are there: redis-server (the hub runs its own) and PostgreSQL on
# 127.0.0.1:5432 with the role and database test/support/postgres.ts connects to. Starts, never stops.
set -euo pipefail
pg_port=5432
as_root=(); [[ $(id -u) -ne 0 ]] && as_root=(sudo)
as_postgres=(runuser -u postgres --); [[ $(id -u) -ne 0 ]] && as_postgres=(sudo -u postgres)

need_root() {
  if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    echo "handover: $1 needs root or sudo" >&2
    exit 1
  fi
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# With HANDOVER_TEST_DATABASE_URL the tests use that database, so the local PostgreSQL is left alone.
if [[ -z ${HANDOVER_TEST_DATABASE_URL:-} ]]; then
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
fi
if ((${#missing[@]} > 0)); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "handover: the tests need ${missing[*]} (macOS: brew install redis postgresql@15)" >&2
    exit 1
  fi
  need_root "installing ${missing[*]}"
  echo "handover: installing ${missing[*]} from Debian's packages" >&2
  "${as_root[@]}" apt-get update -qq
  # Through env, because sudo drops DEBIAN_FRONTEND from the environment it was given.
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ -n ${HANDOVER_TEST_DATABASE_URL:-} ]] && exit 0

if ! pg_isready -q -h 127.0.0.1 -p "$pg_port"; then
  version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)
  need_root "starting PostgreSQL $version"
  status=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }')
  if [[ -z $status ]]; then
    echo "handover: creating PostgreSQL cluster $version/main" >&2
    "${as_root[@]}" pg_createcluster --port "$pg_port" "$version" main >/dev/null
  fi
  if [[ $status != online ]]; then
    echo "handover: starting PostgreSQL cluster $version/main" >&2
    # Without systemd (containers, CI) pg_ctlcluster would hand the start to systemctl and fail.
    "${as_root[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  if ! pg_isready -q -h 127.0.0.1 -p "$pg_port" -t 10; then
    echo "handover: PostgreSQL does not answer on 127.0.0.1:$pg_port (see pg_lsclusters)" >&2
    exit 1
  fi
fi

# Over the local socket as the postgres superuser (peer authentication); the tests log in with a password.
"${as_postgres[@]}" psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$pg_port" -d postgres <<'SQL'
SELECT 'CREATE ROLE handover LOGIN CREATEDB PASSWORD ''handover'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'handover') \gexec
SELECT 'CREATE DATABASE handover_test OWNER handover'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'handover_test') \gexec
SQL
