#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is up and has a 'test'
# database. With OWL_TEST_POSTGRES_URL set, that server is used as it is.
# Without PostgreSQL the tests that need it skip locally and fail under CI=true.
set -euo pipefail

if [ -n "${OWL_TEST_POSTGRES_URL:-}" ]; then
  exit 0
fi
host=127.0.0.1 port=5432

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL client tools not found: install postgresql (apt-get install postgresql) or set OWL_TEST_POSTGRES_URL; PostgreSQL tests will skip (and fail under CI=true)." >&2
  exit 0
fi

if ! pg_isready -q -h "$host" -p "$port"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "ensure-postgres: starting PostgreSQL $version (cluster main)" >&2
    if [ "$(id -u)" -eq 0 ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    else
      sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start || true
    fi
    for _ in $(seq 1 30); do
      pg_isready -q -h "$host" -p "$port" && break
      sleep 0.5
    done
  fi
fi

if ! pg_isready -q -h "$host" -p "$port"; then
  echo "ensure-postgres: no PostgreSQL answers on $host:$port: start it, or set OWL_TEST_POSTGRES_URL; PostgreSQL tests will skip (and fail under CI=true)." >&2
  exit 0
fi

if ! psql -h "$host" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  echo "ensure-postgres: creating database 'test'" >&2
  createdb -h "$host" -p "$port" -U postgres test
fi
