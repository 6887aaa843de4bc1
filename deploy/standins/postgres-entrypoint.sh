#!/usr/bin/env bash
# Entrypoint of the LOCAL STAND-IN postgres image: the subset of the official image's
# docker-entrypoint.sh this project uses (no /docker-entrypoint-initdb.d, no trust mode).
# First start with an empty PGDATA: initdb with POSTGRES_USER (a superuser) and POSTGRES_PASSWORD,
# scram-sha-256 for TCP clients, then create POSTGRES_DB. Every start: postgres on all interfaces.
set -Eeuo pipefail

if [ "${1:-}" != postgres ]; then exec "$@"; fi
shift

: "${PGDATA:=/var/lib/postgresql/data}"

# Started as root (Compose): fix ownership of the volume, then drop to the postgres user.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'postgres stand-in: POSTGRES_PASSWORD must be set' >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" > /dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  # A socket-only server while the database is created, so nobody connects half-way.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres --quiet \
      --set=db="$db" <<< 'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
  echo "postgres stand-in: initialised $PGDATA with database $db"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
